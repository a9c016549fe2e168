using TeamComms.Protocol.Events;

namespace TeamComms.Client;

/// <summary>A room as listed by <c>rooms.list</c>, with the caller's unread count.</summary>
public sealed record RoomSummary(string RoomId, string Name, string Topic, string Kind, string Membership, string Role,
    long HeadSeq, long ReadSeq, long Unread, long JoinedCount, bool Archived)
{
    internal static RoomSummary From(IReadOnlyDictionary<string, object?> m) => new(
        (string)m["room_id"]!, (string)m["name"]!, (string)m["topic"]!, (string)m["kind"]!, (string)m["membership"]!,
        (string)m["role"]!, (long)m["head_seq"]!, (long)m["read_seq"]!, (long)m["unread"]!, (long)m["joined_count"]!, (bool)m["archived"]!);
}

/// <summary>A page of history and the seq to continue from (null at the end).</summary>
public sealed record HistoryPage(IReadOnlyList<RoomEvent> Events, long? Next);
