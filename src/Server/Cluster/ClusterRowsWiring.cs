using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TeamComms.Server.Audit;
using TeamComms.Server.Moderation;
using TeamComms.Server.Retention;
using TeamComms.Server.Rooms;

namespace TeamComms.Server.Cluster;

/// <summary>
/// Cluster mode, before the log is opened and applied: the audit log records through the cluster log (one chain for
/// the whole cluster, numbered at apply time), and the services whose rows the sequencer must see in log order — the
/// audit chain, the content policy, legal holds, moderation reports — become the sequencer's row hooks (<see cref="IApplyTimeRows"/>).
/// Legal hold and report ids are partitioned by node index so that two nodes creating them at once never pick the same id.
/// </summary>
internal sealed class ClusterRowsWiring(JetStreamRoomLog log, ClusterOptions options, IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var hooks = new List<IApplyTimeRows>();
        if (services.GetService<AuditLog>() is { } audit)
        {
            audit.UseClusterLog(log);
            hooks.Add(audit);
        }
        if (services.GetService<ContentPolicy>() is { } policy)
        {
            hooks.Add(policy);
        }
        if (services.GetService<LegalHolds>() is { } holds)
        {
            holds.PartitionIds(options.NodeIndex);
            hooks.Add(holds);
        }
        if (services.GetService<ModerationService>() is { } moderation)
        {
            moderation.PartitionIds(options.NodeIndex);
            hooks.Add(moderation);
        }
        log.Local.RowHooks = hooks;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
