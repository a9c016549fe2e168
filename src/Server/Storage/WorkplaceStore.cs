namespace TeamComms.Server.Storage;

/// <summary>
/// The rows of the workplace features in the <c>workplace</c> column family (layouts in <c>KeyCodec.Workplace.cs</c>).
/// Rows that must commit with a room event (an alert and its recipients, an incident) are returned as
/// <see cref="StagedWrite"/>s for the room log's batch; settings and acknowledgement progress are written directly.
/// </summary>
internal sealed class WorkplaceStore(RocksStore store)
{
    public const string Family = "workplace";
    private readonly Lock _counterLock = new();

    private RocksDbSharp.ColumnFamilyHandle Cf => store.Family(Family);

    // ---- policy ---------------------------------------------------------------------------------------------------

    public WorkplacePolicyRecord? GetPolicy() => Get<WorkplacePolicyRecord>(KeyCodec.Tag(KeyCodec.WorkplacePolicy));

    public void PutPolicy(WorkplacePolicyRecord policy) => Put(KeyCodec.Tag(KeyCodec.WorkplacePolicy), policy);

    public static StagedWrite StagePolicy(WorkplacePolicyRecord policy) =>
        StagedWrite.Put(Family, KeyCodec.Tag(KeyCodec.WorkplacePolicy), WorkplaceJson.Encode(policy));

    // ---- notification settings ------------------------------------------------------------------------------------

    public AttentionRecord? GetAttention(long userKey) => Get<AttentionRecord>(KeyCodec.Tagged(KeyCodec.WorkplaceAttention, userKey));

    public void PutAttention(AttentionRecord record) => Put(KeyCodec.Tagged(KeyCodec.WorkplaceAttention, record.UserKey), record);

    // ---- alerts ---------------------------------------------------------------------------------------------------

    public AlertRecord? GetAlert(long alertKey) => Get<AlertRecord>(KeyCodec.Tagged(KeyCodec.WorkplaceAlert, alertKey));

    public void PutAlert(AlertRecord alert) => Put(KeyCodec.Tagged(KeyCodec.WorkplaceAlert, alert.Key), alert);

    public static StagedWrite StageAlert(AlertRecord alert) =>
        StagedWrite.Put(Family, KeyCodec.Tagged(KeyCodec.WorkplaceAlert, alert.Key), WorkplaceJson.Encode(alert));

    public static StagedWrite StageAlertByEvent(long roomKey, long seq, long alertKey) =>
        StagedWrite.Put(Family, KeyCodec.Tagged(KeyCodec.WorkplaceAlertByEvent, roomKey, seq), KeyCodec.Long(alertKey));

    public long? AlertByEvent(long roomKey, long seq)
    {
        var value = store.Get(KeyCodec.Tagged(KeyCodec.WorkplaceAlertByEvent, roomKey, seq), Cf);
        return value is null ? null : KeyCodec.ReadLong(value);
    }

    /// <summary>Every alert, oldest first (start-up reloads the active ones).</summary>
    public IEnumerable<AlertRecord> Alerts()
    {
        foreach (var (_, value) in store.ScanPrefix(Cf, KeyCodec.Tag(KeyCodec.WorkplaceAlert)))
        {
            yield return WorkplaceJson.Decode<AlertRecord>(value);
        }
    }

    public static StagedWrite StageRecipient(AlertRecipientRecord r) =>
        StagedWrite.Put(Family, KeyCodec.Tagged(KeyCodec.WorkplaceRecipient, r.AlertKey, r.UserKey), WorkplaceJson.Encode(r));

    public void PutRecipient(AlertRecipientRecord r, bool durable = true) =>
        Put(KeyCodec.Tagged(KeyCodec.WorkplaceRecipient, r.AlertKey, r.UserKey), r, durable);

    public AlertRecipientRecord? GetRecipient(long alertKey, long userKey) =>
        Get<AlertRecipientRecord>(KeyCodec.Tagged(KeyCodec.WorkplaceRecipient, alertKey, userKey));

