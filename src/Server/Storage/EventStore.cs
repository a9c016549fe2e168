using RocksDbSharp;

namespace TeamComms.Server.Storage;

/// <summary>
/// Reads room logs: events by <c>roomKey ‖ seq</c>, heads, ranges, and position searches. Values are decrypted here
/// (see <see cref="Encryption.AtRestEncryption"/>); callers see the plaintext stored record.
/// </summary>
internal sealed class EventStore(RocksStore store)
{
    private byte[] Open(long roomKey, long seq, byte[] value) => store.AtRest is { } atRest ? atRest.OpenEvent(roomKey, seq, value) : value;

    public bool TryGet(long roomKey, long seq, out StoredEvent stored)
    {
        Span<byte> key = stackalloc byte[KeyCodec.RoomSeqSize];
        KeyCodec.RoomSeq(key, roomKey, seq);
        var value = store.Get(key, store.Events);
        stored = value is null ? default : new StoredEvent(seq, Open(roomKey, seq, value));
        return value is not null;
    }

    /// <summary>The last event of a room, or false for a room with no events.</summary>
    public bool TryGetHead(long roomKey, out StoredEvent head)
    {
        using var it = store.PrefixIterator(store.Events, KeyCodec.Long(roomKey));
        it.SeekToLast();
        if (!it.Valid())
        {
            head = default;
            return false;
        }
        var (_, seq) = KeyCodec.ParseRoomSeq(it.GetKeySpan());
        head = new StoredEvent(seq, Open(roomKey, seq, it.Value()));
        return true;
    }

    /// <summary>
    /// Events of a room from <paramref name="fromSeq"/> towards <paramref name="toSeq"/> (both inclusive), at most
    /// <paramref name="limit"/>, ascending when <paramref name="forward"/>, else descending.
    /// </summary>
    public List<StoredEvent> ReadRange(long roomKey, long fromSeq, long toSeq, bool forward, int limit)
    {
        var result = new List<StoredEvent>(Math.Min(limit, 256));
        if (limit <= 0)
        {
            return result;
        }
        var lo = forward ? fromSeq : toSeq;
        var hi = forward ? toSeq : fromSeq;
        if (lo > hi || hi < 1)
        {
            return result;
        }
        lo = Math.Max(lo, 1);
        var readOptions = new ReadOptions()
            .SetIterateLowerBound(KeyCodec.RoomSeq(roomKey, lo))
            .SetIterateUpperBound(KeyCodec.RoomSeq(roomKey, hi == long.MaxValue ? hi : hi + 1));
        using var it = store.Db.NewIterator(store.Events, readOptions);
        if (forward)
        {
            for (it.SeekToFirst(); it.Valid() && result.Count < limit; it.Next())
            {
                var seq = KeyCodec.ParseRoomSeq(it.GetKeySpan()).Seq;
                result.Add(new StoredEvent(seq, Open(roomKey, seq, it.Value())));
            }
        }
        else
        {
            for (it.SeekToLast(); it.Valid() && result.Count < limit; it.Prev())
            {
                var seq = KeyCodec.ParseRoomSeq(it.GetKeySpan()).Seq;
                result.Add(new StoredEvent(seq, Open(roomKey, seq, it.Value())));
            }
        }
        return result;
    }

    /// <summary>
    /// The smallest seq in [1, headSeq] whose stream position is greater than <paramref name="pos"/>, or
    /// headSeq + 1 when there is none. Positions grow with seq, so this is a binary search of point reads.
    /// </summary>
    public long FirstSeqAfterPos(long roomKey, long headSeq, long pos)
    {
        long lo = 1, hi = headSeq + 1;
        while (lo < hi)
        {
            var mid = lo + ((hi - lo) / 2);
            if (!TryGet(roomKey, mid, out var e))
            {
                throw new InvalidDataException($"room {roomKey} has no event at seq {mid} below its head {headSeq}");
            }
            if (e.Pos > pos)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }
        return lo;
    }
}
