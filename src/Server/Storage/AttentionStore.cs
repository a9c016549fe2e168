namespace TeamComms.Server.Storage;

/// <summary>
/// The rows of the attention features in the <c>attention</c> column family (layouts in <c>KeyCodec.Attention.cs</c>).
/// Rows that must commit with a room event (an alert and its recipients, an incident) are returned as
/// <see cref="StagedWrite"/>s for the room log's batch; settings and acknowledgement progress are written directly.
/// </summary>
internal sealed class AttentionStore(RocksStore store)
{
    public const string Family = "attention";
    private readonly Lock _counterLock = new();

    private RocksDbSharp.ColumnFamilyHandle Cf => store.Family(Family);

    /// <summary>
    /// Cluster mode: receives the company attention policy and each person's notification settings (quiet hours, snooze,
    /// read-receipt privacy) as they are written here, to replicate them through the cluster log, as accounts are.
    /// </summary>
    internal IRowReplicator? Replicator { get; set; }

    // ---- policy ---------------------------------------------------------------------------------------------------

    public AttentionPolicyRecord? GetPolicy() => Get<AttentionPolicyRecord>(KeyCodec.Tag(KeyCodec.AttentionPolicy));

    public void PutPolicy(AttentionPolicyRecord policy) => Put(KeyCodec.Tag(KeyCodec.AttentionPolicy), policy);

    public static StagedWrite StagePolicy(AttentionPolicyRecord policy) =>
        StagedWrite.Put(Family, KeyCodec.Tag(KeyCodec.AttentionPolicy), AttentionJson.Encode(policy));

    // ---- notification settings ------------------------------------------------------------------------------------

    public AttentionRecord? GetAttention(long userKey) => Get<AttentionRecord>(KeyCodec.Tagged(KeyCodec.AttentionSettings, userKey));

    public void PutAttention(AttentionRecord record)
    {
        Put(KeyCodec.Tagged(KeyCodec.AttentionSettings, record.UserKey), record);
        Replicator?.Replicate([StagedWrite.Put(Family, KeyCodec.Tagged(KeyCodec.AttentionSettings, record.UserKey), AttentionJson.Encode(record))]);
    }

    /// <summary>Writes rows here and, in cluster mode, hands them to every node through the log.</summary>
    public void WriteEverywhere(IReadOnlyList<StagedWrite> writes)
    {
        Write(writes);
        Replicator?.Replicate(writes);
    }

    // ---- alerts ---------------------------------------------------------------------------------------------------

    public AlertRecord? GetAlert(long alertKey) => Get<AlertRecord>(KeyCodec.Tagged(KeyCodec.AttentionAlert, alertKey));

    public void PutAlert(AlertRecord alert) => Put(KeyCodec.Tagged(KeyCodec.AttentionAlert, alert.Key), alert);

    public static StagedWrite StageAlert(AlertRecord alert) =>
        StagedWrite.Put(Family, KeyCodec.Tagged(KeyCodec.AttentionAlert, alert.Key), AttentionJson.Encode(alert));

    public static StagedWrite StageAlertByEvent(long roomKey, long seq, long alertKey) =>
        StagedWrite.Put(Family, KeyCodec.Tagged(KeyCodec.AttentionAlertByEvent, roomKey, seq), KeyCodec.Long(alertKey));

    public long? AlertByEvent(long roomKey, long seq)
    {
        var value = store.Get(KeyCodec.Tagged(KeyCodec.AttentionAlertByEvent, roomKey, seq), Cf);
        return value is null ? null : KeyCodec.ReadLong(value);
    }

    /// <summary>Every alert, oldest first (start-up reloads the active ones).</summary>
    public IEnumerable<AlertRecord> Alerts()
    {
        foreach (var (_, value) in store.ScanPrefix(Cf, KeyCodec.Tag(KeyCodec.AttentionAlert)))
        {
            yield return AttentionJson.Decode<AlertRecord>(value);
        }
    }

    public static StagedWrite StageRecipient(AlertRecipientRecord r) =>
        StagedWrite.Put(Family, KeyCodec.Tagged(KeyCodec.AttentionRecipient, r.AlertKey, r.UserKey), AttentionJson.Encode(r));

    public void PutRecipient(AlertRecipientRecord r, bool durable = true) =>
        Put(KeyCodec.Tagged(KeyCodec.AttentionRecipient, r.AlertKey, r.UserKey), r, durable);

    public AlertRecipientRecord? GetRecipient(long alertKey, long userKey) =>
        Get<AlertRecipientRecord>(KeyCodec.Tagged(KeyCodec.AttentionRecipient, alertKey, userKey));

    public List<AlertRecipientRecord> Recipients(long alertKey)
    {
        var result = new List<AlertRecipientRecord>();
        foreach (var (_, value) in store.ScanPrefix(Cf, KeyCodec.Tagged(KeyCodec.AttentionRecipient, alertKey)))
        {
            result.Add(AttentionJson.Decode<AlertRecipientRecord>(value));
        }
        return result;
    }

    // ---- broadcast rooms ------------------------------------------------------------------------------------------

