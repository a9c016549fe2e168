using TeamComms.Protocol.Events;

namespace TeamComms.Server.Rooms;

/// <summary>An event whose content was removed; its id and place in the chain stay.</summary>
internal sealed record RemovedContent(long RoomKey, string RoomId, long Seq, EventId Id, string Type, string Sender);

/// <summary>
/// Told, after the batch is durable, which events' content was removed (redaction, retention, a hub's purge), so that
/// features keeping state about an event (reminders of a message that requires acknowledgement, for example) can
/// stop. Register implementations in DI; they run on the sequencer's after-commit path and must return quickly.
/// </summary>
internal interface IContentRemovalListener
{
    void OnContentRemoved(IReadOnlyList<RemovedContent> removed);
}
