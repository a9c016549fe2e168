using System.Runtime.CompilerServices;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Rooms;

namespace TeamComms.Server.Federation;

/// <summary>One other server's place in a room, derived from the room's state.</summary>
/// <param name="Participates">It has a member who is joined or invited: it receives the room's events.</param>
/// <param name="LastMembershipSeq">The seq of the latest membership event of any of its users (for a server that left: the leave).</param>
/// <param name="Visible">Seq ranges whose content its users may read (history visibility applied per user).</param>
internal sealed record ServerInRoom(bool Participates, long LastMembershipSeq, (long From, long To)[] Visible)
{
    /// <summary>
    /// True when this server may receive the content of the event at <paramref name="seq"/>. State events are always
    /// shared with participating servers (they need them to know the room's members and settings); other content only
    /// within what one of its users could read through history. An event sent without content keeps its id, so the
    /// chain still verifies.
    /// </summary>
    public bool ContentVisible(long seq, string type) => type.StartsWith("room.", StringComparison.Ordinal) || ContentVisible(seq);

    /// <summary>True when the content of any event at <paramref name="seq"/> is visible to this server.</summary>
    public bool ContentVisible(long seq)
    {
        foreach (var (from, to) in Visible)
        {
            if (seq >= from && seq <= to)
            {
                return true;
            }
        }
        return false;
    }
}

/// <summary>Which other servers have users in a room, cached per immutable <see cref="RoomState"/>.</summary>
internal static class RoomParticipation
{
    private static readonly ConditionalWeakTable<RoomState, Dictionary<string, ServerInRoom>> s_cache = [];

    /// <summary>Every server other than <paramref name="self"/> with a member row in the room.</summary>
    public static IReadOnlyDictionary<string, ServerInRoom> Servers(RoomState state, string self) =>
        s_cache.GetValue(state, s => Compute(s, self));

    private static Dictionary<string, ServerInRoom> Compute(RoomState state, string self)
    {
        var acc = new Dictionary<string, (bool Participates, long Last, List<(long, long)> Visible)>(StringComparer.Ordinal);
        var full = state.HistoryVisibility == HistoryVisibilities.Full;
        foreach (var (userId, m) in state.Members)
        {
            var server = Identifiers.ServerOf(userId);
            if (server == self)
            {
                continue;
            }
            if (!acc.TryGetValue(server, out var a))
            {
                a = (false, 0, []);
            }
            a.Participates |= m.Membership is Membership.Join or Membership.Invite;
            a.Last = Math.Max(a.Last, m.Seq);
            if (m.JoinSeq > 0 && m.Membership is Membership.Join or Membership.Leave)
            {
                a.Visible.Add((full ? 1 : m.JoinSeq, m.Membership == Membership.Join ? long.MaxValue : m.Seq));
            }
            acc[server] = a;
        }
        return acc.ToDictionary(kv => kv.Key, kv => new ServerInRoom(kv.Value.Participates, kv.Value.Last, [.. kv.Value.Visible]), StringComparer.Ordinal);
    }

    /// <summary>The event's wire form without its content (content nil), keeping the origin signature: same id, same chain.</summary>
    public static byte[] StripContent(ReadOnlyMemory<byte> wire)
    {
        var e = EventCodec.Read(wire);
        if (e.Content is null)
        {
            return wire.ToArray();
        }
        return EventCodec.ToBytes(new RoomEvent
        {
            Version = e.Version,
            Id = e.Id,
            RoomId = e.RoomId,
            Seq = e.Seq,
            Prev = e.Prev,
            Sender = e.Sender,
            Type = e.Type,
            Timestamp = e.Timestamp,
            ContentHash = e.ContentHash,
            Content = null,
            Origin = e.Origin,
        });
    }
}