    public long? BroadcastRoom(string target)
    {
        var value = store.Get(KeyCodec.Tagged(KeyCodec.AttentionBroadcastRoom, target), Cf);
        return value is null ? null : KeyCodec.ReadLong(value);
    }

    /// <summary>The broadcast target's room index row; its value (the room key) is written by the sequencer with the room's creation.</summary>
    public static StagedWrite StageBroadcastRoom(string target) =>
        StagedWrite.Put(Family, KeyCodec.Tagged(KeyCodec.AttentionBroadcastRoom, target), []);

    // ---- push devices ---------------------------------------------------------------------------------------------

    public void PutPushDevice(PushDeviceRecord device) => Put(KeyCodec.Tagged(KeyCodec.AttentionPushDevice, device.SessionKey), device);

    public void DeletePushDevice(long sessionKey) => store.Delete(KeyCodec.Tagged(KeyCodec.AttentionPushDevice, sessionKey), Cf);

    public IEnumerable<PushDeviceRecord> PushDevices()
    {
        foreach (var (_, value) in store.ScanPrefix(Cf, KeyCodec.Tag(KeyCodec.AttentionPushDevice)))
        {
            yield return AttentionJson.Decode<PushDeviceRecord>(value);
        }
    }

    // ---- incidents ------------------------------------------------------------------------------------------------

    public IncidentRecord? GetIncident(long key) => Get<IncidentRecord>(KeyCodec.Tagged(KeyCodec.AttentionIncident, key));

    public static StagedWrite StageIncident(IncidentRecord incident) =>
        StagedWrite.Put(Family, KeyCodec.Tagged(KeyCodec.AttentionIncident, incident.Key), AttentionJson.Encode(incident));

    public static StagedWrite StageIncidentByRoom(long roomKey, long incidentKey) =>
        StagedWrite.Put(Family, KeyCodec.Tagged(KeyCodec.AttentionIncidentByRoom, roomKey), KeyCodec.Long(incidentKey));

    public long? IncidentByRoom(long roomKey)
    {
        var value = store.Get(KeyCodec.Tagged(KeyCodec.AttentionIncidentByRoom, roomKey), Cf);
        return value is null ? null : KeyCodec.ReadLong(value);
    }

    public IEnumerable<IncidentRecord> Incidents()
    {
        foreach (var (_, value) in store.ScanPrefix(Cf, KeyCodec.Tag(KeyCodec.AttentionIncident)))
        {
            yield return AttentionJson.Decode<IncidentRecord>(value);
        }
    }

    // ---- counters -------------------------------------------------------------------------------------------------

    private long _keyFloor;
    private readonly Dictionary<string, long> _partitionNext = new(StringComparer.Ordinal);

    /// <summary>
    /// Cluster mode: alert and incident keys this node allocates lie in <c>[nodeIndex &lt;&lt; 40, (nodeIndex + 1) &lt;&lt; 40)</c>,
    /// so nodes that send alerts at once never choose the same key. The proposer decides the key (its id is in the
    /// event's content) and every node stores the rows under it.
    /// </summary>
    internal void PartitionKeys(int nodeIndex)
    {
        lock (_counterLock)
        {
            _keyFloor = (long)nodeIndex << 40;
            _partitionNext.Clear();
        }
    }

    /// <summary>Reserves the next key of a counter (1, 2, …; in cluster mode, in this node's partition), durably, so a key is never handed out twice.</summary>
    public long NextKey(string name)
    {
        lock (_counterLock)
        {
            if (_keyFloor != 0)
            {
                return NextPartitionedKey(name);
            }
            var key = KeyCodec.Tagged(KeyCodec.AttentionCounter, name);
            var value = store.Get(key, Cf);
            var next = (value is null ? 0 : KeyCodec.ReadLong(value)) + 1;
            store.Put(key, KeyCodec.Long(next), Cf);
            return next;
        }
    }

    /// <summary>
    /// The next key in this node's partition: above both this partition's own counter row and every stored row of the
    /// partition (a node rebuilt from another node's checkpoint has that node's counter rows, not its own, but it has
    /// every alert and incident the cluster applied).
    /// </summary>
    private long NextPartitionedKey(string name)
    {
        var counter = KeyCodec.Tagged(KeyCodec.AttentionCounter, name + "@" + (_keyFloor >> 40).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!_partitionNext.TryGetValue(name, out var next))
        {
            var ceiling = _keyFloor + (1L << 40);
            next = _keyFloor;
            IEnumerable<long> used = name switch
            {
                "alert" => Alerts().Select(a => a.Key),
                "incident" => Incidents().Select(i => i.Key),
                _ => [],
            };
            foreach (var k in used)
            {
                if (k >= _keyFloor && k < ceiling)
                {
                    next = Math.Max(next, k);
                }
            }
            if (store.Get(counter, Cf) is { } stored)
            {
                next = Math.Max(next, KeyCodec.ReadLong(stored));
            }
        }
        next++;
        _partitionNext[name] = next;
        store.Put(counter, KeyCodec.Long(next), Cf);
        return next;
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
        return value is null ? null : AttentionJson.Decode<T>(value);
    }

    private void Put<T>(byte[] key, T value, bool durable = true) => store.Put(key, AttentionJson.Encode(value), Cf, durable);
}
