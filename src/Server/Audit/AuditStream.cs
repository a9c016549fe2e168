using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Audit;

/// <summary>
/// Streams the audit log to the company's log collector as JSON lines: to a file (appended; safe with logrotate's
/// move-and-create, since the file is reopened for each write) and/or to syslog (RFC 5424 over UDP or a Unix
/// datagram socket, the JSON line as the message). Each sink keeps a cursor in the data directory, so after a restart
/// or a collector outage it resumes where it stopped: delivery is at least once, in seq order. Signed heads are
/// streamed too, so the collector holds an independent copy that detects a cut-off tail.
/// </summary>
internal sealed partial class AuditStream : IDisposable
{
    private readonly Channel<TaskCompletionSource?> _signals = Channel.CreateUnbounded<TaskCompletionSource?>(new UnboundedChannelOptions { SingleReader = true });
    private readonly AuditStore _store;
    private readonly AuditLog _log;
    private readonly ILogger _logger;
    private readonly List<Sink> _sinks = [];
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private int _disposed;

    public AuditStream(AuditStore store, AuditLog log, IOptions<AuditOptions> options, ILogger<AuditStream> logger)
    {
        _store = store;
        _log = log;
        _logger = logger;
        var o = options.Value;
        if (!string.IsNullOrEmpty(o.StreamFile))
        {
            var path = Path.GetFullPath(o.StreamFile);
            _sinks.Add(new Sink("file", lines => AppendFileAsync(path, lines)));
        }
        if (!string.IsNullOrEmpty(o.StreamSyslog) && SyslogTarget.Parse(o.StreamSyslog) is { } target)
        {
            var syslog = new SyslogSender(target, o.SyslogFacility);
            _sinks.Add(new Sink("syslog", syslog.SendAsync));
        }
    }

    public bool Enabled => _sinks.Count > 0;

    public void Start()
    {
        if (!Enabled || _loop is not null)
        {
            return;
        }
        _log.Appended += Signal;
        _loop = Task.Run(LoopAsync);
        Signal(); // catch up on anything written while the server was down
    }

    /// <summary>Completes once everything recorded before the call was handed to every sink (tests, shutdown).</summary>
    public async Task FlushAsync()
    {
        if (_loop is null)
        {
            return;
        }
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _signals.Writer.TryWrite(done);
        await done.Task.ConfigureAwait(false);
    }

    private void Signal() => _signals.Writer.TryWrite(null);

    private async Task LoopAsync()
    {
        try
        {
            await foreach (var signal in _signals.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                foreach (var sink in _sinks)
                {
                    await PumpAsync(sink).ConfigureAwait(false);
                }
                signal?.TrySetResult();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task PumpAsync(Sink sink)
    {
        try
        {
            var streamed = _store.StreamedSeq(sink.Name);
            while (true)
            {
                var batch = _store.Scan(streamed + 1, forward: true).Take(500).ToList();
                if (batch.Count == 0)
                {
                    break;
                }
                await sink.Write(batch.Select(EntryLine).ToList()).ConfigureAwait(false);
                streamed = batch[^1].Seq;
                _store.SetStreamedSeq(sink.Name, streamed);
            }
            var headCursor = _store.StreamedSeq(sink.Name + ".heads");
            var heads = _store.Heads().Where(h => h.Seq > headCursor).ToList();
            if (heads.Count > 0)
            {
                await sink.Write(heads.Select(HeadLine).ToList()).ConfigureAwait(false);
                _store.SetStreamedSeq(sink.Name + ".heads", heads[^1].Seq);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or UnauthorizedAccessException)
        {
            // The collector is unreachable: keep the cursor and try again with the next entry.
            LogSinkFailed(_logger, ex, sink.Name);
        }
    }

    /// <summary>One entry as a JSON line: the fields the hash covers, plus an ISO time for humans.</summary>
    public static string EntryLine(AuditRecord r)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("type", "audit");
            w.WriteNumber("seq", r.Seq);
            w.WriteString("time", DateTimeOffset.FromUnixTimeMilliseconds(r.Ts).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteNumber("ts", r.Ts);
            w.WriteString("actor", r.Actor);
            w.WriteString("action", r.Action);
            w.WriteString("target", r.Target);
            w.WriteString("address", r.Address);
            w.WriteStartObject("details");
            foreach (var (k, v) in r.Details.OrderBy(d => d.Key, StringComparer.Ordinal))
            {
                w.WriteString(k, v);
            }
            w.WriteEndObject();
            if (r.Prev is null)
            {
                w.WriteNull("prev");
            }
            else
            {
                w.WriteString("prev", r.Prev);
            }
            w.WriteString("hash", r.Hash);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static string HeadLine(AuditHeadRecord h)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("type", "audit.head");
            w.WriteNumber("seq", h.Seq);
            w.WriteString("hash", h.Hash);
            w.WriteNumber("ts", h.Ts);
            w.WriteString("server", h.Server);
            w.WriteString("key_id", h.KeyId);
            w.WriteString("signature", h.Signature);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static async Task AppendFileAsync(string path, IReadOnlyList<string> lines)
    {
        var text = new StringBuilder();
        foreach (var line in lines)
        {
            text.Append(line).Append('\n');
        }
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        await using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        await file.WriteAsync(bytes).ConfigureAwait(false);
        await file.FlushAsync().ConfigureAwait(false);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _log.Appended -= Signal;
        _signals.Writer.TryComplete();
        try
        {
            _loop?.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        _stop.Cancel();
        _stop.Dispose();
    }

    private sealed record Sink(string Name, Func<IReadOnlyList<string>, Task> Write);

    /// <summary>RFC 5424 messages, one datagram per line.</summary>
    private sealed class SyslogSender(SyslogTarget target, int facility)
    {
        private readonly string _host = Environment.MachineName.Length > 0 ? Environment.MachineName.Replace(' ', '-') : "-";

        public async Task SendAsync(IReadOnlyList<string> lines)
        {
            using var socket = target.Kind == "unix"
                ? new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified)
                : new Socket(SocketType.Dgram, ProtocolType.Udp);
            System.Net.EndPoint endpoint = target.Kind == "unix"
                ? new UnixDomainSocketEndPoint(target.HostOrPath)
                : new System.Net.DnsEndPoint(target.HostOrPath, target.Port);
            if (endpoint is System.Net.DnsEndPoint dns)
            {
                var addresses = await System.Net.Dns.GetHostAddressesAsync(dns.Host).ConfigureAwait(false);
                endpoint = new System.Net.IPEndPoint(addresses[0], dns.Port);
            }
            foreach (var line in lines)
            {
                // Severity 5 (notice) for entries, 6 (informational) for signed heads.
                var severity = line.Contains("\"type\":\"audit.head\"", StringComparison.Ordinal) ? 6 : 5;
                var message = $"<{(facility * 8) + severity}>1 {DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {_host} teamcomms - audit - {line}";
                await socket.SendToAsync(Encoding.UTF8.GetBytes(message), endpoint).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(EventId = 7101, Level = LogLevel.Warning, Message = "Audit stream to {Sink} failed; it resumes with the next entry")]
    private static partial void LogSinkFailed(ILogger logger, Exception ex, string sink);
}
