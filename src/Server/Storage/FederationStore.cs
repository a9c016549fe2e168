using RocksDbSharp;
using TeamComms.Server.Storage.Encryption;

namespace TeamComms.Server.Storage;

/// <summary>
/// Federation state outside the room logs: the partner allowlist, this server's keys, cached remote keys, pending
/// forwarded sends, per-destination outboxes and push cursors, and the nonces of ordered proposals.
/// </summary>
internal sealed class FederationStore(RocksStore store)
{
    // ---- partners ----------------------------------------------------------------------------------------------

    public List<PartnerRecord> Partners()
    {
        var result = new List<PartnerRecord>();
        foreach (var (_, value) in store.ScanPrefix(store.Federation, [KeyCodec.PartnerTag]))
        {
            result.Add(FederationRecordJson.Decode<PartnerRecord>(value));
        }
        return result;
    }

    public void PutPartner(PartnerRecord partner) =>
        store.Put(KeyCodec.Tagged(KeyCodec.PartnerTag, partner.Server), FederationRecordJson.Encode(partner), store.Federation);

    public bool DeletePartner(string server)
    {
        var key = KeyCodec.Tagged(KeyCodec.PartnerTag, server);
        if (!store.HasKey(key, store.Federation))
        {
            return false;
        }
        store.Delete(key, store.Federation);
        return true;
    }

    // ---- keys --------------------------------------------------------------------------------------------------

    /// <summary>
    /// The pseudo-room whose data key seals this server's federation signing-key seeds. Reusing the room data-key
    /// machinery of the at-rest encryption means the seeds are wrapped by the KEK and escrowed like room keys, and
    /// follow KEK rotation and restore without code of their own. No real room gets this key (room keys count up from 1).
    /// </summary>
    public const long SecretsRoomKey = long.MaxValue;

    /// <summary>This server's signing keys, with their seeds opened.</summary>
    public List<OwnKeyRecord> OwnKeys()
    {
        var result = new List<OwnKeyRecord>();
        foreach (var (_, value) in store.ScanPrefix(store.Federation, [KeyCodec.OwnKeyTag]))
        {
            var k = FederationRecordJson.Decode<OwnKeyRecord>(value);
            if (k.Sealed)
            {
                var atRest = store.AtRest ?? throw new InvalidDataException("a federation key is sealed but encryption at rest is off");
                k = k with { Seed = atRest.OpenEvent(SecretsRoomKey, k.ValidFrom, k.Seed), Sealed = false };
            }
            result.Add(k);
        }
        return result;
    }

    /// <summary>Writes keys atomically (a rotation ends the old key and adds the new one in one batch), sealing the seeds.</summary>
    public void PutOwnKeys(IEnumerable<OwnKeyRecord> keys)
    {
        using var batch = new StoreBatch(store);
        foreach (var k in keys)
        {
            var record = store.AtRest is { } atRest
                ? k with { Seed = atRest.SealEvent(SecretsRoomKey, k.ValidFrom, k.Seed, batch), Sealed = true }
                : k with { Sealed = false };
            batch.PutRaw(KeyCodec.Tagged(KeyCodec.OwnKeyTag, k.KeyId), FederationRecordJson.Encode(record), store.Federation);
        }
        batch.Commit();
    }

    /// <summary>
    /// Replaces this server's signing keys by <paramref name="keys"/> (cluster mode: the cluster's shared ring), removing
    /// any other stored key, in one batch.
    /// </summary>
    public void ReplaceOwnKeys(IReadOnlyList<OwnKeyRecord> keys)
    {
        var keep = keys.Select(k => k.KeyId).ToHashSet(StringComparer.Ordinal);
        var stale = new List<byte[]>();
        foreach (var (key, value) in store.ScanPrefix(store.Federation, [KeyCodec.OwnKeyTag]))
        {
            if (!keep.Contains(FederationRecordJson.Decode<OwnKeyRecord>(value).KeyId))
            {
                stale.Add(key);
            }
        }
        foreach (var key in stale)
        {
            store.Delete(key, store.Federation);
        }
        PutOwnKeys(keys);
    }

