using System.Collections.Immutable;
using TeamComms.Protocol;
using TeamComms.Server.Audit;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Retention;

/// <summary>
/// Legal holds on users (everything they sent, in every room) or rooms. While a hold covers content, retention does
/// not remove it, and a redaction hides it from members but keeps the sealed original for compliance. Creating and
/// releasing a hold is audited in the same write. The sequencer asks <see cref="IsHeld"/> from memory. In cluster mode
/// the hold's row travels through the cluster log and every node's sequencer updates its index as it applies the row
/// (<see cref="IApplyTimeRows"/>), so every node decides each later redaction or purge against the same holds.
/// </summary>
internal sealed class LegalHolds(WorkplaceStore store, AuditLog audit, RoomRegistry rooms, TimeProvider time) : IApplyTimeRows, IDisposable
{
    public const string UserKind = "user";
    public const string RoomKind = "room";

    /// <summary>Cluster mode: hold ids are allocated so that <c>id % IdStride</c> is the node's index (ids never collide).</summary>
    public const int IdStride = 256;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile ActiveHolds _active = Index(store.Holds());
    // Cluster mode, sequencer thread: every hold as applied so far (the committed rows plus this batch's).
    private ImmutableDictionary<long, LegalHoldRecord>? _applied;
    private bool _appliedInBatch;
    private int _nodeIndex;

    /// <summary>Cluster mode: this node's index, so that holds created on two nodes at once get different ids.</summary>
    internal void PartitionIds(int nodeIndex)
    {
        _nodeIndex = nodeIndex;
        _applied = store.Holds().ToImmutableDictionary(h => h.Id);
    }

    private long NextId()
    {
        var counter = store.Counter("hold");
        if (_nodeIndex == 0)
        {
            return counter + 1;
        }
        var id = Math.Max(counter, store.Holds().Select(h => h.Id).DefaultIfEmpty(0).Max()) + 1;
        while (id % IdStride != _nodeIndex)
        {
            id++;
        }
        return id;
    }

    /// <summary>True when a hold covers the room or (when given) the sender.</summary>
    public bool IsHeld(string roomId, string sender)
    {
        var active = _active;
        return active.Rooms.Contains(roomId) || (sender.Length > 0 && active.Users.Contains(sender));
    }

    /// <summary>True when any hold is active.</summary>
    public bool Any => _active.Users.Count + _active.Rooms.Count > 0;

    public IReadOnlyList<LegalHoldRecord> List() => [.. store.Holds()];

    public async Task<LegalHoldRecord> CreateAsync(Principal by, string kind, string target, string reason)
    {
        switch (kind)
        {
            case UserKind when !Identifiers.IsValidUserId(target):
                throw new ApiException(ErrorCode.BadRequest, $"'{target}' is not a user id (name@server)");
            case RoomKind when rooms.Find(target) is null:
                throw new ApiException(ErrorCode.UnknownRoom, $"no room {target} on this server");
            case UserKind or RoomKind:
                break;
            default:
                throw new ApiException(ErrorCode.BadRequest, "kind is user or room");
        }
        if (reason.Length is 0 or > 1024)
        {
            throw new ApiException(ErrorCode.BadRequest, "a hold needs a reason (at most 1024 characters): the matter it is for");
        }
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var hold = new LegalHoldRecord
            {
                Id = NextId(),
                Kind = kind,
                Target = target,
                Reason = reason,
                CreatedBy = by.Actor,
                CreatedAt = time.GetUtcNow().ToUnixTimeMilliseconds(),
            };
            await audit.RecordWithAsync([by.Event("legal_hold.create", target, new Dictionary<string, string>
            {
                ["hold"] = hold.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["kind"] = kind,
                ["reason"] = reason,
            })], async writes =>
            {
                await audit.CommitAsync([.. writes, WorkplaceStore.PutHold(hold), WorkplaceStore.PutCounter("hold", hold.Id)], store.Write).ConfigureAwait(false);
                return (true, 0);
            }).ConfigureAwait(false);
            if (!audit.Clustered)
            {
                _active = Index(store.Holds()); // in cluster mode the sequencer updated it when it applied the row
            }
            return hold;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<LegalHoldRecord> ReleaseAsync(Principal by, long id)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var hold = store.Holds().FirstOrDefault(h => h.Id == id) ?? throw new ApiException(ErrorCode.NotFound, $"no legal hold {id}");
            if (hold.Released)
            {
                throw new ApiException(ErrorCode.Conflict, $"legal hold {id} is already released");
            }
            var released = hold with { Released = true, ReleasedBy = by.Actor, ReleasedAt = time.GetUtcNow().ToUnixTimeMilliseconds() };
            await audit.RecordWithAsync([by.Event("legal_hold.release", hold.Target, new Dictionary<string, string>
            {
                ["hold"] = id.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["kind"] = hold.Kind,
            })], async writes =>
            {
                await audit.CommitAsync([.. writes, WorkplaceStore.PutHold(released)], store.Write).ConfigureAwait(false);
                return (true, 0);
            }).ConfigureAwait(false);
            if (!audit.Clustered)
            {
                _active = Index(store.Holds());
            }
            Released?.Invoke(released);
            return released;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Raised after a hold is released: the retention job looks at what it covered again.</summary>
    public event Action<LegalHoldRecord>? Released;

    public static object View(LegalHoldRecord h) => new
    {
        id = h.Id,
        kind = h.Kind,
        target = h.Target,
        reason = h.Reason,
        created_by = h.CreatedBy,
        created_at = h.CreatedAt,
        released = h.Released,
        released_by = h.ReleasedBy,
        released_at = h.ReleasedAt,
    };

    private static ActiveHolds Index(IEnumerable<LegalHoldRecord> holds)
    {
        var active = holds.Where(h => !h.Released).ToList();
        return new([.. active.Where(h => h.Kind == UserKind).Select(h => h.Target)], [.. active.Where(h => h.Kind == RoomKind).Select(h => h.Target)]);
    }

    StagedWrite IApplyTimeRows.OnApply(StagedWrite write, long nowMs)
    {
        if (_applied is { } applied && write.Family == WorkplaceStore.Family && write.Key is [KeyCodec.HoldTag, ..] && write.Value is { } value)
        {
            var hold = WorkplaceJson.Decode<LegalHoldRecord>(value);
            _applied = applied.SetItem(hold.Id, hold);
            _active = Index(_applied.Values);
            _appliedInBatch = true;
        }
        return write;
    }

    void IApplyTimeRows.OnCommitted() => _appliedInBatch = false;

    void IApplyTimeRows.OnRolledBack()
    {
        if (_appliedInBatch)
        {
            _applied = store.Holds().ToImmutableDictionary(h => h.Id);
            _active = Index(_applied.Values);
            _appliedInBatch = false;
        }
    }

    private sealed record ActiveHolds(ImmutableHashSet<string> Users, ImmutableHashSet<string> Rooms);

    public void Dispose() => _gate.Dispose();
}
