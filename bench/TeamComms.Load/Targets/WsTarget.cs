using System.Diagnostics;
using System.Net.WebSockets;
using System.Text.RegularExpressions;

namespace TeamComms.Load.Targets;

/// <summary>
/// A plain Node.js broadcaster on npm <c>ws</c> (bench/peers/ws/server.js), the hand-rolled baseline: a client joins
/// a room with <c>?room=N</c>, and every message it sends goes to every client of that room, one WebSocket message
/// per payload. Nothing is stored. A client whose send buffer passes 4 MiB is closed with 4003 (the same bound as
/// TeamComms' default queue limit); there is no resume, so what it missed is lost.
/// </summary>
internal sealed partial class WsTarget(LoadOptions options) : ILoadTarget
{
    private readonly HttpMessageInvoker _invoker = new(new SocketsHttpHandler());
    private string _url = "ws://127.0.0.1:8081";

    public string Name => "ws";
    public ServerProcess? Server { get; private set; }
    public IReadOnlyDictionary<string, int> Errors => new Dictionary<string, int>();

    public void Attach(Run run)
    {
    }

    public static string ServerScript => Path.Combine(FindBench(), "peers", "ws", "server.js");

    public async Task StartAsync(CancellationToken ct)
    {
        if (options.Url is { } url)
        {
            _url = url.TrimEnd('/');
            return;
        }
        var script = ServerScript;
        if (!Directory.Exists(Path.Combine(Path.GetDirectoryName(script)!, "node_modules", "ws")))
        {
            throw new InvalidOperationException($"npm ws is not installed next to {script}; run bench/peers.sh install");
        }
        var (process, port) = await ServerProcess.StartAsync("node", [script, "0"], new Dictionary<string, string>(),
            ListeningRegex(), options.ServerCpus, null, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        Server = process;
        _url = "ws://127.0.0.1:" + port;
    }

    public Task ProvisionAsync(int rooms, int roomSize, CancellationToken ct) => Task.CompletedTask;

    public Task ProvisionIdleAsync(int count, CancellationToken ct) => Task.CompletedTask;

    private async Task<ClientWebSocket> OpenAsync(string room, CancellationToken ct)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        await socket.ConnectAsync(new Uri($"{_url}/?room={room}"), _invoker, ct).ConfigureAwait(false);
        return socket;
    }

    public async Task<IMemberConnection> ConnectAsync(Member member, CancellationToken ct)
    {
        var connection = new Connection(member, options.Payload, await OpenAsync(member.Room.ToString(System.Globalization.CultureInfo.InvariantCulture), ct).ConfigureAwait(false));
        connection.Start();
        return connection;
    }

    public async Task<IAsyncDisposable> ConnectIdleAsync(int n, CancellationToken ct)
    {
        var connection = new Connection(null, 0, await OpenAsync("idle" + n, ct).ConfigureAwait(false));
        connection.Start();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        _invoker.Dispose();
        if (Server is not null)
        {
            await Server.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string FindBench()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "TeamComms.sln")))
        {
            dir = dir.Parent;
        }
        return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("TeamComms.sln not found above " + AppContext.BaseDirectory), "bench");
    }

    private sealed class Connection(Member? member, int payload, ClientWebSocket socket) : IMemberConnection
    {
        private readonly WebSocketPump _pump = new(coalesce: false) { Socket = socket };
        private readonly CancellationTokenSource _stop = new();
        private Task _receive = Task.CompletedTask;

        public void Start() => _receive = ReceiveLoopAsync();

        public void Send(int index, long intendedTicks) =>
            _pump.Append((member!.Room, index, intendedTicks, payload), static (output, s) =>
            {
                Payload.Write(output.GetSpan(s.payload)[..s.payload], s.Room, s.index, s.intendedTicks);
                output.Advance(s.payload);
            });

        private async Task ReceiveLoopAsync()
        {
            var buffer = new byte[16 * 1024];
            var filled = 0;
            try
            {
                while (true)
                {
                    if (filled == buffer.Length)
                    {
                        Array.Resize(ref buffer, buffer.Length * 2);
                    }
                    var result = await socket.ReceiveAsync(buffer.AsMemory(filled), _stop.Token).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        OnClosed((int?)socket.CloseStatus);
                        return;
                    }
                    filled += result.Count;
                    if (!result.EndOfMessage)
                    {
                        continue;
                    }
                    if (member is not null)
                    {
                        member.OnPayload(buffer.AsSpan(0, filled), Stopwatch.GetTimestamp());
                        filled = 0;
                        await member.PaceAsync(1).ConfigureAwait(false);
                    }
                    filled = 0;
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                if (!_stop.IsCancellationRequested)
                {
                    OnClosed((int?)socket.CloseStatus);
                }
            }
        }

        private void OnClosed(int? status)
        {
            if (member is not null && !_stop.IsCancellationRequested)
            {
                Interlocked.Increment(ref member.Evictions);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            socket.Abort();
            socket.Dispose();
            await Task.CompletedTask.ConfigureAwait(false);
        }
    }

    [GeneratedRegex(@"listening on (\d+)")]
    private static partial Regex ListeningRegex();
}
