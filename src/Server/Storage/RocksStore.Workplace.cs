using RocksDbSharp;

namespace TeamComms.Server.Storage;

internal sealed partial class RocksStore
{
    /// <summary>Event ids to seqs: <c>roomKey ‖ id</c> → seq (every event, written with it).</summary>
    public ColumnFamilyHandle EventIds => _handles["event_ids"];

    /// <summary>Relations: <c>roomKey ‖ target seq ‖ seq</c> → relation type (written with the relating event).</summary>
    public ColumnFamilyHandle Relations => _handles["relations"];

    /// <summary>Room settings, content policy, legal holds, moderation reports, poll votes and tallies (tagged keys).</summary>
    public ColumnFamilyHandle Workplace => _handles["workplace"];

    /// <summary>Attachment records and their index by event.</summary>
    public ColumnFamilyHandle Attachments => _handles["attachments"];

    /// <summary>Sealed originals of events whose content was removed while a legal hold covered them: <c>roomKey ‖ seq</c>.</summary>
    public ColumnFamilyHandle HeldEvents => _handles["held_events"];

    /// <summary>
    /// Makes removed content leave the disk: flushes every column family (so the write-ahead log that still holds the
    /// old values becomes obsolete and is deleted) and compacts the rooms' ranges of the event, relation and held
    /// families and the workplace family, dropping overwritten and deleted versions from the SST files.
    /// </summary>
    public void CompactRemovedContent(IEnumerable<long> roomKeys)
    {
        Flush();
        foreach (var room in roomKeys.Distinct())
        {
            var from = KeyCodec.Long(room);
            var to = KeyCodec.Long(room + 1);
            _db.CompactRange(from, to, Events);
            _db.CompactRange(from, to, Relations);
            _db.CompactRange(from, to, HeldEvents);
        }
        _db.CompactRange(Array.Empty<byte>(), null, Workplace);
        _db.CompactRange(Array.Empty<byte>(), null, Attachments);
    }

    /// <summary>Migration to format 4: the event-id index for every stored event (idempotent; batches of 4096).</summary>
    private void IndexEventIds()
    {
        var count = 0L;
        using var batch = new WriteBatch();
        using (var it = _db.NewIterator(Events))
        {
            for (it.SeekToFirst(); it.Valid(); it.Next())
            {
                var (room, seq) = KeyCodec.ParseRoomSeq(it.GetKeySpan());
                var value = it.Value();
                var plain = AtRest is { } atRest ? atRest.OpenEvent(room, seq, value) : value;
                var e = Protocol.Events.EventCodec.Read(new StoredEvent(seq, plain).Wire);
                batch.Put(KeyCodec.RoomEventId(room, e.Id), KeyCodec.Long(seq), EventIds);
                if (++count % 4096 == 0)
                {
                    _db.Write(batch, _syncWrite);
                    batch.Clear();
                }
            }
        }
        _db.Write(batch, _syncWrite);
    }
}
