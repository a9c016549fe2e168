using MessagePack;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Conversations;
using TeamComms.Server.Moderation;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Rooms;

/// <summary>
/// The workplace features in the sequencer: the event-id and relation indexes written with every event, the checks of
/// what members send (posting role, relations, edit windows, polls, links, attachments), and the proposals that change
/// rooms for moderation, retention, pins, settings and polls. Everything here runs on the sequencer thread against the
/// working state, and reads of rows written earlier in the same batch go through the batch overlays below.
/// </summary>
internal sealed partial class LocalRoomLog
{
    private readonly IRoomWorkplace? _workplace;
    private readonly WorkplaceStore _workplaceStore;

    // Overlays of what this batch wrote, for reads before the commit; cleared with the batch.
    private readonly Dictionary<(long Room, EventId Id), long> _batchIds = [];
    private readonly Dictionary<(long Room, long Seq), byte[]> _batchStored = [];
    private readonly List<(long Room, long Target, long Seq, string Type)> _batchRelations = [];
    private readonly HashSet<(long Room, long Target, long Seq)> _batchRelationDeletes = [];
    private readonly Dictionary<string, byte[]?> _batchRows = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AttachmentRecord> _batchAttachments = new(StringComparer.Ordinal);
    private readonly List<(long Room, long Seq, string Id)> _batchAttachmentRefs = [];
    private WorkplaceBatchEffects _workplaceEffects = new();
    // Set by the send checks for the event about to be appended.
    private List<AttachmentRecord>? _pendingAttachments;

    private string SystemUser => "_system@" + _serverName;

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    // ---- indexes written with every event ----------------------------------------------------------------------

    /// <summary>Indexes an event just appended: its id, its relation, the attachments it carries, a poll's closing time.</summary>
    private void OnAppended(Room room, CommittedEvent ev, ReadOnlyMemory<byte>? content, bool verbatim)
    {
        _batch.PutEventId(room.Key, ev.Id, ev.Seq);
        _batchIds[(room.Key, ev.Id)] = ev.Seq;
        _batchStored[(room.Key, ev.Seq)] = ev.Stored;
        if (content is not { } c)
        {
            _pendingAttachments = null;
            return;
        }
        IndexRelation(room, ev.Seq, c, verbatim);
        if (_pendingAttachments is { } attachments)
        {
            _pendingAttachments = null;
            foreach (var a in attachments)
            {
                var linked = a with { Seq = ev.Seq };
                _batchAttachments[a.Id] = linked;
                _batchAttachmentRefs.Add((room.Key, ev.Seq, a.Id));
                _batch.PutAttachmentRow(KeyCodec.Attachment(Convert.FromHexString(a.Id)), WorkplaceJson.Encode(linked));
                _batch.PutAttachmentRow(KeyCodec.AttachmentRef(room.Key, ev.Seq, Convert.FromHexString(a.Id)), []);
            }
        }
        if (ev.Type == WorkplaceEventTypes.Poll && IsHub(room.RoomId) && !verbatim)
        {
            var closesAt = new FieldMap(MsgPackValue.ReadMap(c)).OptionalInt("closes_at");
            if (closesAt is { } at)
            {
                _batch.PutWorkplace(KeyCodec.TaggedTriple(KeyCodec.PollCloseTag, at, room.Key, ev.Seq), []);
                _workplaceEffects.PollsScheduled.Add((at, room.Key, ev.Seq));
            }
        }
    }

    private void IndexRelation(Room room, long seq, ReadOnlyMemory<byte> content, bool lenient)
    {
        Relation rel;
        try
        {
            if (!Relations.TryRead(content, out rel))
            {
                return;
            }
        }
        catch (ProtocolException) when (lenient)
        {
            return; // another server's event with a malformed relation: stored, not indexed
        }
        if (FindSeqWorking(room.Key, rel.Event) is { } target)
        {
            _batch.PutRelation(room.Key, target, seq, rel.Type);
            _batchRelations.Add((room.Key, target, seq, rel.Type));
        }
    }

    private long? FindSeqWorking(long roomKey, EventId id) =>
        _batchIds.TryGetValue((roomKey, id), out var seq) ? seq : _workplaceStore.FindSeq(roomKey, id);

    private bool TryReadWorking(long roomKey, long seq, out StoredEvent stored)
    {
        if (_batchStored.TryGetValue((roomKey, seq), out var value))
        {
            stored = new StoredEvent(seq, value);
            return true;
        }
        return _events.TryGet(roomKey, seq, out stored);
    }

