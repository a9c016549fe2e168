using Microsoft.Extensions.Logging;

namespace TeamComms.Server.Federation;

/// <summary>The default audit sink: a warning per refusal in the server log, and a bounded in-memory list.</summary>
internal sealed partial class LoggingFederationAudit(ILogger<LoggingFederationAudit> logger) : IFederationAudit
{
    private const int Capacity = 1000;
    private readonly Queue<FederationAuditEntry> _recent = new();
    private readonly Lock _lock = new();

    public void Record(FederationAuditEntry entry)
    {
        LogEntry(logger, entry.Kind, entry.Server, entry.RoomId ?? "-", entry.Detail);
        lock (_lock)
        {
            _recent.Enqueue(entry);
            while (_recent.Count > Capacity)
            {
                _recent.Dequeue();
            }
        }
    }

    public IReadOnlyList<FederationAuditEntry> Recent(int limit)
    {
        lock (_lock)
        {
            return _recent.Skip(Math.Max(0, _recent.Count - limit)).ToList();
        }
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Warning, Message = "Federation audit: {Kind} server={Server} room={Room}: {Detail}")]
    private static partial void LogEntry(ILogger logger, string kind, string server, string room, string detail);
}
