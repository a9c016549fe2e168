using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Accounts;
using TeamComms.Server.Api;
using TeamComms.Server.Moderation;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;
using static TeamComms.Server.Workplace.WorkplaceCallHelpers;

namespace TeamComms.Server.Conversations;

/// <summary>
/// WebSocket calls for announcements, pins, threads, reactions and polls: <c>rooms.pin</c>, <c>rooms.unpin</c>,
/// <c>rooms.set_posting</c>, <c>rooms.settings</c>, <c>rooms.relations</c>, <c>polls.vote</c>, <c>polls.close</c>,
/// <c>polls.results</c>. docs/protocol.md §15 lists their parameters and results.
/// </summary>
internal sealed class ConversationCalls(IRoomLog log, RoomRegistry rooms, EventStore events, WorkplaceStore store, ContentPolicy policy,
    Hosting.ServerIdentity identity, TimeProvider time)
{
    public void Register(ClientCalls calls)
    {
        calls.Register("rooms.pin", (s, p) => PinAsync(s, p, true));
        calls.Register("rooms.unpin", (s, p) => PinAsync(s, p, false));
        calls.Register("rooms.set_posting", async (s, p) => await EventResultAsync(await log.AppendAsync(new RoomSettingProposal(
            s.Actor, RoomParam(p), WorkplaceEventTypes.Posting, new Dictionary<string, object?> { ["role"] = p.RequiredString("role", 32) }, s.IsAdmin, [])).ConfigureAwait(false)).ConfigureAwait(false));
        calls.Register("rooms.settings", (s, p) => Task.FromResult<object?>(Settings(s, p)));
        calls.Register("rooms.relations", (s, p) => Task.FromResult<object?>(RelationsOf(s, p)));
        calls.Register("polls.vote", async (s, p) => await EventResultAsync(await log.AppendAsync(new VoteProposal(
            s.Actor, RoomParam(p), EventIdParam(p, "poll"), p.OptionalStrings("options") ?? throw new ApiException(ErrorCode.BadField, "'options' is required (an empty list withdraws your vote)"))).ConfigureAwait(false)).ConfigureAwait(false));
        calls.Register("polls.close", async (s, p) => await EventResultAsync(await log.AppendAsync(new ClosePollProposal(
            s.Actor, RoomParam(p), EventIdParam(p, "poll"), Scheduled: false)).ConfigureAwait(false)).ConfigureAwait(false));
        calls.Register("polls.results", (s, p) => Task.FromResult<object?>(Results(s, p)));
    }

    private async Task<object?> PinAsync(AuthenticatedSession s, FieldMap p, bool pin) =>
        await EventResultAsync(await log.AppendAsync(new PinProposal(s.Actor, RoomParam(p), EventIdParam(p, "event"), pin)).ConfigureAwait(false)).ConfigureAwait(false);

    private Room ReadableRoom(AuthenticatedSession s, FieldMap p)
    {
        var room = rooms.Find(RoomParam(p)) ?? throw new ApiException(ErrorCode.UnknownRoom, "no such room");
        if (room.View.State.Member(s.UserId) is not { JoinSeq: > 0 } m || m.Membership == Membership.Invite)
        {
            throw new ApiException(ErrorCode.NotMember, "you are not a member of this room");
        }
        return room;
    }

    /// <summary><c>{room}</c> → the room's posting role, pins, effective content rules, retention and the company's edit and delete windows.</summary>
    private Dictionary<string, object?> Settings(AuthenticatedSession s, FieldMap p)
    {
        var room = ReadableRoom(s, p);
        var state = room.View.State;
        var w = state.Workplace;
        var company = policy.Current;
        var hostedHere = Identifiers.ServerOf(room.RoomId) == identity.ServerName;
        return new Dictionary<string, object?>
        {
            ["room_id"] = room.RoomId,
            ["posting_role"] = w.EffectivePostingRole(state.Kind),
            ["pins"] = w.Pins.Select(id => (object?)id.ToArray()).ToList(),
            ["content_rules"] = RulesView(AttachmentRules.Merge(w.Rules, company.Defaults)),
            ["room_retention_days"] = (long)w.RetentionDays,
            // For a room hosted elsewhere its hub decides (and announces what it removed with room.purge).
            ["retention_days"] = hostedHere ? (long)(w.RetentionDays > 0 ? w.RetentionDays : company.RetentionDays) : null,
            ["purged_through"] = w.PurgedThrough,
            ["edit_window_minutes"] = (long?)company.EditWindowMinutes,
            ["delete_window_minutes"] = (long?)company.DeleteWindowMinutes,
        };
    }

    /// <summary>
    /// <c>{room, event, type?, after?, limit?}</c> → <c>{events, next}</c>: the events relating to an event (thread replies,
    /// reactions, edits, votes, results, its redaction), in seq order, that the caller may read.
    /// </summary>
    private Dictionary<string, object?> RelationsOf(AuthenticatedSession s, FieldMap p)
    {
        var room = ReadableRoom(s, p);
        var state = room.View.State;
        var target = EventIdParam(p, "event");
        var type = p.OptionalString("type", Relations.MaxTypeLength);
        var limit = (int)Math.Clamp(p.OptionalInt("limit") ?? 100, 1, Limits.MaxHistoryPage);
        if (store.FindSeq(room.Key, target) is not { } targetSeq || !CanRead(state, s.UserId, targetSeq))
        {
            throw new ApiException(ErrorCode.UnknownEvent, "no such event in this room");
        }
        var result = new List<object?>();
        long? next = null;
        foreach (var (seq, relType) in store.Relations(room.Key, targetSeq, p.OptionalInt("after") ?? 0))
        {
            if ((type is not null && relType != type) || !CanRead(state, s.UserId, seq) || seq > room.View.Head.Seq)
            {
                continue;
            }
            if (result.Count == limit)
            {
                next = seq - 1;
                break;
            }
            if (events.TryGet(room.Key, seq, out var stored))
            {
                result.Add(new RawMsgPack(stored.Wire));
            }
        }
        return new Dictionary<string, object?> { ["room_id"] = room.RoomId, ["events"] = result, ["next"] = next };
    }

    /// <summary><c>{room, poll}</c> → <c>{counts, voters, closed, closes_at, multiple, anonymous, mine}</c>.</summary>
    private Dictionary<string, object?> Results(AuthenticatedSession s, FieldMap p)
    {
        var room = ReadableRoom(s, p);
        var poll = EventIdParam(p, "poll");
        if (store.FindSeq(room.Key, poll) is not { } pollSeq || !CanRead(room.View.State, s.UserId, pollSeq)
            || !events.TryGet(room.Key, pollSeq, out var stored) || EventCodec.Read(stored.Wire) is not { Type: WorkplaceEventTypes.Poll, Content: { } content } pollEvent)
        {
            throw new ApiException(ErrorCode.UnknownEvent, "no such poll in this room");
        }
        var spec = PollSpec.Parse(new FieldMap(MsgPackValue.ReadMap(content)), pollEvent.Timestamp);
        IReadOnlyDictionary<string, object?>? latest = null;
        List<string>? mine = null;
        foreach (var (seq, relType) in store.Relations(room.Key, pollSeq))
        {
            if (!events.TryGet(room.Key, seq, out var rel) || EventCodec.Read(rel.Wire) is not { Content: not null } e)
            {
                continue;
            }
            if (relType == Relations.Results)
            {
                latest = e.ContentMap;
            }
            else if (relType == Relations.Vote && e.Sender == s.UserId)
            {
                mine = new FieldMap(e.ContentMap).OptionalStrings("options")?.ToList();
            }
        }
        if (Identifiers.ServerOf(room.RoomId) == identity.ServerName)
        {
            mine = store.GetVote(room.Key, pollSeq, s.UserId);
        }
        var counts = spec.OptionIds.ToDictionary(id => id, id => (object?)0L, StringComparer.Ordinal);
        if (latest?.GetValueOrDefault("counts") is Dictionary<string, object?> c)
        {
            foreach (var (k, v) in c)
            {
                counts[k] = v;
            }
        }
        return new Dictionary<string, object?>
        {
            ["poll"] = poll.ToArray(),
            ["counts"] = counts,
            ["voters"] = latest?.GetValueOrDefault("voters") as long? ?? 0L,
            ["closed"] = (latest?.GetValueOrDefault("closed") as bool? ?? false) || spec.ClosesAt <= time.GetUtcNow().ToUnixTimeMilliseconds(),
            ["closes_at"] = spec.ClosesAt,
            ["multiple"] = spec.Multiple,
            ["anonymous"] = spec.Anonymous,
            ["mine"] = mine?.Cast<object?>().ToList() ?? [],
        };
    }
}
