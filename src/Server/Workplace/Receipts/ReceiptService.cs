using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Accounts;
using TeamComms.Server.Hosting;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;
using TeamComms.Server.Workplace.Notifications;

namespace TeamComms.Server.Workplace.Receipts;

/// <summary>
/// "Read by N of M" for one message, computed from two positions per member and nothing stored per message: a member
/// has <b>read</b> it when their read marker in the room is at or past its seq, and it is <b>delivered</b> when one of
/// their devices confirmed a stream position (Received) at or past the event's position. Only the sender and the room's
/// moderators and owners may ask. A member's read state is hidden when they chose to hide read receipts, except in
/// announcement rooms and for urgent alerts, where the company policy decides (show or hide for everyone).
/// </summary>
internal sealed class ReceiptService(RoomRegistry rooms, RoomStore roomStore, EventStore events, AccountStore accounts,
    AttentionService attention, AttentionPolicy policy, ServerIdentity identity)
{
    /// <summary>One member's positions against one event.</summary>
    public readonly record struct MemberReceipt(string UserId, long UserKey, bool Read, bool Delivered, bool ReadHidden);

    /// <summary><c>receipts.get {room, seq}</c>.</summary>
    public Dictionary<string, object?> Get(AuthenticatedSession s, string roomId, long seq)
    {
        var room = rooms.Find(roomId) ?? throw new ApiException(ErrorCode.UnknownRoom, "no such room");
        var state = room.View.State;
        if (!state.IsJoined(s.UserId))
        {
            throw new ApiException(ErrorCode.NotMember, "you are not a member of this room");
        }
        if (seq < 1 || seq > room.View.Head.Seq || !events.TryGet(room.Key, seq, out var stored))
        {
            throw new ApiException(ErrorCode.NotFound, $"no event {seq} in this room");
        }
        var ev = EventCodec.Read(stored.Wire);
        if (ev.Sender != s.UserId && RoomRoles.Rank(state.RoleOf(s.UserId)) < RoomRoles.Rank(RoomRoles.Moderator))
        {
            throw new ApiException(ErrorCode.Forbidden, "only the sender and the room's moderators see who read a message");
        }
        var receipts = Compute(room, ev.Sender, seq, stored.Pos, IsUrgent(ev));
        var read = receipts.Where(r => r.Read && !r.ReadHidden).Select(r => r.UserId).ToList();
        var hidden = receipts.Where(r => r.ReadHidden).Select(r => r.UserId).ToList();
        var notRead = receipts.Where(r => !r.Read && !r.ReadHidden).Select(r => r.UserId).ToList();
        var delivered = receipts.Count(r => r.Delivered);
        return new Dictionary<string, object?>
        {
            ["room_id"] = room.RoomId,
            ["seq"] = seq,
            ["event_id"] = ev.Id.ToArray(),
            ["sender"] = ev.Sender,
            ["total"] = (long)receipts.Count,
            ["read"] = (long)read.Count,
            ["delivered"] = (long)delivered,
            ["not_read"] = notRead.Cast<object?>().ToList(),
            ["not_delivered"] = receipts.Where(r => !r.Delivered).Select(r => (object?)r.UserId).ToList(),
            ["hidden"] = hidden.Cast<object?>().ToList(),
        };
    }

    /// <summary>
    /// The receipts of the event at <paramref name="seq"/> (position <paramref name="pos"/>): one per local member who was
    /// joined when it was sent and still is, other than the sender.
    /// </summary>
    public List<MemberReceipt> Compute(Room room, string sender, long seq, long pos, bool urgent)
    {
        var state = room.View.State;
        var mode = ReadPolicy(state, urgent);
        var result = new List<MemberReceipt>();
        foreach (var (userId, member) in state.Members)
        {
            if (member.Membership != Membership.Join || member.JoinSeq > seq || userId == sender
                || Identifiers.ServerOf(userId) != identity.ServerName || accounts.FindUserKey(userId) is not { } userKey)
            {
                continue;
            }
            var read = (roomStore.ReadMarker(userKey, room.Key) ?? 0) >= seq;
            var delivered = read || DeliveredPosition(userKey) >= pos;
            var hiddenRead = mode switch
            {
                AttentionPolicy.Show => false,
                AttentionPolicy.Hide => true,
                _ => attention.HidesReadReceipts(userKey),
            };
            result.Add(new MemberReceipt(userId, userKey, read, delivered, hiddenRead));
        }
        result.Sort((a, b) => string.CompareOrdinal(a.UserId, b.UserId));
        return result;
    }

    /// <summary>How read state is shown in this room: the policy's <c>show</c>/<c>hide</c>, or null for each reader's own setting.</summary>
    public string? ReadPolicy(RoomState state, bool urgent)
    {
        var p = policy.Current;
        if (urgent)
        {
            return p.UrgentReadReceipts;
        }
        return state.Kind == RoomKinds.Announcement ? p.AnnouncementReadReceipts : null;
    }

    /// <summary>The person's read marker in a room (0 when none).</summary>
    public long ReadMarker(long userKey, long roomKey) => roomStore.ReadMarker(userKey, roomKey) ?? 0;

    /// <summary>The highest stream position any of the person's devices confirmed.</summary>
    public long DeliveredPosition(long userKey)
    {
        long max = 0;
        foreach (var session in accounts.UserSessions(userKey))
        {
            if (accounts.GetCursor(session.Key) is { } cursor && cursor > max)
            {
                max = cursor;
            }
        }
        return max;
    }

    private static bool IsUrgent(RoomEvent ev)
    {
        // Only the server sets the flag (Sends carrying it are refused), so the content can be trusted here.
        if (ev.Content is not { } content || !AttentionEventTypes.CarriesAck(content))
        {
            return false;
        }
        return MsgPackValue.ReadMap(content).TryGetValue(AttentionEventTypes.AckField, out var ack)
            && ack is Dictionary<string, object?> flag && flag.TryGetValue("urgent", out var u) && u is true;
    }
}