    private List<(long Seq, string Type)> RelationsWorking(long roomKey, long target)
    {
        var result = _workplaceStore.Relations(roomKey, target).Where(r => !_batchRelationDeletes.Contains((roomKey, target, r.Seq))).ToList();
        foreach (var r in _batchRelations)
        {
            if (r.Room == roomKey && r.Target == target && !_batchRelationDeletes.Contains((roomKey, target, r.Seq)))
            {
                result.Add((r.Seq, r.Type));
            }
        }
        return result;
    }

    /// <summary>The event with <paramref name="id"/> in the room (working state), or an error naming why not.</summary>
    private (long Seq, StoredEvent Stored, RoomEvent Event)? FindEvent(Room room, EventId id)
    {
        if (FindSeqWorking(room.Key, id) is not { } seq || !TryReadWorking(room.Key, seq, out var stored))
        {
            return null;
        }
        return (seq, stored, EventCodec.Read(stored.Wire));
    }

    // ---- what members send -------------------------------------------------------------------------------------

    /// <summary>True when <paramref name="userId"/> may send <paramref name="type"/>: everyone reacts; posting needs the room's posting role.</summary>
    private static bool CanPost(RoomState state, string userId, string type) =>
        type == WorkplaceEventTypes.Reaction
        || RoomRoles.Rank(state.RoleOf(userId)) >= RoomRoles.Rank(state.Workplace.EffectivePostingRole(state.Kind));

    private static string PostingRefusal(RoomState state)
    {
        var role = state.Workplace.EffectivePostingRole(state.Kind);
        return state.Kind == RoomKinds.Announcement && role == RoomRoles.Poster
            ? "only posters, moderators and owners post in an announcement room"
            : $"only members with the role {role} or higher post in this room";
    }

    /// <summary>
    /// Checks what a member sends against the room's rules: relations (threads, edits within the window, reactions),
    /// polls, the link policy and attachments. Sets <see cref="_pendingAttachments"/> for the event about to be appended.
    /// </summary>
    private (ErrorCode Code, string Message)? CheckContent(Room room, string userId, string type, byte[] content, bool remote)
    {
        _pendingAttachments = null;
        var (hasRel, hasAttachments) = ScanKeys(content);
        var rules = EffectiveRules(room.Working.State);
        var linksRestricted = rules.LinkPolicy is not (null or "allow");
        if (!hasRel && !hasAttachments && !linksRestricted && type != WorkplaceEventTypes.Poll && type != WorkplaceEventTypes.Reaction)
        {
            return null; // the common case: a plain message in a room without link rules
        }
        var map = new FieldMap(MsgPackValue.ReadMap(content));
        Relation? rel = Relations.TryRead(map.Map, out var r) ? r : null;
        if (CheckRelation(room, userId, type, map, rel) is { } relError)
        {
            return relError;
        }
        if (type == WorkplaceEventTypes.Poll && PollSpec.Parse(map, NowMs) is { Error: { } pollError })
        {
            return (ErrorCode.BadField, pollError);
        }
        if (linksRestricted && LinkRules.FirstRefused(TextsOf(type, map), rules, _workplace?.InternalDomains ?? [_serverName]) is { } link)
        {
            return (ErrorCode.LinkNotAllowed, $"this room's link policy ({rules.LinkPolicy}) does not allow the link {link}");
        }
        if (hasAttachments)
        {
            if (type != EventTypes.Message)
            {
                return (ErrorCode.BadField, "only messages carry attachments");
            }
            return CheckAttachments(room, userId, map, rules, remote);
        }
        return null;
    }

