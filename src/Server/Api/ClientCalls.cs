using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Accounts;
using TeamComms.Server.Connections;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Api;

/// <summary>
/// The methods a client invokes with a Call frame. Each returns a plain value (maps, lists, strings, integers)
/// that is encoded into the Result frame, or throws <see cref="ApiException"/> with a stable code.
/// docs/protocol.md lists every method with its parameters and result.
/// </summary>
internal sealed class ClientCalls(IRoomLog log, RoomRegistry rooms, RoomStore roomStore, EventStore events, AccountStore accounts)
{
    private readonly Dictionary<string, Func<AuthenticatedSession, FieldMap, Task<object?>>> _methods = new(StringComparer.Ordinal);
    private bool _built;

    /// <summary>Lets later features add methods (directory, workplace, ...).</summary>
    public void Register(string method, Func<AuthenticatedSession, FieldMap, Task<object?>> handler) => _methods[method] = handler;

    public Task<object?> InvokeAsync(ClientConnection connection, string method, FieldMap p) => InvokeAsync(connection.Session, method, p);

    public Task<object?> InvokeAsync(AuthenticatedSession session, string method, FieldMap p)
    {
        if (!_built)
        {
            Build();
        }
        return _methods.TryGetValue(method, out var handler)
            ? handler(session, p)
            : throw new ApiException(ErrorCode.UnknownFrame, $"unknown method '{method}'");
    }

    private void Build()
    {
        lock (_methods)
        {
            if (_built)
            {
                return;
            }
            _methods.TryAdd("rooms.create", CreateAsync);
            _methods.TryAdd("rooms.invite", (s, p) => MembershipAsync(s, p, MembershipAction.Invite, p.RequiredString("user", Identifiers.MaxIdLength)));
            _methods.TryAdd("rooms.join", (s, p) => MembershipAsync(s, p, MembershipAction.Join, null));
            _methods.TryAdd("rooms.leave", (s, p) => MembershipAsync(s, p, MembershipAction.Leave, null));
            _methods.TryAdd("rooms.kick", (s, p) => MembershipAsync(s, p, MembershipAction.Kick, p.RequiredString("user", Identifiers.MaxIdLength)));
            _methods.TryAdd("rooms.set_name", (s, p) => StateAsync(s, p, EventTypes.Name, new() { ["name"] = p.RequiredString("name", 256) }));
            _methods.TryAdd("rooms.set_topic", (s, p) => StateAsync(s, p, EventTypes.Topic, new() { ["topic"] = p.RequiredString("topic", 4096) }));
            _methods.TryAdd("rooms.set_role", (s, p) => StateAsync(s, p, LocalRoomLog.RoleEventType, new()
            {
                ["user"] = p.RequiredString("user", Identifiers.MaxIdLength),
                ["role"] = p.RequiredString("role", 32),
            }));
            _methods.TryAdd("rooms.list", (s, p) => Task.FromResult<object?>(List(s, p.OptionalBool("archived") ?? false)));
            _methods.TryAdd("rooms.get", (s, p) => Task.FromResult<object?>(Get(s, p)));
            _methods.TryAdd("rooms.members", (s, p) => Task.FromResult<object?>(Members(s, p)));
            _methods.TryAdd("rooms.history", (s, p) => Task.FromResult<object?>(History(s, p)));
            _methods.TryAdd("rooms.mark_read", MarkReadAsync);
            _methods.TryAdd("me", (s, p) => Task.FromResult<object?>(Me(s)));
            _built = true;
        }
    }

    private async Task<object?> CreateAsync(AuthenticatedSession s, FieldMap p)
    {
        var kind = p.OptionalString("kind", 32) ?? RoomKinds.Group;
        var outcome = await log.AppendAsync(new CreateRoomProposal(
            s.Actor,
            p.OptionalString("name", 256) ?? "",
            p.OptionalString("topic", 4096) ?? "",
            kind,
            p.OptionalString("history", 32) ?? (kind == RoomKinds.Direct ? HistoryVisibilities.Joined : HistoryVisibilities.Full),
            p.OptionalString("invite_policy", 32) ?? (kind == RoomKinds.Direct ? InvitePolicies.Members : InvitePolicies.Moderators),
            p.OptionalStrings("invite") ?? [])).ConfigureAwait(false);
        Check(outcome);
        return new Dictionary<string, object?> { ["room_id"] = outcome.RoomId, ["seq"] = outcome.Events[^1].Seq };
    }