    /// <summary>True when a stored seed is not sealed although encryption at rest is on (written before it was).</summary>
    public bool HasPlaintextKeys()
    {
        if (store.AtRest is null)
        {
            return false;
        }
        foreach (var (_, value) in store.ScanPrefix(store.Federation, [KeyCodec.OwnKeyTag]))
        {
            if (!FederationRecordJson.Decode<OwnKeyRecord>(value).Sealed)
            {
                return true;
            }
        }
        return false;
    }

    public List<RemoteKeyRecord> RemoteKeys(string server)
    {
        var result = new List<RemoteKeyRecord>();
        foreach (var (_, value) in store.ScanPrefix(store.Federation, KeyCodec.TaggedServerPrefix(KeyCodec.RemoteKeyTag, server)))
        {
            result.Add(FederationRecordJson.Decode<RemoteKeyRecord>(value));
        }
        return result;
    }

    public void PutRemoteKeys(IEnumerable<RemoteKeyRecord> keys)
    {
        using var batch = new WriteBatch();
        foreach (var k in keys)
        {
            batch.Put(KeyCodec.TaggedServerString(KeyCodec.RemoteKeyTag, k.Server, k.KeyId), FederationRecordJson.Encode(k), store.Federation);
        }
        store.Write(batch);
    }

    // ---- pending forwarded sends -------------------------------------------------------------------------------

    public PendingRecord? GetPending(string nonce)
    {
        var value = store.Get(KeyCodec.Tagged(KeyCodec.PendingTag, nonce), store.Federation);
        return value is null ? null : FederationRecordJson.Decode<PendingRecord>(value);
    }

    public string? FindPendingNonce(long sessionKey, string txn)
    {
        var value = store.Get(KeyCodec.TaggedLongString(KeyCodec.PendingTxnTag, sessionKey, txn), store.Federation);
        return value is null ? null : System.Text.Encoding.UTF8.GetString(value);
    }

    /// <summary>Forgets a forwarded send the hub refused (the ordered ones are removed by the sequencer).</summary>
    public void DeletePending(PendingRecord pending)
    {
        using var batch = new WriteBatch();
        batch.Delete(KeyCodec.Tagged(KeyCodec.PendingTag, pending.Nonce), store.Federation);
        if (pending.Txn.Length > 0)
        {
            batch.Delete(KeyCodec.TaggedLongString(KeyCodec.PendingTxnTag, pending.SessionKey, pending.Txn), store.Federation);
        }
        store.Write(batch);
    }

    public int PendingCount()
    {
        var n = 0;
        foreach (var _ in store.ScanPrefix(store.Federation, [KeyCodec.PendingTag]))
        {
            n++;
        }
        return n;
    }

    // ---- backfills ----------------------------------------------------------------------------------------------

    /// <summary>Follower rooms whose history content is still to be fetched: (roomKey, from, to).</summary>
    public List<(long RoomKey, long From, long To)> Backfills()
    {
        var result = new List<(long, long, long)>();
        foreach (var (key, value) in store.ScanPrefix(store.Federation, [KeyCodec.BackfillTag]))
        {
            result.Add((KeyCodec.ReadLong(key.AsSpan(1)), KeyCodec.ReadLong(value), KeyCodec.ReadLong(value.AsSpan(8))));
        }
        return result;
    }

    /// <summary>Records backfill progress (<paramref name="from"/> moves up), or removes the row when done.</summary>
    public void UpdateBackfill(long roomKey, long from, long to)
    {
        var key = KeyCodec.TaggedLong(KeyCodec.BackfillTag, roomKey);
        if (from > to)
        {
            store.Delete(key, store.Federation);
        }
        else
        {
            store.Put(key, KeyCodec.Pair(from, to), store.Federation);
        }
    }

    // ---- outboxes ----------------------------------------------------------------------------------------------