    public List<AlertRecipientRecord> Recipients(long alertKey)
    {
        var result = new List<AlertRecipientRecord>();
        foreach (var (_, value) in store.ScanPrefix(Cf, KeyCodec.Tagged(KeyCodec.WorkplaceRecipient, alertKey)))
        {
            result.Add(WorkplaceJson.Decode<AlertRecipientRecord>(value));
        }
        return result;
    }

    // ---- broadcast rooms ------------------------------------------------------------------------------------------

    public long? BroadcastRoom(string target)
    {
        var value = store.Get(KeyCodec.Tagged(KeyCodec.WorkplaceBroadcastRoom, target), Cf);
        return value is null ? null : KeyCodec.ReadLong(value);
    }

    public void PutBroadcastRoom(string target, long roomKey) =>
        store.Put(KeyCodec.Tagged(KeyCodec.WorkplaceBroadcastRoom, target), KeyCodec.Long(roomKey), Cf);

    // ---- push devices ---------------------------------------------------------------------------------------------

    public void PutPushDevice(PushDeviceRecord device) => Put(KeyCodec.Tagged(KeyCodec.WorkplacePushDevice, device.SessionKey), device);

    public void DeletePushDevice(long sessionKey) => store.Delete(KeyCodec.Tagged(KeyCodec.WorkplacePushDevice, sessionKey), Cf);

    public IEnumerable<PushDeviceRecord> PushDevices()
    {
        foreach (var (_, value) in store.ScanPrefix(Cf, KeyCodec.Tag(KeyCodec.WorkplacePushDevice)))
        {
            yield return WorkplaceJson.Decode<PushDeviceRecord>(value);
        }
    }

    // ---- incidents ------------------------------------------------------------------------------------------------

    public IncidentRecord? GetIncident(long key) => Get<IncidentRecord>(KeyCodec.Tagged(KeyCodec.WorkplaceIncident, key));

    public static StagedWrite StageIncident(IncidentRecord incident) =>
        StagedWrite.Put(Family, KeyCodec.Tagged(KeyCodec.WorkplaceIncident, incident.Key), WorkplaceJson.Encode(incident));

    public static StagedWrite StageIncidentByRoom(long roomKey, long incidentKey) =>
        StagedWrite.Put(Family, KeyCodec.Tagged(KeyCodec.WorkplaceIncidentByRoom, roomKey), KeyCodec.Long(incidentKey));

    public long? IncidentByRoom(long roomKey)
    {
        var value = store.Get(KeyCodec.Tagged(KeyCodec.WorkplaceIncidentByRoom, roomKey), Cf);
        return value is null ? null : KeyCodec.ReadLong(value);
    }

    public IEnumerable<IncidentRecord> Incidents()
    {
        foreach (var (_, value) in store.ScanPrefix(Cf, KeyCodec.Tag(KeyCodec.WorkplaceIncident)))
        {
            yield return WorkplaceJson.Decode<IncidentRecord>(value);
        }
    }

    // ---- counters -------------------------------------------------------------------------------------------------

    /// <summary>Reserves the next key of a counter (1, 2, …), durably, so a key is never handed out twice.</summary>
    public long NextKey(string name)
    {
        lock (_counterLock)
        {
            var key = KeyCodec.Tagged(KeyCodec.WorkplaceCounter, name);
            var value = store.Get(key, Cf);
            var next = (value is null ? 0 : KeyCodec.ReadLong(value)) + 1;
            store.Put(key, KeyCodec.Long(next), Cf);
            return next;
        }
    }

    /// <summary>Writes staged rows (this store's and others', such as audit entries) in one atomic batch.</summary>
    public void Write(IReadOnlyList<StagedWrite> writes)
    {
        using var batch = new RocksDbSharp.WriteBatch();
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

    private T? Get<T>(byte[] key) where T : class
    {
        var value = store.Get(key, Cf);
        return value is null ? null : WorkplaceJson.Decode<T>(value);
    }

    private void Put<T>(byte[] key, T value, bool durable = true) => store.Put(key, WorkplaceJson.Encode(value), Cf, durable);
}
