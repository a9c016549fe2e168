using RocksDbSharp;

namespace TeamComms.Server.Storage;

/// <summary>The audit log's rows: entries by seq and signed heads by seq.</summary>
internal sealed class AuditStore(RocksStore store)
{
    public const string EntriesFamily = "audit";
    public const string HeadsFamily = "audit_heads";

    public AuditRecord? Last()
    {
        using var it = store.Db.NewIterator(store.Family(EntriesFamily));
        it.SeekToLast();
        return it.Valid() ? DirectoryJson.Decode<AuditRecord>(it.GetValueSpan()) : null;
    }

    public AuditRecord? Get(long seq)
    {
        var value = store.Get(KeyCodec.Long(seq), store.Family(EntriesFamily));
        return value is null ? null : DirectoryJson.Decode<AuditRecord>(value);
    }

    /// <summary>Entries from <paramref name="fromSeq"/> upward (or downward when not <paramref name="forward"/>).</summary>
    public IEnumerable<AuditRecord> Scan(long fromSeq, bool forward)
    {
        using var it = store.Db.NewIterator(store.Family(EntriesFamily));
        if (forward)
        {
            for (it.Seek(KeyCodec.Long(Math.Max(fromSeq, 0))); it.Valid(); it.Next())
            {
                yield return DirectoryJson.Decode<AuditRecord>(it.GetValueSpan());
            }
        }
        else
        {
            it.SeekForPrev(KeyCodec.Long(fromSeq));
            for (; it.Valid(); it.Prev())
            {
                yield return DirectoryJson.Decode<AuditRecord>(it.GetValueSpan());
            }
        }
    }

    /// <summary>Every entry row as stored (seq from the key, raw value), for verification that must survive garbage rows.</summary>
    public IEnumerable<(long Seq, byte[] Value)> ScanRaw()
    {
        foreach (var (key, value) in store.ScanPrefix(store.Family(EntriesFamily), []))
        {
            yield return (KeyCodec.ReadLong(key), value);
        }
    }

    public static StagedWrite StagePut(AuditRecord record) =>
        StagedWrite.Put(EntriesFamily, KeyCodec.Long(record.Seq), DirectoryJson.Encode(record));

    public void PutHead(AuditHeadRecord head) =>
        store.Put(KeyCodec.Long(head.Seq), DirectoryJson.Encode(head), store.Family(HeadsFamily));

    public List<AuditHeadRecord> Heads()
    {
        var result = new List<AuditHeadRecord>();
        foreach (var (_, value) in store.ScanPrefix(store.Family(HeadsFamily), []))
        {
            result.Add(DirectoryJson.Decode<AuditHeadRecord>(value));
        }
        return result;
    }

    public AuditHeadRecord? LastHead()
    {
        using var it = store.Db.NewIterator(store.Family(HeadsFamily));
        it.SeekToLast();
        return it.Valid() ? DirectoryJson.Decode<AuditHeadRecord>(it.GetValueSpan()) : null;
    }

    /// <summary>The position up to which entries were streamed to the company's log collector.</summary>
    public long StreamedSeq(string sink) =>
        store.Get(KeyCodec.Utf8("audit_streamed:" + sink), store.Meta) is { } v ? KeyCodec.ReadLong(v) : 0;

    public void SetStreamedSeq(string sink, long seq) =>
        store.Put(KeyCodec.Utf8("audit_streamed:" + sink), KeyCodec.Long(seq), store.Meta, durable: false);

    /// <summary>Writes rows atomically and durably.</summary>
    public void Write(IReadOnlyList<StagedWrite> writes)
    {
        using var batch = new WriteBatch();
        foreach (var write in writes)
        {
            var cf = store.Family(write.Family);
            if (write.Value is null)
            {
                batch.Delete(write.Key, cf);
            }
            else
            {
                batch.Put(write.Key, write.Value, cf);
            }
        }
        store.Write(batch);
    }

    /// <summary>Test and tooling access: overwrite or remove a raw entry (used to prove that tampering is detected).</summary>
    internal void PutRaw(long seq, byte[]? value)
    {
        if (value is null)
        {
            store.Delete(KeyCodec.Long(seq), store.Family(EntriesFamily));
        }
        else
        {
            store.Put(KeyCodec.Long(seq), value, store.Family(EntriesFamily));
        }
    }
}