    private async Task<object?> MembershipAsync(AuthenticatedSession s, FieldMap p, MembershipAction action, string? target)
    {
        var outcome = await log.AppendAsync(new MembershipProposal(s.Actor, RoomIdOf(p), action, target, p.OptionalString("reason", 1024))).ConfigureAwait(false);
        Check(outcome);
        if (outcome.Forwarded is { } forwarded)
        {
            return await ForwardedResultAsync(forwarded).ConfigureAwait(false);
        }
        return new Dictionary<string, object?> { ["seq"] = outcome.Events[^1].Seq, ["event_id"] = outcome.Events[^1].Id.ToArray() };
    }

    private async Task<object?> StateAsync(AuthenticatedSession s, FieldMap p, string type, Dictionary<string, object?> content)
    {
        var outcome = await log.AppendAsync(new StateProposal(s.Actor, RoomIdOf(p), type, content)).ConfigureAwait(false);
        Check(outcome);
        if (outcome.Forwarded is { } forwarded)
        {
            return await ForwardedResultAsync(forwarded).ConfigureAwait(false);
        }
        return new Dictionary<string, object?> { ["seq"] = outcome.Events[^1].Seq, ["event_id"] = outcome.Events[^1].Id.ToArray() };
    }

    private async Task<object?> MarkReadAsync(AuthenticatedSession s, FieldMap p)
    {
        var outcome = await log.AppendAsync(new ReadMarkerProposal(s.Actor, RoomIdOf(p), p.RequiredInt("seq"))).ConfigureAwait(false);
        Check(outcome);
        return new Dictionary<string, object?> { ["read_seq"] = outcome.MarkerSeq };
    }

    /// <summary>The caller's rooms: active ones, or with <paramref name="archived"/> only the archived ones.</summary>
    private List<object?> List(AuthenticatedSession s, bool archived)
    {
        var result = new List<object?>();
        foreach (var (roomKey, row) in roomStore.UserRooms(s.UserKey))
        {
            if (row.Membership == Membership.Leave || rooms.Get(roomKey) is not { } room || room.View.State.Archived != archived)
            {
                continue;
            }
            result.Add(Summary(s, room, row.Membership));
        }
        return result;
    }

    private Dictionary<string, object?> Get(AuthenticatedSession s, FieldMap p)
    {
        var room = FindRoom(p);
        var member = room.View.State.Member(s.UserId);
        if (member is null || member.Membership == Membership.Leave)
        {
            throw new ApiException(ErrorCode.NotMember, "you are not a member of this room");
        }
        return Summary(s, room, member.Membership);
    }

    private Dictionary<string, object?> Summary(AuthenticatedSession s, Room room, string membership)
    {
        var view = room.View;
        var marker = roomStore.ReadMarker(s.UserKey, room.Key) ?? 0;
        long unread = 0;
        if (membership == Membership.Join && marker < view.Head.Seq)
        {
            var readCount = marker > 0 && events.TryGet(room.Key, marker, out var at) ? at.MessageCount : 0;
            unread = view.Head.MessageCount - readCount;
        }
        var state = view.State;
        return new Dictionary<string, object?>
        {
            ["room_id"] = room.RoomId,
            ["name"] = state.Name,
            ["topic"] = state.Topic,
            ["kind"] = state.Kind,
            ["history"] = state.HistoryVisibility,
            ["archived"] = state.Archived,
            ["membership"] = membership,
            ["role"] = state.RoleOf(s.UserId),
            ["joined_count"] = (long)state.JoinedCount,
            ["head_seq"] = view.Head.Seq,
            ["head_ts"] = view.Head.Timestamp,
            ["read_seq"] = marker,
            ["unread"] = unread,
        };
    }