    private (ErrorCode Code, string Message)? CheckRelation(Room room, string userId, string type, FieldMap map, Relation? rel)
    {
        if (type == WorkplaceEventTypes.Reaction)
        {
            if (rel is not { Type: Relations.Reaction })
            {
                return (ErrorCode.BadField, "a reaction has \"rel\": {\"type\": \"reaction\", \"event\": <id>}");
            }
            var key = map.RequiredString("key", 64);
            if (key.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(key) > 64)
            {
                return (ErrorCode.BadField, "a reaction's key is 1 to 64 bytes");
            }
        }
        if (rel is not { } relation)
        {
            return null;
        }
        switch (relation.Type)
        {
            case Relations.Vote or Relations.Results or Relations.Redaction:
                return (ErrorCode.InvalidRelation, $"'{relation.Type}' relations are made by the server (use polls.vote or rooms.redact)");
            case Relations.Reaction when type != WorkplaceEventTypes.Reaction:
                return (ErrorCode.InvalidRelation, "reactions are 'reaction' events");
            case Relations.Edit when type != EventTypes.Message:
                return (ErrorCode.InvalidRelation, "only messages are edited");
        }
        if (FindEvent(room, relation.Event) is not { } target)
        {
            return (ErrorCode.UnknownEvent, "the related event is not in this room");
        }
        var t = target.Event;
        if (!WorkplaceEventTypes.IsRemovable(t.Type))
        {
            return (ErrorCode.InvalidRelation, "room state events cannot be related to");
        }
        if (!VisibleTo(room.Working.State, userId, target.Seq))
        {
            return (ErrorCode.UnknownEvent, "the related event is not in this room");
        }
        Relation? targetRel = t.Content is { } tc && Relations.TryRead(tc, out var tr) ? tr : null;
        switch (relation.Type)
        {
            case Relations.Thread:
                if (t.Type is WorkplaceEventTypes.Reaction or WorkplaceEventTypes.PollVote or WorkplaceEventTypes.PollResults)
                {
                    return (ErrorCode.InvalidRelation, $"a thread's root is a message, not a {t.Type}");
                }
                if (targetRel is { Type: Relations.Thread })
                {
                    return (ErrorCode.InvalidRelation, "that event is a reply in a thread: reply to the thread's root");
                }
                break;
            case Relations.Edit:
                if (t.Sender != userId)
                {
                    return (ErrorCode.Forbidden, "only the sender edits a message");
                }
                if (t.Type != EventTypes.Message || targetRel is { Type: Relations.Edit })
                {
                    return (ErrorCode.InvalidRelation, "edit the original message");
                }
                if (t.Content is null)
                {
                    return (ErrorCode.UnknownEvent, "the message was removed");
                }
                if (WindowClosed(_workplace?.Policy.EditWindowMinutes, t.Timestamp) is { } edit)
                {
                    return (ErrorCode.EditWindowClosed, edit == 0 ? "company policy: messages cannot be edited" : $"company policy: messages can be edited for {edit} minutes after sending");
                }
                break;
            case Relations.Reaction:
                if (t.Content is null)
                {
                    return (ErrorCode.UnknownEvent, "the event was removed");
                }
                if (t.Type is WorkplaceEventTypes.Reaction or WorkplaceEventTypes.PollVote or WorkplaceEventTypes.PollResults)
                {
                    return (ErrorCode.InvalidRelation, $"a {t.Type} cannot be reacted to");
                }
                var key = map.RequiredString("key", 64);
                foreach (var (seq, relType) in RelationsWorking(room.Key, target.Seq))
                {
                    if (relType == Relations.Reaction && TryReadWorking(room.Key, seq, out var other)
                        && EventCodec.Read(other.Wire) is { Content: { } oc } o && o.Sender == userId
                        && MsgPackValue.ReadMap(oc).GetValueOrDefault("key") as string == key)
                    {
                        return (ErrorCode.InvalidRelation, $"you already reacted with {key}; remove that reaction with rooms.redact");
                    }
                }
                break;
        }
        return null;
    }

    /// <summary>Null when the window is open; else the window in minutes.</summary>
    private int? WindowClosed(int? windowMinutes, long sentAt) =>
        windowMinutes is { } minutes && NowMs - sentAt > minutes * 60_000L ? minutes : null;

    private static bool VisibleTo(RoomState state, string userId, long seq) =>
        state.HistoryVisibility == HistoryVisibilities.Full || (state.Member(userId) is { JoinSeq: > 0 } m && seq >= m.JoinSeq);

