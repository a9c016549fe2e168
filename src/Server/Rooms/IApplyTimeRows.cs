using TeamComms.Server.Storage;

namespace TeamComms.Server.Rooms;

/// <summary>
/// Cluster mode: a service whose rows travel as staged writes inside proposals and that must act on them on the
/// sequencer thread, in log order, as they are applied: the audit chain (its seq and hash are decided at apply time,
/// like a room's) and the caches the sequencer reads (content policy, legal holds), which must change exactly between
/// the proposals that precede and follow the change in the log, whatever group commit they fall into.
/// Every method runs on the sequencer thread and must not block.
/// </summary>
internal interface IApplyTimeRows
{
    /// <summary>
    /// Called for each staged write of a proposal as the sequencer applies it; returns the row to write (the same row,
    /// or one completed at apply time). <paramref name="nowMs"/> is the sequencer's "now" (the log entry's timestamp).
    /// </summary>
    StagedWrite OnApply(StagedWrite write, long nowMs);

    /// <summary>
    /// <see cref="OnApply(StagedWrite, long)"/> with the batch the row goes into, for rows sealed at apply time with a
    /// room data key that may be created in that same batch (moderation reports). The sequencer calls this one.
    /// </summary>
    StagedWrite OnApply(StagedWrite write, long nowMs, StoreBatch batch) => OnApply(write, nowMs);

    /// <summary>The batch holding the rows seen since the last call is durable.</summary>
    void OnCommitted();

    /// <summary>The batch holding the rows seen since the last call was rolled back: forget them (reload from the store).</summary>
    void OnRolledBack();
}
