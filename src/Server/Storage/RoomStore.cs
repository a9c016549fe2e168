namespace TeamComms.Server.Storage;

/// <summary>Reads room metadata, members and the per-user membership index.</summary>
internal sealed class RoomStore(RocksStore store)
{
    public long? FindRoomKey(string roomId)
    {
        var value = store.Get(KeyCodec.Utf8(roomId), store.RoomIds);
        return value is null ? null : KeyCodec.ReadLong(value);
    }

    /// <summary>Every room's record, in key order (admin and compliance listings).</summary>
    public IEnumerable<RoomRecord> AllRooms()
    {
        foreach (var (_, value) in store.ScanPrefix(store.Rooms, []))
        {
            yield return RecordJson.Decode<RoomRecord>(value);
        }
    }

    public RoomRecord? GetRoom(long roomKey)
    {
        var value = store.Get(KeyCodec.Long(roomKey), store.Rooms);
        return value is null ? null : RecordJson.Decode<RoomRecord>(value);
    }

    public IEnumerable<(string UserId, MemberRecord Member)> Members(long roomKey)
    {
        foreach (var (key, value) in store.ScanPrefix(store.RoomMembers, KeyCodec.Long(roomKey)))
        {
            yield return (System.Text.Encoding.UTF8.GetString(key.AsSpan(8)), RecordJson.Decode<MemberRecord>(value));
        }
    }

    /// <summary>Every room a user has a membership row in (join, invite or leave), with the row.</summary>
    public List<(long RoomKey, UserRoomRecord Record)> UserRooms(long userKey)
    {
        var result = new List<(long, UserRoomRecord)>();
        foreach (var (key, value) in store.ScanPrefix(store.UserRooms, KeyCodec.Long(userKey)))
        {
            result.Add((KeyCodec.ReadLong(key.AsSpan(8)), RecordJson.Decode<UserRoomRecord>(value)));
        }
        return result;
    }

    public long? ReadMarker(long userKey, long roomKey)
    {
        var value = store.Get(KeyCodec.Pair(userKey, roomKey), store.ReadMarkers);
        return value is null ? null : KeyCodec.ReadLong(value);
    }

    /// <summary>The (roomKey, seq) recorded for a session's transaction id, if any.</summary>
    public (long RoomKey, long Seq)? FindTransaction(long sessionKey, string txnId)
    {
        var value = store.Get(KeyCodec.LongString(sessionKey, txnId), store.Txns);
        return value is null ? null : (KeyCodec.ReadLong(value), KeyCodec.ReadLong(value.AsSpan(8)));
    }

    public long GetMetaLong(string key, long fallback = 0)
    {
        var value = store.Get(KeyCodec.Utf8(key), store.Meta);
        return value is null ? fallback : KeyCodec.ReadLong(value);
    }

    public byte[]? GetMeta(string key) => store.Get(KeyCodec.Utf8(key), store.Meta);
}
