using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;
using MessagePack;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;

namespace TeamComms.FederationBench;

/// <summary>
/// A lean room member: one WebSocket, counts Event frames of the benchmark room by walking frame headers only. A probe
/// receiver also decodes each message to record its latency and check exactly-once delivery.
/// </summary>
internal sealed class Receiver(string server, string token, Uri url, bool probe)
{
    private readonly ClientWebSocket _socket = new();
    private long _events;

    public string Server { get; } = server;
    public bool Probe { get; } = probe;
    public long Events => Interlocked.Read(ref _events);
    public long Duplicates { get; private set; }

    /// <summary>Probe only: per (sender server, latency in µs).</summary>
    public List<(string From, double Micros, long Sent)> Latencies { get; } = [];
    public HashSet<string> Seen { get; } = [];

    public async Task ConnectAsync()
    {
        await _socket.ConnectAsync(url, CancellationToken.None);
        var hello = new ArrayBufferWriter<byte>();
        ClientFrameWriter.WriteHello(hello, [1], token, default, null, "fedbench");
        await _socket.SendAsync(hello.WrittenMemory, WebSocketMessageType.Binary, true, CancellationToken.None);
    }

    public async Task RunAsync(CancellationToken ct)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var count = 0;
                while (true)
                {
                    if (count == buffer.Length)
                    {
                        Array.Resize(ref buffer, buffer.Length * 2);
                    }
                    var r = await _socket.ReceiveAsync(buffer.AsMemory(count), ct);
                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }
                    count += r.Count;
                    if (r.EndOfMessage)
                    {
                        break;
                    }
                }
                var now = Stopwatch.GetTimestamp();
                Handle(buffer.AsMemory(0, count), now);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
        }
    }

    private void Handle(ReadOnlyMemory<byte> message, long now)
    {
        var r = new MessagePackReader(message);
        while (!r.End)
        {
            var frameStart = r;
            var n = r.ReadArrayHeader();
            var type = r.ReadInt32();
            if (type == FrameType.Event)
            {
                if (Probe)
                {
                    var frame = (EventFrame)ServerFrameReader.Read(ref frameStart);
                    r = frameStart;
                    Record(frame.Event, now);
                    continue;
                }
                // [68, pos, event]: the event's type is its 7th element.
                r.Skip(); // pos
                var en = r.ReadArrayHeader();
                for (var i = 0; i < 6; i++)
                {
                    r.Skip();
                }
                var eventType = r.ReadString();
                for (var i = 7; i < en; i++)
                {
                    r.Skip();
                }
                if (eventType == EventTypes.Message)
                {
                    Interlocked.Increment(ref _events);
                }
                for (var i = 3; i < n; i++)
                {
                    r.Skip();
                }
                continue;
            }
            for (var i = 1; i < n; i++)
            {
                r.Skip();
            }
        }
    }

    private void Record(RoomEvent e, long now)
    {
        if (e.Type != EventTypes.Message || e.Content is null)
        {
            return;
        }
        Interlocked.Increment(ref _events);
        var body = (string)e.ContentMap["body"]!; // "<server>|<sender>|<n>|<timestamp>"
        var parts = body.Split('|');
        if (!Seen.Add(parts[1] + "|" + parts[2]))
        {
            Duplicates++;
        }
        var sent = long.Parse(parts[3], System.Globalization.CultureInfo.InvariantCulture);
        lock (Latencies)
        {
            Latencies.Add((parts[0], Stopwatch.GetElapsedTime(sent, now).TotalMicroseconds, sent));
        }
    }

    public void Abort() => _socket.Abort();
}