    private List<object?> Members(AuthenticatedSession s, FieldMap p)
    {
        var room = FindRoom(p);
        var state = room.View.State;
        if (!state.IsJoined(s.UserId))
        {
            throw new ApiException(ErrorCode.NotMember, "you are not a member of this room");
        }
        return state.Members
            .Where(m => m.Value.Membership != Membership.Leave)
            .OrderBy(m => m.Key, StringComparer.Ordinal)
            .Select(m => (object?)new Dictionary<string, object?>
            {
                ["user"] = m.Key,
                ["membership"] = m.Value.Membership,
                ["role"] = m.Value.Role,
            }).ToList();
    }

    /// <summary>
    /// A page of history: <c>{room, from?, dir: "backward"|"forward", limit}</c>. Returns the events (wire form) in the
    /// requested direction and <c>next</c>, the seq to pass as <c>from</c> for the following page (nil at the end).
    /// </summary>
    private Dictionary<string, object?> History(AuthenticatedSession s, FieldMap p)
    {
        var room = FindRoom(p);
        var view = room.View;
        var member = view.State.Member(s.UserId);
        if (member is null || member.Membership == Membership.Invite || member.JoinSeq == 0)
        {
            throw new ApiException(ErrorCode.NotMember, "you are not a member of this room");
        }
        var minSeq = view.State.HistoryVisibility == HistoryVisibilities.Full ? 1 : member.JoinSeq;
        var maxSeq = member.Membership == Membership.Join ? view.Head.Seq : member.Seq;
        var dir = p.OptionalString("dir", 16) ?? "backward";
        if (dir is not ("backward" or "forward"))
        {
            throw new ApiException(ErrorCode.BadField, "dir is 'backward' or 'forward'");
        }
        var forward = dir == "forward";
        var limit = (int)Math.Clamp(p.OptionalInt("limit") ?? 50, 1, Limits.MaxHistoryPage);
        var from = p.OptionalInt("from") ?? (forward ? minSeq : maxSeq);
        var page = forward
            ? events.ReadRange(room.Key, Math.Max(from, minSeq), maxSeq, true, limit)
            : events.ReadRange(room.Key, Math.Min(from, maxSeq), minSeq, false, limit);
        long? next = null;
        if (page.Count == limit)
        {
            var last = page[^1].Seq;
            next = forward ? (last < maxSeq ? last + 1 : null) : (last > minSeq ? last - 1 : null);
        }
        return new Dictionary<string, object?>
        {
            ["room_id"] = room.RoomId,
            ["events"] = page.Select(e => (object?)new RawMsgPack(e.Wire)).ToList(),
            ["next"] = next,
            ["min_seq"] = minSeq,
            ["max_seq"] = maxSeq,
        };
    }

    private Dictionary<string, object?> Me(AuthenticatedSession s)
    {
        var user = accounts.GetUser(s.UserKey);
        return new Dictionary<string, object?>
        {
            ["user_id"] = s.UserId,
            ["display_name"] = user?.DisplayName,
            ["email"] = user?.Email,
            ["roles"] = s.Roles.Cast<object?>().ToList(),
            ["session_id"] = s.SessionId,
        };
    }

    private Room FindRoom(FieldMap p) =>
        rooms.Find(RoomIdOf(p)) ?? throw new ApiException(ErrorCode.UnknownRoom, "no such room");

    private static string RoomIdOf(FieldMap p)
    {
        var id = p.RequiredString("room", Identifiers.MaxIdLength);
        return Identifiers.IsValidRoomId(id) ? id : throw new ApiException(ErrorCode.BadField, $"'{id}' is not a room id");
    }

    /// <summary>A call on a room hosted elsewhere answers once the hub ordered it, or says it is queued.</summary>
    private static async Task<object?> ForwardedResultAsync(ForwardedProposal forwarded)
    {
        var result = await forwarded.WaitForCallAsync().ConfigureAwait(false)
            ?? throw new ApiException(ErrorCode.FederationPending,
                $"queued for {forwarded.Hub}, the room's hub, which has not ordered it yet; it applies when {forwarded.Hub} can be reached");
        if (!result.Ok)
        {
            throw new ApiException(result.Error!.Value, result.Message!);
        }
        return new Dictionary<string, object?> { ["seq"] = result.Seq, ["event_id"] = result.Id.ToArray() };
    }

    private static void Check(AppendOutcome outcome)
    {
        if (!outcome.Ok)
        {
            throw new ApiException(outcome.Error!.Value, outcome.Message!);
        }
    }
}