    /// <summary>The first <paramref name="limit"/> outbox entries of a destination, in order.</summary>
    public List<(long Seq, byte[] Entry)> ReadOutbox(string destination, int limit)
    {
        var result = new List<(long, byte[])>();
        using var it = store.PrefixIterator(store.FedOutbox, KeyCodec.ServerPrefix(destination));
        for (it.SeekToFirst(); it.Valid() && result.Count < limit; it.Next())
        {
            var value = it.Value();
            if (store.AtRest is { } atRest)
            {
                // Entries written before outbox sealing (format 4 and older) are read as they are: they are transient.
                value = AtRestEncryption.IsSealedOutboxEntry(value) ? atRest.OpenOutboxEntry(it.GetKeySpan(), value) : value;
            }
            result.Add((KeyCodec.ParseServerLong(it.GetKeySpan()).Value, value));
        }
        return result;
    }

    /// <summary>Highest outbox seq used for a destination (0 for none).</summary>
    public long LastOutboxSeq(string destination)
    {
        using var it = store.PrefixIterator(store.FedOutbox, KeyCodec.ServerPrefix(destination));
        it.SeekToLast();
        return it.Valid() ? KeyCodec.ParseServerLong(it.GetKeySpan()).Value : 0;
    }

    public int OutboxCount(string destination)
    {
        var n = 0;
        using var it = store.PrefixIterator(store.FedOutbox, KeyCodec.ServerPrefix(destination));
        for (it.SeekToFirst(); it.Valid(); it.Next())
        {
            n++;
        }
        return n;
    }

    /// <summary>Every destination with outbox entries.</summary>
    public HashSet<string> OutboxDestinations()
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        using var it = store.Db.NewIterator(store.FedOutbox);
        for (it.SeekToFirst(); it.Valid(); it.Next())
        {
            var server = KeyCodec.ParseServerLong(it.GetKeySpan()).Server;
            result.Add(server);
            it.Seek(KeyCodec.PrefixUpperBound(KeyCodec.ServerPrefix(server)));
            if (!it.Valid())
            {
                break;
            }
            result.Add(KeyCodec.ParseServerLong(it.GetKeySpan()).Server);
        }
        return result;
    }

    /// <summary>Removes delivered entries, through <paramref name="upToSeq"/> inclusive, durably.</summary>
    public void DeleteOutbox(string destination, long upToSeq)
    {
        using var batch = new WriteBatch();
        var from = KeyCodec.ServerLong(destination, 0);
        var to = KeyCodec.ServerLong(destination, upToSeq + 1);
        batch.DeleteRange(from, (ulong)from.Length, to, (ulong)to.Length, store.FedOutbox);
        store.Write(batch);
    }

    // ---- push cursors ------------------------------------------------------------------------------------------

    public long? GetCursor(string destination, long roomKey)
    {
        var value = store.Get(KeyCodec.ServerLong(destination, roomKey), store.FedCursors);
        return value is null ? null : KeyCodec.ReadLong(value);
    }

    public void PutCursor(string destination, long roomKey, long seq) =>
        store.Put(KeyCodec.ServerLong(destination, roomKey), KeyCodec.Long(seq), store.FedCursors);

    public List<(string Destination, long RoomKey, long Seq)> AllCursors()
    {
        var result = new List<(string, long, long)>();
        using var it = store.Db.NewIterator(store.FedCursors);
        for (it.SeekToFirst(); it.Valid(); it.Next())
        {
            var (server, roomKey) = KeyCodec.ParseServerLong(it.GetKeySpan());
            result.Add((server, roomKey, KeyCodec.ReadLong(it.GetValueSpan())));
        }
        return result;
    }

    // ---- nonces ------------------------------------------------------------------------------------------------

    public (long RoomKey, long Seq)? FindNonce(string origin, string nonce)
    {
        var value = store.Get(KeyCodec.ServerString(origin, nonce), store.FedNonces);
        return value is null ? null : (KeyCodec.ReadLong(value), KeyCodec.ReadLong(value.AsSpan(8)));
    }
}
