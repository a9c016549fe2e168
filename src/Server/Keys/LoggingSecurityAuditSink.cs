using Microsoft.Extensions.Logging;

namespace TeamComms.Server.Keys;

/// <summary>The default <see cref="ISecurityAuditSink"/>: one structured warning-level log line per action.</summary>
internal sealed partial class LoggingSecurityAuditSink(ILogger<LoggingSecurityAuditSink> logger) : ISecurityAuditSink
{
    public void Record(string action, string actor, IReadOnlyDictionary<string, string> details) =>
        LogAudit(logger, action, actor, string.Join(' ', details.Select(kv => $"{kv.Key}={kv.Value}")));

    [LoggerMessage(EventId = 1200, Level = LogLevel.Warning, Message = "AUDIT {Action} by {Actor}: {Details}")]
    private static partial void LogAudit(ILogger logger, string action, string actor, string details);
}
