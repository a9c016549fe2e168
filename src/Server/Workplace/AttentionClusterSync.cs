using System.Buffers.Binary;
using TeamComms.Server.Cluster;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;
using TeamComms.Server.Workplace.Alerts;
using TeamComms.Server.Workplace.Notifications;

namespace TeamComms.Server.Workplace;

/// <summary>
/// Cluster mode: tells the attention features what this node applied from the log, so it follows alerts sent, closed,
/// acknowledged, reminded and escalated on any node, and the company attention policy and people's notification
/// settings changed on any node. Registered always; only the cluster log calls it.
/// </summary>
internal sealed class AttentionClusterSync(AlertService alerts, AttentionPolicy policy, AttentionService attention) : IAppliedEntryObserver
{
    public void OnApplied(string originNode, IReadOnlyList<Proposal> proposals)
    {
        foreach (var proposal in proposals)
        {
            switch (proposal)
            {
                case AttentionPostProposal or AlertProgressProposal:
                    alerts.OnApplied(proposal);
                    break;
                case SystemProposal system:
                    foreach (var write in system.Writes)
                    {
                        if (write.Family != AttentionStore.Family || write.Key.Length == 0)
                        {
                            continue;
                        }
                        if (write.Key[0] == KeyCodec.AttentionPolicy)
                        {
                            policy.Reload();
                        }
                        else if (write.Key[0] == KeyCodec.AttentionSettings && write.Key.Length == 9)
                        {
                            attention.Reload(BinaryPrimitives.ReadInt64BigEndian(write.Key.AsSpan(1)));
                        }
                    }
                    break;
            }
        }
    }
}