    private (ErrorCode Code, string Message)? CheckAttachments(Room room, string userId, FieldMap map, ContentRulesRecord rules, bool remote)
    {
        if (map.Map["attachments"] is not List<object?> { Count: > 0 and <= 10 } list)
        {
            return (ErrorCode.BadField, "'attachments' is a list of 1 to 10 maps {id, name, type, size}");
        }
        if (remote || IsHostedElsewhere(room))
        {
            return (ErrorCode.UnknownAttachment, "attachments are stored by the server of the room's hub and cannot be shared between servers yet");
        }
        var found = new List<AttachmentRecord>(list.Count);
        foreach (var item in list)
        {
            if (item is not Dictionary<string, object?> entry)
            {
                return (ErrorCode.BadField, "each attachment is a map {id, name, type, size}");
            }
            var f = new FieldMap(entry);
            var id = f.RequiredString("id", 32);
            f.RequiredString("name", 255);
            var mediaType = f.RequiredString("type", 255);
            var size = f.RequiredInt("size");
            if (id.Length != 32 || !id.All(Uri.IsHexDigit))
            {
                return (ErrorCode.BadField, "an attachment id is 32 hex digits");
            }
            id = id.ToLowerInvariant();
            var record = _batchAttachments.TryGetValue(id, out var inBatch) ? inBatch : _workplaceStore.GetAttachment(Convert.FromHexString(id));
            if (record is null || record.RoomKey != room.Key || record.Uploader != userId || record.Removed || found.Any(a => a.Id == id))
            {
                return (ErrorCode.UnknownAttachment, $"no attachment {id} uploaded by you to this room");
            }
            if (record.Seq != 0)
            {
                return (ErrorCode.UnknownAttachment, $"attachment {id} is already in another message; upload it again");
            }
            if (!string.Equals(record.ContentType, mediaType, StringComparison.OrdinalIgnoreCase) || record.Size != size)
            {
                return (ErrorCode.BadField, $"attachment {id} is {record.ContentType}, {record.Size} bytes: the message must say so");
            }
            if (AttachmentRules.Refuse(rules, record.ContentType, record.Size) is { } refusal)
            {
                return refusal;
            }
            found.Add(record);
        }
        _pendingAttachments = found;
        return null;
    }

    private ContentRulesRecord EffectiveRules(RoomState state) =>
        AttachmentRules.Merge(state.Workplace.Rules, _workplace?.Policy.Defaults ?? new ContentPolicyRecord().Defaults);

    private static IEnumerable<string> TextsOf(string type, FieldMap map)
    {
        if (map.Map.GetValueOrDefault("body") is string body)
        {
            yield return body;
        }
        if (type == WorkplaceEventTypes.Poll)
        {
            if (map.Map.GetValueOrDefault("question") is string q)
            {
                yield return q;
            }
            if (map.Map.GetValueOrDefault("options") is List<object?> options)
            {
                foreach (var o in options)
                {
                    if (o is Dictionary<string, object?> d && d.GetValueOrDefault("text") is string text)
                    {
                        yield return text;
                    }
                }
            }
        }
    }

    /// <summary>Which of the top-level keys the checks care about the content has, without decoding it.</summary>
    internal static (bool Rel, bool Attachments) ScanKeys(byte[] content)
    {
        var r = new MessagePackReader(content);
        var n = r.ReadMapHeader();
        bool rel = false, attachments = false;
        for (var i = 0; i < n; i++)
        {
            var key = r.ReadStringSequence();
            if (key is { IsSingleSegment: true } k)
            {
                rel |= k.FirstSpan.SequenceEqual("rel"u8);
                attachments |= k.FirstSpan.SequenceEqual("attachments"u8);
            }
            r.Skip();
        }
        return (rel, attachments);
    }

    // ---- content removal ---------------------------------------------------------------------------------------

    /// <summary>
    /// Removes an event's content in this batch: the stored event keeps its id and place; its relation row, its
    /// attachments and (for a poll) its votes go too. When a legal hold covers the room or the sender, the sealed
    /// original is kept in <c>held_events</c> and the attachment files stay, until the hold is released.
    /// </summary>
    private void RemoveContent(Room room, long seq, StoredEvent stored, RoomEvent e)
    {
        var held = _workplace?.IsHeld(room.RoomId, e.Sender) ?? false;
        if (held)
        {
            _batch.PreserveHeld(room.Key, seq, _store.AtRest is { } atRest ? atRest.SealEvent(room.Key, seq, stored.Value, _batch) : stored.Value);
        }
        if (e.Content is { } c)
        {
            try
            {
                if (Relations.TryRead(c, out var rel) && FindSeqWorking(room.Key, rel.Event) is { } target)
                {
                    _batch.DeleteRelation(room.Key, target, seq);
                    _batchRelationDeletes.Add((room.Key, target, seq));
                }
            }
            catch (ProtocolException)
            {
                // an unindexed, malformed relation: nothing to delete
            }
            if (e.Type == WorkplaceEventTypes.Poll)
            {
                RemovePollRows(room, seq, c);
            }
        }
        var stripped = ContentRemoval.Strip(stored);
        _batch.PutEvent(room.Key, seq, stripped);
        _batchStored[(room.Key, seq)] = stripped;
        foreach (var id in AttachmentIdsOf(room.Key, seq))
        {
            var hex = Convert.ToHexStringLower(id);
            var record = _batchAttachments.TryGetValue(hex, out var r) ? r : _workplaceStore.GetAttachment(id);
            if (record is null || record.Removed)
            {
                continue;
            }
            var removed = record with { Removed = true };
            _batchAttachments[hex] = removed;
            _batch.PutAttachmentRow(KeyCodec.Attachment(id), WorkplaceJson.Encode(removed));
            if (!held)
            {
                _workplaceEffects.DeleteFiles.Add(id);
            }
        }
        _workplaceEffects.Compact.Add(room.Key);
        _workplaceEffects.Removed.Add(new RemovedContent(room.Key, room.RoomId, seq, e.Id, e.Type, e.Sender));
    }

