using System.Buffers.Binary;
using RocksDbSharp;
using TeamComms.Protocol.Events;

namespace TeamComms.Server.Storage;

/// <summary>
/// Reads the workplace features' rows (event ids, relations, room settings, content policy, legal holds, reports, poll
/// votes and tallies, attachments, held content) and seals and opens the room-scoped records with the room's data
/// key. Writes that belong to a room's log go through <see cref="StoreBatch"/> in the sequencer's batch; the others are
/// <see cref="StagedWrite"/>s written with <see cref="Write"/> or with an audit entry.
/// </summary>
internal sealed class WorkplaceStore(RocksStore store)
{
    public const string Family = "workplace";
    public const string AttachmentsFamily = "attachments";

    public RocksStore Store => store;

    // ---- events and relations ------------------------------------------------------------------------------------

    /// <summary>The seq of the event with <paramref name="id"/> in a room, if it exists.</summary>
    public long? FindSeq(long roomKey, EventId id)
    {
        var value = store.Get(KeyCodec.RoomEventId(roomKey, id), store.EventIds);
        return value is null ? null : KeyCodec.ReadLong(value);
    }

    /// <summary>The events relating to <paramref name="targetSeq"/>, in seq order, with their relation type.</summary>
    public IEnumerable<(long Seq, string Type)> Relations(long roomKey, long targetSeq, long afterSeq = 0)
    {
        var prefix = KeyCodec.Pair(roomKey, targetSeq);
        var readOptions = new ReadOptions()
            .SetIterateLowerBound(KeyCodec.Relation(roomKey, targetSeq, afterSeq + 1))
            .SetIterateUpperBound(KeyCodec.PrefixUpperBound(prefix));
        using var it = store.Db.NewIterator(store.Relations, readOptions);
        for (it.SeekToFirst(); it.Valid(); it.Next())
        {
            yield return (BinaryPrimitives.ReadInt64BigEndian(it.GetKeySpan()[16..]), System.Text.Encoding.UTF8.GetString(it.Value()));
        }
    }

    /// <summary>The stored (sealed) value of an event, as on disk, for preserving under a legal hold.</summary>
    public byte[]? RawEvent(long roomKey, long seq) => store.Get(KeyCodec.RoomSeq(roomKey, seq), store.Events);

    // ---- workplace rows ------------------------------------------------------------------------------------------

    public RoomSettingsRecord? GetRoomSettings(long roomKey) =>
        store.Get(KeyCodec.TaggedLong(KeyCodec.RoomSettingsTag, roomKey), store.Workplace) is { } v ? WorkplaceJson.Decode<RoomSettingsRecord>(v) : null;

    public ContentPolicyRecord GetContentPolicy() =>
        store.Get([KeyCodec.ContentPolicyTag], store.Workplace) is { } v ? WorkplaceJson.Decode<ContentPolicyRecord>(v) : new ContentPolicyRecord();

    public static StagedWrite PutContentPolicy(ContentPolicyRecord policy) => StagedWrite.Put(Family, [KeyCodec.ContentPolicyTag], WorkplaceJson.Encode(policy));

    public IEnumerable<LegalHoldRecord> Holds()
    {
        foreach (var (_, value) in store.ScanPrefix(store.Workplace, [KeyCodec.HoldTag]))
        {
            yield return WorkplaceJson.Decode<LegalHoldRecord>(value);
        }
    }

    public static StagedWrite PutHold(LegalHoldRecord hold) =>
        StagedWrite.Put(Family, KeyCodec.TaggedLong(KeyCodec.HoldTag, hold.Id), WorkplaceJson.Encode(hold));

    public ReportRecord? GetReport(long id) =>
        store.Get(KeyCodec.TaggedLong(KeyCodec.ReportTag, id), store.Workplace) is { } v ? WorkplaceJson.Decode<ReportRecord>(v) : null;

    /// <summary>Reports, newest first.</summary>
    public IEnumerable<ReportRecord> Reports()
    {
        using var it = store.PrefixIterator(store.Workplace, [KeyCodec.ReportTag]);
        for (it.SeekToLast(); it.Valid(); it.Prev())
        {
            yield return WorkplaceJson.Decode<ReportRecord>(it.Value());
        }
    }

    public static StagedWrite PutReport(ReportRecord report) =>
        StagedWrite.Put(Family, KeyCodec.TaggedLong(KeyCodec.ReportTag, report.Id), WorkplaceJson.Encode(report));

    /// <summary>The last id handed out by the counter <paramref name="name"/> (holds, reports).</summary>
    public long Counter(string name) =>
        store.Get(KeyCodec.Tagged(KeyCodec.CounterTag, name), store.Workplace) is { } v ? KeyCodec.ReadLong(v) : 0;

    public static StagedWrite PutCounter(string name, long value) => StagedWrite.Put(Family, KeyCodec.Tagged(KeyCodec.CounterTag, name), KeyCodec.Long(value));

