using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TeamComms.Server.Federation;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Cluster;

/// <summary>
/// Federation in cluster mode (docs/federation.md, "Cluster mode"). The cluster is one federation server: every node
/// has the same server name, the same signing keys (<see cref="ClusterFederationKeys"/>), the same partner allowlist
/// (partner rows travel through the log, and each node reloads its table when it applies them), and the same outboxes,
/// cursors and pending sends (written by the sequencer, which every node runs on the same log; delivery progress is a
/// <see cref="FederationProgressProposal"/> in the log). Only the holder of the <c>federation-outbox</c> lease sends.
/// Inbound requests may reach any node: what they change goes through the log as proposals (remote proposals, hub
/// events, content fills), so every node applies the same thing.
/// </summary>
internal sealed class ClusterFederation(IServiceProvider services, IOptions<FederationOptions> options, JetStreamRoomLog log,
    ClusterFederationKeys keys) : IAppliedEntryObserver, IAsyncDisposable
{
    public bool Enabled => options.Value.Enabled;

    /// <summary>After the log is open and caught up, before the rest of the server starts.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        if (!Enabled)
        {
            return;
        }
        await keys.OpenAsync(services.GetRequiredService<ServerKeyRing>(), ct).ConfigureAwait(false);
        services.GetRequiredService<FederationSenders>().Progress = p => log.AppendAsync(p);
        var partners = services.GetRequiredService<PartnerTable>();
        partners.Replicator = log;
        partners.Reload();
    }

    public void OnApplied(string originNode, IReadOnlyList<Proposal> proposals)
    {
        if (!Enabled)
        {
            return;
        }
        foreach (var proposal in proposals)
        {
            if (proposal is SystemProposal system
                && system.Writes.Any(w => w.Family == "federation" && w.Key.Length > 0 && w.Key[0] == KeyCodec.PartnerTag))
            {
                services.GetRequiredService<PartnerTable>().Reload();
                return;
            }
        }
    }

    public ValueTask DisposeAsync() => keys.DisposeAsync();
}
