using Microsoft.Extensions.Logging;

namespace TeamComms.Server.Cluster;

/// <summary>
/// The node's alarm: raised when it must not go on (JetStream lost entries it applied, the stream was recreated, an
/// entry of an unknown format). Once raised the node stops applying, refuses sends, reports not-ready on /healthz with
/// the reason, exports <c>teamcomms_cluster_alarm 1</c> on /metrics and logs it as critical. Only an operator clears
/// it, by rebuilding or upgrading the node (docs/operations.md).
/// </summary>
internal sealed partial class ClusterAlarm(ILogger<ClusterAlarm> logger)
{
    private volatile string? _reason;

    public bool Raised => _reason is not null;

    public string? Reason => _reason;

    public void Raise(string reason)
    {
        if (Interlocked.CompareExchange(ref _reason, reason, null) is null)
        {
            LogAlarm(logger, reason);
        }
    }

    [LoggerMessage(EventId = 9000, Level = LogLevel.Critical, Message = "CLUSTER ALARM: {Reason}")]
    private static partial void LogAlarm(ILogger logger, string reason);
}