    /// <summary>A member's vote (opened), or null.</summary>
    public List<string>? GetVote(long roomKey, long pollSeq, string userId)
    {
        var key = KeyCodec.Vote(roomKey, pollSeq, userId);
        return store.Get(key, store.Workplace) is { } v ? WorkplaceJson.Decode<List<string>>(Open(roomKey, key, v)) : null;
    }

    /// <summary>A poll's tally (opened), or null when nobody voted and it was not closed.</summary>
    public PollTallyRecord? GetTally(long roomKey, long pollSeq)
    {
        var key = KeyCodec.TaggedPair(KeyCodec.TallyTag, roomKey, pollSeq);
        return store.Get(key, store.Workplace) is { } v ? WorkplaceJson.Decode<PollTallyRecord>(Open(roomKey, key, v)) : null;
    }

    /// <summary>Every vote row key of a poll (to delete them with the poll).</summary>
    public List<byte[]> VoteKeys(long roomKey, long pollSeq) =>
        store.ScanPrefix(store.Workplace, KeyCodec.TaggedPair(KeyCodec.VoteTag, roomKey, pollSeq)).Select(kv => kv.Key).ToList();

    /// <summary>Polls with a closing time, earliest first: (closes at, room, poll seq).</summary>
    public IEnumerable<(long ClosesAt, long RoomKey, long PollSeq)> PollClosings()
    {
        foreach (var (key, _) in store.ScanPrefix(store.Workplace, [KeyCodec.PollCloseTag]))
        {
            yield return (BinaryPrimitives.ReadInt64BigEndian(key.AsSpan(1)), BinaryPrimitives.ReadInt64BigEndian(key.AsSpan(9)),
                BinaryPrimitives.ReadInt64BigEndian(key.AsSpan(17)));
        }
    }

    // ---- attachments ---------------------------------------------------------------------------------------------

    public AttachmentRecord? GetAttachment(ReadOnlySpan<byte> id) =>
        store.Get(KeyCodec.Attachment(id), store.Attachments) is { } v ? WorkplaceJson.Decode<AttachmentRecord>(v) : null;

    public static StagedWrite PutAttachment(AttachmentRecord record) =>
        StagedWrite.Put(AttachmentsFamily, KeyCodec.Attachment(Convert.FromHexString(record.Id)), WorkplaceJson.Encode(record));

    public IEnumerable<AttachmentRecord> AllAttachments()
    {
        foreach (var (_, value) in store.ScanPrefix(store.Attachments, [KeyCodec.AttachmentTag]))
        {
            yield return WorkplaceJson.Decode<AttachmentRecord>(value);
        }
    }

    /// <summary>The attachment ids carried by the event at (room, seq).</summary>
    public List<byte[]> AttachmentsOf(long roomKey, long seq) =>
        store.ScanPrefix(store.Attachments, KeyCodec.TaggedPair(KeyCodec.AttachmentRefTag, roomKey, seq)).Select(kv => kv.Key[17..]).ToList();

    // ---- held content --------------------------------------------------------------------------------------------

    /// <summary>Sealed originals kept under legal hold in a room, by seq.</summary>
    public IEnumerable<(long Seq, byte[] Value)> Held(long roomKey)
    {
        foreach (var (key, value) in store.ScanPrefix(store.HeldEvents, KeyCodec.Long(roomKey)))
        {
            yield return (KeyCodec.ParseRoomSeq(key).Seq, value);
        }
    }

    /// <summary>Rooms that have held content.</summary>
    public IEnumerable<long> RoomsWithHeldContent()
    {
        long last = -1;
        foreach (var (key, _) in store.ScanPrefix(store.HeldEvents, []))
        {
            var room = KeyCodec.ParseRoomSeq(key).RoomKey;
            if (room != last)
            {
                last = room;
                yield return room;
            }
        }
    }

    /// <summary>Opens a held original (the same sealing as the events family).</summary>
    public byte[] OpenHeld(long roomKey, long seq, byte[] value) => store.AtRest is { } atRest ? atRest.OpenEvent(roomKey, seq, value) : value;

    // ---- sealing -------------------------------------------------------------------------------------------------

    public byte[] Seal(long roomKey, ReadOnlySpan<byte> rowKey, ReadOnlySpan<byte> plaintext) =>
        store.AtRest is { } atRest ? atRest.SealRoomRecord(roomKey, rowKey, plaintext) : plaintext.ToArray();

    /// <summary>Seals a row of the sequencer's <paramref name="batch"/> (cluster mode, at apply time).</summary>
    public byte[] Seal(long roomKey, ReadOnlySpan<byte> rowKey, ReadOnlySpan<byte> plaintext, StoreBatch batch) =>
        store.AtRest is { } atRest ? atRest.SealRoomRecord(roomKey, rowKey, plaintext, batch) : plaintext.ToArray();

    public byte[] Open(long roomKey, ReadOnlySpan<byte> rowKey, byte[] value) =>
        store.AtRest is { } atRest ? atRest.OpenRoomRecord(roomKey, rowKey, value) : value;

    /// <summary>Writes rows atomically and durably, for changes that cause no room events.</summary>
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
}
