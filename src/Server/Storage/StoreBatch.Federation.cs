namespace TeamComms.Server.Storage;

/// <summary>Federation rows written by the sequencer in the same atomic batch as the events they belong to.</summary>
internal sealed partial class StoreBatch
{
    /// <summary>
    /// A proposal to the hub <paramref name="destination"/>, in the durable outbox, sealed with the data key of the
    /// room (<paramref name="roomKey"/>) it is for: it carries message content.
    /// </summary>
    public void PutOutbox(string destination, long seq, long roomKey, byte[] entry)
    {
        var key = KeyCodec.ServerLong(destination, seq);
        var value = store.AtRest is { } atRest ? atRest.SealOutboxEntry(roomKey, key, entry, this) : entry;
        _batch.Put(key, value, store.FedOutbox);
    }

    /// <summary>Removes a destination's delivered outbox entries, through <paramref name="upToSeq"/> inclusive (cluster mode: applied by every node).</summary>
    public void DeleteOutbox(string destination, long upToSeq)
    {
        var from = KeyCodec.ServerLong(destination, 0);
        var to = KeyCodec.ServerLong(destination, upToSeq + 1);
        _batch.DeleteRange(from, (ulong)from.Length, to, (ulong)to.Length, store.FedOutbox);
    }

    /// <summary>A forwarded send waiting for its hub, and its transaction-id index.</summary>
    public void PutPending(PendingRecord pending)
    {
        _batch.Put(KeyCodec.Tagged(KeyCodec.PendingTag, pending.Nonce), FederationRecordJson.Encode(pending), store.Federation);
        if (pending.Txn.Length > 0)
        {
            _batch.Put(KeyCodec.TaggedLongString(KeyCodec.PendingTxnTag, pending.SessionKey, pending.Txn), KeyCodec.Utf8(pending.Nonce), store.Federation);
        }
    }

    public void DeletePending(PendingRecord pending)
    {
        _batch.Delete(KeyCodec.Tagged(KeyCodec.PendingTag, pending.Nonce), store.Federation);
        if (pending.Txn.Length > 0)
        {
            _batch.Delete(KeyCodec.TaggedLongString(KeyCodec.PendingTxnTag, pending.SessionKey, pending.Txn), store.Federation);
        }
    }

    /// <summary>The hub ordered <paramref name="origin"/>'s proposal <paramref name="nonce"/> at (room, seq).</summary>
    public void PutNonce(string origin, string nonce, long roomKey, long seq) =>
        _batch.Put(KeyCodec.ServerString(origin, nonce), KeyCodec.Pair(roomKey, seq), store.FedNonces);

    /// <summary>Starts pushing a hub room to a server that now participates in it.</summary>
    public void PutCursor(string destination, long roomKey, long seq) =>
        _batch.Put(KeyCodec.ServerLong(destination, roomKey), KeyCodec.Long(seq), store.FedCursors);

    /// <summary>Content to fetch for a follower room's history: <c>federation['b' ‖ roomKey]</c> → from ‖ to.</summary>
    public void PutBackfill(long roomKey, long from, long to) =>
        _batch.Put(KeyCodec.TaggedLong(KeyCodec.BackfillTag, roomKey), KeyCodec.Pair(from, to), store.Federation);
}
