using RocksDbSharp;
using TeamComms.Crypto.Keys;

namespace TeamComms.Server.Storage;

/// <summary>
/// One atomic group commit: every put of a batch of appends, from all rooms, goes into one RocksDB
/// <see cref="WriteBatch"/> and one WAL sync. Reused across batches with <see cref="Clear"/>.
/// </summary>
internal sealed partial class StoreBatch(RocksStore store) : IDisposable
{
    private readonly WriteBatch _batch = new();
    private readonly byte[] _eventKey = new byte[KeyCodec.RoomSeqSize];

    public int Count => _batch.Count();

    /// <summary>Room data keys created in this batch (a room's first event); they become current when it commits.</summary>
    internal Dictionary<long, (int Version, SealingKey Key)> PendingKeys { get; } = [];

    /// <summary>Stores an event; the value is sealed with the room's data key unless encryption is off (tests only).</summary>
    public void PutEvent(long roomKey, long seq, byte[] storedValue)
    {
        KeyCodec.RoomSeq(_eventKey, roomKey, seq);
        var value = store.AtRest is { } atRest ? atRest.SealEvent(roomKey, seq, storedValue, this) : storedValue;
        _batch.Put(_eventKey, value, store.Events);
    }

    internal void PutRaw(byte[] key, byte[] value, ColumnFamilyHandle cf) => _batch.Put(key, value, cf);

    public void PutRoom(RoomRecord room)
    {
        _batch.Put(KeyCodec.Long(room.Key), RecordJson.Encode(room), store.Rooms);
        _batch.Put(KeyCodec.Utf8(room.RoomId), KeyCodec.Long(room.Key), store.RoomIds);
    }

    public void PutMember(long roomKey, string userId, MemberRecord member) =>
        _batch.Put(KeyCodec.LongString(roomKey, userId), RecordJson.Encode(member), store.RoomMembers);

    public void PutUserRoom(long userKey, long roomKey, UserRoomRecord record) =>
        _batch.Put(KeyCodec.Pair(userKey, roomKey), RecordJson.Encode(record), store.UserRooms);

    public void PutTransaction(long sessionKey, string txnId, long roomKey, long seq) =>
        _batch.Put(KeyCodec.LongString(sessionKey, txnId), KeyCodec.Pair(roomKey, seq), store.Txns);

    public void PutReadMarker(long userKey, long roomKey, long seq) =>
        _batch.Put(KeyCodec.Pair(userKey, roomKey), KeyCodec.Long(seq), store.ReadMarkers);

    public void PutMetaLong(string key, long value) =>
        _batch.Put(KeyCodec.Utf8(key), KeyCodec.Long(value), store.Meta);

    public void PutMeta(string key, byte[] value) =>
        _batch.Put(KeyCodec.Utf8(key), value, store.Meta);

    /// <summary>Adds rows staged by another store (directory, audit) so they commit with this batch's events.</summary>
    public void Apply(IReadOnlyList<StagedWrite> writes)
    {
        foreach (var write in writes)
        {
            var cf = store.Family(write.Family);
            if (write.Value is null)
            {
                _batch.Delete(write.Key, cf);
            }
            else
            {
                _batch.Put(write.Key, write.Value, cf);
            }
        }
    }

    /// <summary>Writes the batch; throws <see cref="RocksDbException"/> on failure, in which case nothing was written.</summary>
    public void Commit(bool durable = true)
    {
        store.Write(_batch, durable);
        if (PendingKeys.Count > 0)
        {
            store.AtRest?.OnCommitted(PendingKeys);
            PendingKeys.Clear();
        }
    }

    public void Clear()
    {
        _batch.Clear();
        PendingKeys.Clear();
    }

    public void Dispose() => _batch.Dispose();
}
