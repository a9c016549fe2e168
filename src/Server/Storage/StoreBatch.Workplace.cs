using TeamComms.Protocol.Events;

namespace TeamComms.Server.Storage;

/// <summary>Workplace rows written by the sequencer in the same atomic batch as the events they belong to.</summary>
internal sealed partial class StoreBatch
{
    public void PutEventId(long roomKey, EventId id, long seq) =>
        _batch.Put(KeyCodec.RoomEventId(roomKey, id), KeyCodec.Long(seq), store.EventIds);

    public void PutRelation(long roomKey, long targetSeq, long seq, string type) =>
        _batch.Put(KeyCodec.Relation(roomKey, targetSeq, seq), KeyCodec.Utf8(type), store.Relations);

    public void DeleteRelation(long roomKey, long targetSeq, long seq) =>
        _batch.Delete(KeyCodec.Relation(roomKey, targetSeq, seq), store.Relations);

    public void PutWorkplace(byte[] key, byte[] value) => _batch.Put(key, value, store.Workplace);

    public void DeleteWorkplace(byte[] key) => _batch.Delete(key, store.Workplace);

    public void PutAttachmentRow(byte[] key, byte[] value) => _batch.Put(key, value, store.Attachments);

    public void DeleteAttachmentRow(byte[] key) => _batch.Delete(key, store.Attachments);

    /// <summary>
    /// Content removal, the storage primitive behind redaction and retention: rewrites the stored event with its content
    /// nil, keeping its id, content hash, origin signature, stream position and unread count, so the hash chain still
    /// verifies. The old value leaves the disk at the next <see cref="RocksStore.CompactRemovedContent"/>.
    /// </summary>
    public void RemoveContent(long roomKey, StoredEvent stored) =>
        PutEvent(roomKey, stored.Seq, ContentRemoval.Strip(stored));

    /// <summary>Keeps the sealed original of an event whose content is being removed under a legal hold.</summary>
    public void PreserveHeld(long roomKey, long seq, byte[] sealedValue) =>
        _batch.Put(KeyCodec.RoomSeq(roomKey, seq), sealedValue, store.HeldEvents);

    public void DeleteHeld(long roomKey, long seq) => _batch.Delete(KeyCodec.RoomSeq(roomKey, seq), store.HeldEvents);
}
