using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TeamComms.Server.Accounts;
using TeamComms.Server.Hosting;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Cluster;

/// <summary>
/// Starts cluster mode before the rest of the server: opens the log (checking its identity and that JetStream kept
/// everything this node applied), starts applying, takes the lease, makes /healthz and the WebSocket endpoint follow
/// the node's state, and settles which node creates the first admin. Stops in the reverse order.
/// </summary>
internal sealed partial class ClusterLifecycle(
    JetStreamRoomLog log,
    ClusterNode node,
    ClusterEngine engine,
    ClusterKeys keys,
    ClusterAlarm alarm,
    ClusterMetrics metrics,
    ClusterOptions options,
    AccountStore accountStore,
    AttentionStore attentionStore,
    AccountService accounts,
    Readiness readiness,
    ClusterFederation federation,
    ILogger<ClusterLifecycle> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        accountStore.PartitionKeys(options.NodeIndex);
        attentionStore.PartitionKeys(options.NodeIndex);
        await log.OpenAsync(metrics, cancellationToken).ConfigureAwait(false);
        accountStore.Replicator = log;
        attentionStore.Replicator = log;
        accounts.ClusterConfirm = () => node.ConfirmEverywhereAsync();
        await node.StartAsync(cancellationToken).ConfigureAwait(false);
        readiness.Gate = () => node.NotServingReason(alarm);
        LogOpened(logger, options.NodeId, engine.StreamName, log.Epoch, log.AppliedEntry, log.StreamLast);
        // Catch up before the rest of the server starts, so the first admin is created once in the whole cluster.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
        while (!log.CaughtUp && DateTime.UtcNow < deadline && !alarm.Raised)
        {
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
        var bucket = await engine.BucketAsync("keys", TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        var claim = await bucket.TryCreateAsync("bootstrap-admin", options.NodeId, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!claim.Success)
        {
            // Another node creates (or created) the first admin; wait until its rows arrive so this node does not create one too.
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (accountStore.ListUsers(0, 1).Count == 0 && DateTime.UtcNow < until)
            {
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            }
        }
        _ = keys;
        // The cluster's federation identity, allowlist and delivery progress (when federation is on).
        await federation.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await node.DisposeAsync().ConfigureAwait(false);
        await federation.DisposeAsync().ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 9401, Level = LogLevel.Information, Message = "Cluster node {Node}: log {Stream}, epoch {Epoch:x}, applied {Applied} of {Last}")]
    private static partial void LogOpened(ILogger logger, string node, string stream, ulong epoch, long applied, long last);
}
