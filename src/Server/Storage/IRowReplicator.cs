namespace TeamComms.Server.Storage;

/// <summary>
/// Cluster mode: carries rows written outside the room log (accounts, sessions, setup tokens) to every node. The rows
/// are already written locally; every node, this one included, writes them again in the cluster log's order, so all
/// nodes converge on the same rows. The task completes when this node has applied them from the log.
/// </summary>
internal interface IRowReplicator
{
    Task Replicate(IReadOnlyList<StagedWrite> rows);
}