    private IEnumerable<byte[]> AttachmentIdsOf(long roomKey, long seq) =>
        _workplaceStore.AttachmentsOf(roomKey, seq)
            .Concat(_batchAttachmentRefs.Where(a => a.Room == roomKey && a.Seq == seq).Select(a => Convert.FromHexString(a.Id)))
            .DistinctBy(Convert.ToHexString);

    private void RemovePollRows(Room room, long pollSeq, ReadOnlyMemory<byte> pollContent)
    {
        foreach (var key in _workplaceStore.VoteKeys(room.Key, pollSeq))
        {
            DeleteRow(key);
        }
        foreach (var key in _batchRows.Keys.Where(k => k.StartsWith(Convert.ToHexString(KeyCodec.TaggedPair(KeyCodec.VoteTag, room.Key, pollSeq)), StringComparison.Ordinal)).ToList())
        {
            DeleteRow(Convert.FromHexString(key));
        }
        DeleteRow(KeyCodec.TaggedPair(KeyCodec.TallyTag, room.Key, pollSeq));
        if (new FieldMap(MsgPackValue.ReadMap(pollContent)).Map.GetValueOrDefault("closes_at") is long at)
        {
            DeleteRow(KeyCodec.TaggedTriple(KeyCodec.PollCloseTag, at, room.Key, pollSeq));
        }
    }

    // ---- workplace rows with a batch overlay -------------------------------------------------------------------

    private byte[]? GetRow(byte[] key)
    {
        var hex = Convert.ToHexString(key);
        return _batchRows.TryGetValue(hex, out var value) ? value : _store.Get(key, _store.Workplace);
    }

    private void PutRow(byte[] key, byte[] value)
    {
        _batchRows[Convert.ToHexString(key)] = value;
        _batch.PutWorkplace(key, value);
    }

    private void DeleteRow(byte[] key)
    {
        _batchRows[Convert.ToHexString(key)] = null;
        _batch.DeleteWorkplace(key);
    }

    private void PutSettings(Room room) =>
        _batch.PutWorkplace(KeyCodec.TaggedLong(KeyCodec.RoomSettingsTag, room.Key), WorkplaceJson.Encode(room.Working.State.Workplace.ToRecord()));

    private void SetWorkplace(Room room, WorkplaceRoomState workplace)
    {
        room.Working = room.Working with { State = room.Working.State with { Workplace = workplace } };
        _touched.Add(room);
        PutSettings(room);
    }

    // ---- batch lifecycle ---------------------------------------------------------------------------------------

    private void AfterCommitWorkplace()
    {
        if (_workplace is not null && !_workplaceEffects.IsEmpty)
        {
            var effects = _workplaceEffects;
            _workplaceEffects = new WorkplaceBatchEffects();
            _workplace.AfterCommit(effects);
        }
    }

    private void ClearWorkplaceBatch()
    {
        _batchIds.Clear();
        _batchStored.Clear();
        _batchRelations.Clear();
        _batchRelationDeletes.Clear();
        _batchRows.Clear();
        _batchAttachments.Clear();
        _batchAttachmentRefs.Clear();
        _pendingAttachments = null;
        if (!_workplaceEffects.IsEmpty)
        {
            _workplaceEffects = new WorkplaceBatchEffects();
        }
    }
}
