using TeamComms.Protocol;
using TeamComms.Protocol.Audit;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Audit;

/// <summary>
/// Cluster mode: one audit chain for the whole cluster. A node that records an event does not number or hash it; it
/// stages the event as a <em>pending</em> row (<see cref="PendingFamily"/>: the entry without seq, time and hashes)
/// that travels through the cluster log inside the proposal of the change it records, or alone in a
/// <see cref="SystemProposal"/>. Every node's sequencer completes pending rows as it applies them
/// (<see cref="IApplyTimeRows"/>): the next seq, the log entry's time (never earlier than the previous entry's) and the
/// chain hash, in the same group commit as the change. So every node stores the same entries with the same seqs and
/// hashes, in log order, however many nodes record at once. Signed heads stay per node (see docs/security.md).
/// </summary>
internal sealed partial class AuditLog : IApplyTimeRows
{
    /// <summary>Staged rows of events not yet numbered; never stored (the sequencer turns them into entries).</summary>
    public const string PendingFamily = "audit_pending";

    private IRoomLog? _cluster;

    // Sequencer-thread working head while a batch holds pending rows.
    private bool _working;
    private long _workingSeq;
    private byte[]? _workingHash;
    private long _workingTs;

    /// <summary>True in cluster mode: records go through the cluster log and are numbered when applied.</summary>
    public bool Clustered => _cluster is not null;

    /// <summary>Cluster mode: set once at start, before the log is applied.</summary>
    internal void UseClusterLog(IRoomLog log) => _cluster = log;

    /// <summary>
    /// Commits rows of a change made outside the room log, with its audit entries if any (from
    /// <see cref="RecordWithAsync{T}"/>). On a single node <paramref name="writeLocally"/> writes them, as before. In cluster mode they all go through the log
    /// in one <see cref="SystemProposal"/>, so every node writes the change and the entries in the same commit, in log
    /// order; this returns when this node has applied them.
    /// </summary>
    public async Task CommitAsync(IReadOnlyList<StagedWrite> rows, Action<IReadOnlyList<StagedWrite>> writeLocally)
    {
        if (_cluster is null)
        {
            writeLocally(rows);
            return;
        }
        await AppendAsync(_cluster, rows).ConfigureAwait(false);
    }

    /// <summary>
    /// Like <see cref="CommitAsync"/>, for changes to rows that are this node's own and stay here (its key settings,
    /// its local side work): in cluster mode only the audit entries go through the log (first, so a change is never
    /// made without its entry), then <paramref name="writeLocally"/> writes the other rows.
    /// </summary>
    public Task CommitLocalAsync(IReadOnlyList<StagedWrite> rows, Action<IReadOnlyList<StagedWrite>> writeLocally) =>
        CommitLocalAsync(rows, r =>
        {
            writeLocally(r);
            return Task.CompletedTask;
        });

    /// <inheritdoc cref="CommitLocalAsync(IReadOnlyList{StagedWrite}, Action{IReadOnlyList{StagedWrite}})"/>
    public async Task CommitLocalAsync(IReadOnlyList<StagedWrite> rows, Func<IReadOnlyList<StagedWrite>, Task> writeLocally)
    {
        if (_cluster is null)
        {
            await writeLocally(rows).ConfigureAwait(false);
            return;
        }
        var entries = rows.Where(r => r.Family == PendingFamily).ToList();
        var local = rows.Where(r => r.Family != PendingFamily).ToList();
        if (entries.Count > 0)
        {
            await AppendAsync(_cluster, entries).ConfigureAwait(false);
        }
        if (local.Count > 0)
        {
            await writeLocally(local).ConfigureAwait(false);
        }
    }

    private static async Task AppendAsync(IRoomLog log, IReadOnlyList<StagedWrite> rows)
    {
        var outcome = await log.AppendAsync(new SystemProposal(default, "replica:audit", [], rows)).ConfigureAwait(false);
        if (!outcome.Ok)
        {
            throw new ApiException(outcome.Error!.Value, outcome.Message!);
        }
    }

    private async Task<(IReadOnlyList<AuditRecord> Records, T Result)> RecordInClusterAsync<T>(IReadOnlyList<AuditEvent> events,
        Func<IReadOnlyList<StagedWrite>, Task<(bool Committed, T Result)>> commit)
    {
        var pending = events.Select(e => new AuditRecord
        {
            Seq = 0,
            Ts = 0,
            Actor = e.Actor,
            Action = e.Action,
            Target = e.Target,
            Address = e.Address,
            Details = e.Details ?? new Dictionary<string, string>(),
            Hash = "",
        }).ToList();
        var (committed, result) = await commit([.. pending.Select(StagePending)]).ConfigureAwait(false);
        // The seqs and hashes were decided by the sequencer; the records returned here carry the event only.
        return (committed ? pending : [], result);
    }

    private static StagedWrite StagePending(AuditRecord record) => StagedWrite.Put(PendingFamily, [], DirectoryJson.Encode(record));

    StagedWrite IApplyTimeRows.OnApply(StagedWrite write, long nowMs)
    {
        if (write.Family != PendingFamily)
        {
            return write;
        }
        if (write.Value is null)
        {
            throw new ProtocolException(ErrorCode.BadRequest, "a pending audit row without a value");
        }
        if (!_working)
        {
            lock (_headLock)
            {
                _workingSeq = _lastSeq;
                _workingHash = _lastHash;
                _workingTs = _lastTs;
            }
            _working = true;
        }
        var e = DirectoryJson.Decode<AuditRecord>(write.Value);
        var seq = _workingSeq + 1;
        var ts = Math.Max(nowMs, _workingTs);
        var hash = AuditChain.ComputeHash(seq, ts, e.Actor, e.Action, e.Target, e.Address, e.Details, _workingHash);
        var record = e with
        {
            Seq = seq,
            Ts = ts,
            Prev = _workingHash is null ? null : Convert.ToHexStringLower(_workingHash),
            Hash = Convert.ToHexStringLower(hash),
        };
        _workingSeq = seq;
        _workingHash = hash;
        _workingTs = ts;
        return AuditStore.StagePut(record);
    }

    void IApplyTimeRows.OnCommitted()
    {
        if (!_working)
        {
            return;
        }
        lock (_headLock)
        {
            _lastHash = _workingHash;
            _lastTs = _workingTs;
            Volatile.Write(ref _lastSeq, _workingSeq);
        }
        _working = false;
        Appended?.Invoke();
    }

    void IApplyTimeRows.OnRolledBack() => _working = false;
}
