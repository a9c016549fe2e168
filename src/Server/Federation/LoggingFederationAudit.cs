using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using TeamComms.Server.Audit;

namespace TeamComms.Server.Federation;

/// <summary>
/// The federation audit sink: every entry is a warning in the server log, is kept in a bounded in-memory list for
/// <c>GET /v1/admin/federation/audit</c>, and is appended to the company audit log (<see cref="AuditLog"/>) as
/// <c>federation.&lt;kind&gt;</c> by actor <c>federation:&lt;server&gt;</c>. Refusals happen on request threads, sender
/// loops and the room log's thread, so the audit-log append runs on a background writer and never blocks them; admin
/// actions (partners, keys) are recorded durably by their endpoints before they answer.
/// </summary>
internal sealed partial class LoggingFederationAudit : IFederationAudit, IAsyncDisposable
{
    private const int Capacity = 1000;
    private readonly Queue<FederationAuditEntry> _recent = new();
    private readonly Lock _lock = new();
    private readonly ILogger _logger;
    private readonly AuditLog? _auditLog;
    private readonly Channel<FederationAuditEntry> _pending = Channel.CreateBounded<FederationAuditEntry>(
        new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly Task _writer;

    public LoggingFederationAudit(ILogger<LoggingFederationAudit> logger, IServiceProvider services)
    {
        _logger = logger;
        _auditLog = services.GetService(typeof(AuditLog)) as AuditLog;
        _writer = _auditLog is null ? Task.CompletedTask : Task.Run(WriteAsync);
    }

    /// <summary>Admin actions are recorded by their endpoints, in the request; refusals here.</summary>
    private static bool IsAdminAction(string kind) =>
        kind is FederationAuditKinds.PartnerAdded or FederationAuditKinds.PartnerRemoved or FederationAuditKinds.KeyRotated;

    public void Record(FederationAuditEntry entry)
    {
        LogEntry(_logger, entry.Kind, entry.Server, entry.RoomId ?? "-", entry.Detail);
        lock (_lock)
        {
            _recent.Enqueue(entry);
            while (_recent.Count > Capacity)
            {
                _recent.Dequeue();
            }
        }
        if (_auditLog is not null && !IsAdminAction(entry.Kind))
        {
            _pending.Writer.TryWrite(entry);
        }
    }

    public IReadOnlyList<FederationAuditEntry> Recent(int limit)
    {
        lock (_lock)
        {
            return _recent.Skip(Math.Max(0, _recent.Count - limit)).ToList();
        }
    }

    /// <summary>The audit-log event of a refusal.</summary>
    public static AuditEvent ToAuditEvent(FederationAuditEntry entry)
    {
        var details = new Dictionary<string, string> { ["detail"] = entry.Detail, ["server"] = entry.Server };
        if (entry.RoomId is not null)
        {
            details["room"] = entry.RoomId;
        }
        return new AuditEvent("federation:" + entry.Server, "federation." + entry.Kind, entry.RoomId ?? entry.Server, "", details);
    }

    private async Task WriteAsync()
    {
        await foreach (var entry in _pending.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                await _auditLog!.RecordAsync(ToAuditEvent(entry)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException or RocksDbSharp.RocksDbException)
            {
                LogAuditFailed(_logger, ex, entry.Kind); // shutting down, or storage failed: the log line above remains
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Warning, Message = "Federation audit: {Kind} server={Server} room={Room}: {Detail}")]
    private static partial void LogEntry(ILogger logger, string kind, string server, string room, string detail);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Error, Message = "Could not append the federation audit entry {Kind} to the audit log")]
    private static partial void LogAuditFailed(ILogger logger, Exception ex, string kind);
}
