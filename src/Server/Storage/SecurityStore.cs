using RocksDbSharp;

namespace TeamComms.Server.Storage;

/// <summary>
/// Rows of the <c>security</c> column family: approval requests and compliance officers' export recipients
/// (layout in <c>KeyCodec.Security.cs</c>). Changes are staged so that they commit in one write with their audit
/// entries.
/// </summary>
internal sealed class SecurityStore(RocksStore store)
{
    public const string Family = "security";

    private ColumnFamilyHandle Cf => store.Family(Family);

    public ApprovalRecord? GetApproval(long id) =>
        store.Get(KeyCodec.ApprovalKey(id), Cf) is { } v ? SecurityJson.Decode<ApprovalRecord>(v) : null;

    /// <summary>Every approval request, newest first.</summary>
    public IEnumerable<ApprovalRecord> Approvals()
    {
        using var it = store.Db.NewIterator(Cf, new ReadOptions()
            .SetIterateLowerBound([KeyCodec.SecurityApproval])
            .SetIterateUpperBound([KeyCodec.SecurityApproval + 1]));
        for (it.SeekToLast(); it.Valid(); it.Prev())
        {
            yield return SecurityJson.Decode<ApprovalRecord>(it.GetValueSpan());
        }
    }

    /// <summary>The last request id handed out (0 when none).</summary>
    public long LastApprovalId() => store.Get([KeyCodec.SecurityCounter], Cf) is { } v ? KeyCodec.ReadLong(v) : 0;

    public static StagedWrite StageApproval(ApprovalRecord record) => StagedWrite.Put(Family, KeyCodec.ApprovalKey(record.Id), SecurityJson.Encode(record));

    public static StagedWrite StageLastApprovalId(long id) => StagedWrite.Put(Family, [KeyCodec.SecurityCounter], KeyCodec.Long(id));

    public ExportRecipientRecord? GetExportRecipient(string userId) =>
        store.Get(KeyCodec.ExportRecipientKey(userId), Cf) is { } v ? SecurityJson.Decode<ExportRecipientRecord>(v) : null;

    public static StagedWrite StageExportRecipient(ExportRecipientRecord record) =>
        StagedWrite.Put(Family, KeyCodec.ExportRecipientKey(record.UserId), SecurityJson.Encode(record));

    public static StagedWrite StageRemoveExportRecipient(string userId) => StagedWrite.Delete(Family, KeyCodec.ExportRecipientKey(userId));

    /// <summary>Writes rows (of any column family) atomically and durably.</summary>
    public void Write(IEnumerable<StagedWrite> writes)
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
}
