using TeamComms.Server.Storage;

namespace TeamComms.Server.Rooms;

/// <summary>
/// Staged writes carried by proposals (directory, audit, policy rows) go through <see cref="ApplyStaged"/>, so that
/// the services registered in <see cref="RowHooks"/> (cluster mode) see them in log order on the sequencer thread.
/// Without hooks (a single node) the rows are added to the batch as they are.
/// </summary>
internal sealed partial class LocalRoomLog
{
    /// <summary>Cluster mode: set once before the log is applied; see <see cref="IApplyTimeRows"/>.</summary>
    internal IReadOnlyList<IApplyTimeRows> RowHooks { get; set; } = [];

    private void ApplyStaged(IReadOnlyList<StagedWrite> writes)
    {
        var hooks = RowHooks;
        if (hooks.Count == 0 || writes.Count == 0)
        {
            _batch.Apply(writes);
            return;
        }
        var now = NowMs;
        var rows = new List<StagedWrite>(writes.Count);
        foreach (var write in writes)
        {
            var row = write;
            foreach (var hook in hooks)
            {
                row = hook.OnApply(row, now, _batch);
            }
            rows.Add(row);
        }
        _batch.Apply(rows);
    }

    private void RowsCommitted()
    {
        foreach (var hook in RowHooks)
        {
            hook.OnCommitted();
        }
    }

    private void RowsRolledBack()
    {
        foreach (var hook in RowHooks)
        {
            hook.OnRolledBack();
        }
    }
}
