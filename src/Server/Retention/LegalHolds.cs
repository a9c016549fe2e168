using System.Collections.Immutable;
using TeamComms.Protocol;
using TeamComms.Server.Audit;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Retention;

/// <summary>
/// Legal holds on users (everything they sent, in every room) or rooms. While a hold covers content, retention does
/// not remove it, and a redaction hides it from members but keeps the sealed original for compliance. Creating and
/// releasing a hold is audited in the same write. The sequencer asks <see cref="IsHeld"/> from memory.
/// </summary>
internal sealed class LegalHolds(WorkplaceStore store, AuditLog audit, RoomRegistry rooms, TimeProvider time) : IDisposable
{
    public const string UserKind = "user";
    public const string RoomKind = "room";
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile ActiveHolds _active = Index(store.Holds());

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
                Id = store.Counter("hold") + 1,
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
            })], writes =>
            {
                store.Write([.. writes, WorkplaceStore.PutHold(hold), WorkplaceStore.PutCounter("hold", hold.Id)]);
                return Task.FromResult((true, 0));
            }).ConfigureAwait(false);
            _active = Index(store.Holds());
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
            })], writes =>
            {
                store.Write([.. writes, WorkplaceStore.PutHold(released)]);
                return Task.FromResult((true, 0));
            }).ConfigureAwait(false);
            _active = Index(store.Holds());
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

    private sealed record ActiveHolds(ImmutableHashSet<string> Users, ImmutableHashSet<string> Rooms);

    public void Dispose() => _gate.Dispose();
}
