using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace TeamComms.Server.Cluster;

/// <summary>
/// Cluster instruments on the <c>TeamComms.Server</c> meter, exported at /metrics (docs/operations.md, "What to watch
/// in a cluster"): entries and proposals published, publish latency (a quorum fsync), failed publishes, proposals
/// applied, the apply lag in entries, whether the node is caught up, holds its lease, and the alarm.
/// </summary>
internal sealed class ClusterMetrics
{
    private readonly Histogram<double> _publishLatency;
    private long _entries;
    private long _proposals;
    private long _bytes;
    private long _failed;
    private long _applied;
    private long _applyFailures;

    public ClusterMetrics(IMeterFactory meters, Func<JetStreamRoomLog> log, ClusterAlarm alarm, Func<ClusterNode> node,
        Func<JetStreamSingletonLeases>? leases = null)
    {
        var meter = meters.Create("TeamComms.Server");
        meter.CreateObservableCounter("teamcomms_cluster_entries_published", () => Volatile.Read(ref _entries), description: "Log entries this node published");
        meter.CreateObservableCounter("teamcomms_cluster_proposals_published", () => Volatile.Read(ref _proposals), description: "Proposals this node published");
        meter.CreateObservableCounter("teamcomms_cluster_published_bytes", () => Volatile.Read(ref _bytes), unit: "By", description: "Sealed bytes this node published");
        meter.CreateObservableCounter("teamcomms_cluster_publish_failures", () => Volatile.Read(ref _failed), description: "Proposals whose publish failed (NATS unreachable or no quorum in time)");
        meter.CreateObservableCounter("teamcomms_cluster_proposals_applied", () => Volatile.Read(ref _applied), description: "Proposals this node applied from the log");
        meter.CreateObservableCounter("teamcomms_cluster_apply_failures", () => Volatile.Read(ref _applyFailures), description: "Storage failures while applying (the node re-applies from its last durable entry)");
        meter.CreateObservableGauge("teamcomms_cluster_apply_lag", () => Math.Max(0, log().StreamLast - log().AppliedEntry), description: "Log entries not yet applied here");
        meter.CreateObservableGauge("teamcomms_cluster_applied_entry", () => log().AppliedEntry, description: "Last log entry applied here");
        meter.CreateObservableGauge("teamcomms_cluster_caught_up", () => log().CaughtUp ? 1 : 0, description: "1 when this node applied the whole log");
        meter.CreateObservableGauge("teamcomms_cluster_lease_held", () => node().LeaseHeld ? 1 : 0, description: "1 while this node renews its lease");
        meter.CreateObservableGauge("teamcomms_cluster_alarm", () => alarm.Raised ? 1 : 0, description: "1 when the node stopped: JetStream lost data, or an unknown entry format");
        if (leases is not null)
        {
            meter.CreateObservableGauge("teamcomms_cluster_singleton_held",
                () => leases().Names.Select(n => new Measurement<int>(leases().IsHeld(n) ? 1 : 0, new KeyValuePair<string, object?>("lease", n))),
                description: "1 while this node holds the singleton lease (retention, poll-closer, alert-timers, federation-outbox) and runs its job");
        }
        _publishLatency = meter.CreateHistogram<double>("teamcomms_cluster_publish_seconds", unit: "s", description: "Publish to acknowledgement (quorum fsync) per log entry");
    }

    public void Published(int proposals, int bytes, TimeSpan latency)
    {
        Interlocked.Increment(ref _entries);
        Interlocked.Add(ref _proposals, proposals);
        Interlocked.Add(ref _bytes, bytes);
        _publishLatency.Record(latency.TotalSeconds);
    }

    public void PublishFailed(int proposals) => Interlocked.Add(ref _failed, proposals);

    public void Applied(int proposals) => Interlocked.Add(ref _applied, proposals);

    public void ApplyFailed() => Interlocked.Increment(ref _applyFailures);

    internal static double Seconds(long startTimestamp) => Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds;
}
