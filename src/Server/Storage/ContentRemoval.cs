using TeamComms.Protocol.Events;

namespace TeamComms.Server.Storage;

/// <summary>
/// Removes an event's content while keeping everything its id covers: protocol.md §6.3 defines the id over the content
/// hash, so an event with content nil still has the same id and its place in the chain.
/// </summary>
internal static class ContentRemoval
{
    /// <summary>The stored value of <paramref name="stored"/> with its content removed (same position and unread count).</summary>
    public static byte[] Strip(StoredEvent stored)
    {
        var e = EventCodec.Read(stored.Wire);
        var wire = e.Content is null ? stored.Wire.ToArray() : EventCodec.ToBytes(new RoomEvent
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
        return StoredEvent.Build(stored.Pos, wire, stored.MessageCount, out _);
    }
}
