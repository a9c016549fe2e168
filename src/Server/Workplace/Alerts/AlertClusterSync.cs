using TeamComms.Server.Cluster;
using TeamComms.Server.Rooms;

namespace TeamComms.Server.Workplace.Alerts;

/// <summary>
/// Cluster mode: tells the alert service what this node applied from the log, so it follows alerts sent, closed,
/// acknowledged, reminded and escalated on any node. Registered always; only the cluster log calls it.
/// </summary>
internal sealed class AlertClusterSync(AlertService alerts) : IAppliedEntryObserver
{
    public void OnApplied(string originNode, IReadOnlyList<Proposal> proposals)
    {
        foreach (var proposal in proposals)
        {
            if (proposal is AttentionPostProposal or AlertProgressProposal)
            {
                alerts.OnApplied(proposal);
            }
        }
    }
}
