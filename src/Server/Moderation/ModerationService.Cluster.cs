using TeamComms.Protocol;
using TeamComms.Server.Audit;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Moderation;

/// <summary>
/// Cluster mode: reports are cluster-wide. Each node seals a report's reason and note with its own at-rest key, so the
/// stored row cannot travel as is: the proposer stages a <em>pending</em> row (<see cref="PendingFamily"/>, never
/// stored) carrying the report with its reason in plaintext — inside the cluster log entry, which is sealed with the
/// log key — and every node's sequencer turns it into the report row, sealed with that node's own room data key, as it
/// applies it (<see cref="IApplyTimeRows"/>). A resolution travels the same way (only its change: who, when, how, the
/// note), applied to the node's own row, so the reason each node sealed is kept. Report ids are decided by the
/// proposer and partitioned by node index (<c>id % 256</c> = node index), like legal holds. The queue is read from the
/// store, so every node lists what it has applied; no other cache to keep in step.
/// </summary>
internal sealed partial class ModerationService : IApplyTimeRows
{
    /// <summary>Staged rows of reports and resolutions not yet sealed; never stored (the sequencer seals them).</summary>
    public const string PendingFamily = "report_pending";

    /// <summary>Cluster mode: report ids are allocated so that <c>id % IdStride</c> is the node's index.</summary>
    public const int IdStride = 256;

    private const byte FileTag = (byte)'F';
    private const byte ResolveTag = (byte)'R';

    private int _nodeIndex;

    // Sequencer thread: report rows applied in the current batch, not yet committed (a resolution may follow its report
    // in the same group commit on a node catching up).
    private readonly Dictionary<long, ReportRecord> _appliedInBatch = [];

    /// <summary>Cluster mode: this node's index, so that reports filed on two nodes at once get different ids.</summary>
    internal void PartitionIds(int nodeIndex) => _nodeIndex = nodeIndex;

    private long NextId()
    {
        var counter = store.Counter("report");
        if (_nodeIndex == 0)
        {
            return counter + 1;
        }
        var id = Math.Max(counter, store.Reports().Select(r => r.Id).FirstOrDefault()) + 1; // Reports() is newest (highest id) first
        while (id % IdStride != _nodeIndex)
        {
            id++;
        }
        return id;
    }

    /// <summary>Files <paramref name="report"/> (its reason in plaintext) through the log; returns the row as applied here.</summary>
    private async Task<ReportRecord> FileInClusterAsync(ReportRecord report)
    {
        await audit.CommitAsync([StagedWrite.Put(PendingFamily, KeyCodec.TaggedLong(FileTag, report.Id), WorkplaceJson.Encode(report))], store.Write)
            .ConfigureAwait(false);
        return store.GetReport(report.Id) ?? throw new ApiException(ErrorCode.Internal, $"report {report.Id} was not applied");
    }

    /// <summary>
    /// Resolves through the log with its audit entry; returns the row as applied here. When another moderator's
    /// resolution came first in the log (two nodes at once), that one stands and this call fails with a conflict.
    /// </summary>
    private async Task<ReportRecord> ResolveInClusterAsync(AuditEvent entry, ReportRecord resolved)
    {
        await audit.RecordWithAsync([entry], async writes =>
        {
            await audit.CommitAsync([.. writes, StagedWrite.Put(PendingFamily, KeyCodec.TaggedLong(ResolveTag, resolved.Id), WorkplaceJson.Encode(resolved))],
                store.Write).ConfigureAwait(false);
            return (true, 0);
        }).ConfigureAwait(false);
        var applied = store.GetReport(resolved.Id) ?? throw new ApiException(ErrorCode.Internal, $"report {resolved.Id} is gone");
        if (applied.ResolvedBy != resolved.ResolvedBy || applied.ResolvedAt != resolved.ResolvedAt || applied.Resolution != resolved.Resolution)
        {
            throw new ApiException(ErrorCode.Conflict, $"report {resolved.Id} was resolved by {applied.ResolvedBy} meanwhile");
        }
        return applied;
    }

    StagedWrite IApplyTimeRows.OnApply(StagedWrite write, long nowMs) =>
        write.Family == PendingFamily ? throw new InvalidOperationException("a pending report row is applied with its batch") : write;

    StagedWrite IApplyTimeRows.OnApply(StagedWrite write, long nowMs, StoreBatch batch)
    {
        if (write.Family != PendingFamily)
        {
            return write;
        }
        if (write.Value is null || write.Key is not [FileTag or ResolveTag, ..] || write.Key.Length != 9)
        {
            throw new ProtocolException(ErrorCode.BadRequest, "a malformed pending report row");
        }
        var pending = WorkplaceJson.Decode<ReportRecord>(write.Value);
        var rowKey = KeyCodec.TaggedLong(KeyCodec.ReportTag, pending.Id);
        var current = _appliedInBatch.TryGetValue(pending.Id, out var inBatch) ? inBatch : store.GetReport(pending.Id);
        ReportRecord row;
        if (write.Key[0] == FileTag)
        {
            if (current is not null)
            {
                return WorkplaceStore.PutReport(current); // ids are partitioned by node: never happens; keep the first
            }
            row = pending with { Reason = store.Seal(pending.RoomKey, rowKey, pending.Reason, batch), Note = null, Status = Open };
        }
        else
        {
            if (current is null)
            {
                return StagedWrite.Delete(WorkplaceStore.Family, rowKey); // no such report here: nothing to change
            }
            if (current.Status == Resolved)
            {
                return WorkplaceStore.PutReport(current); // the first resolution in log order stands
            }
            row = current with
            {
                Status = Resolved,
                Resolution = pending.Resolution,
                ResolvedBy = pending.ResolvedBy,
                ResolvedAt = pending.ResolvedAt,
                Note = pending.Note is { Length: > 0 } note ? store.Seal(current.RoomKey, rowKey, note, batch) : null,
            };
        }
        _appliedInBatch[row.Id] = row;
        return WorkplaceStore.PutReport(row);
    }

    void IApplyTimeRows.OnCommitted() => _appliedInBatch.Clear();

    void IApplyTimeRows.OnRolledBack() => _appliedInBatch.Clear();
}
