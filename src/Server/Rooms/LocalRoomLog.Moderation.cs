using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Rooms;

/// <summary>
/// Redaction and retention in the sequencer, and how a room hosted elsewhere follows its hub's redactions, purges and
/// settings. Content removal keeps every id and the chain (<see cref="ContentRemoval"/>).
/// </summary>
internal sealed partial class LocalRoomLog
{
    private (ErrorCode Code, string Message)? SequenceRedact(Request request, RedactProposal p)
    {
        var room = _rooms.Find(p.RoomId);
        if (room is null)
        {
            return (ErrorCode.UnknownRoom, $"no room {p.RoomId}");
        }
        var state = room.Working.State;
        var actor = p.Actor.UserId;
        var moderator = state.IsJoined(actor) && RoomRoles.Rank(state.RoleOf(actor)) >= RoomRoles.Rank(RoomRoles.Moderator);
        if (!moderator && !p.Privileged && !state.IsJoined(actor))
        {
            return (ErrorCode.NotMember, "you are not a member of this room");
        }
        if (FindEvent(room, p.Target) is not { } target || (!moderator && !p.Privileged && !VisibleTo(state, actor, target.Seq)))
        {
            return (ErrorCode.UnknownEvent, "no such event in this room");
        }
        var e = target.Event;
        if (!WorkplaceEventTypes.IsRemovable(e.Type))
        {
            return (ErrorCode.Forbidden, "room state events cannot be redacted");
        }
        if (e.Type is WorkplaceEventTypes.PollVote or WorkplaceEventTypes.PollResults)
        {
            return (ErrorCode.Forbidden, "votes and results are changed with polls.vote; redact the poll instead");
        }
        if (e.Content is null)
        {
            return (ErrorCode.Conflict, "the content of that event is already removed");
        }
        if (!moderator && !p.Privileged)
        {
            if (e.Sender != actor)
            {
                return (ErrorCode.Forbidden, "only the sender, the room's moderators and owners, and company moderators remove a message");
            }
            if (state.Archived)
            {
                return (ErrorCode.RoomArchived, "the room is archived and read-only");
            }
            if (e.Type != WorkplaceEventTypes.Reaction && WindowClosed(_workplace?.Policy.DeleteWindowMinutes, e.Timestamp) is { } minutes)
            {
                return (ErrorCode.EditWindowClosed, minutes == 0
                    ? "company policy: messages cannot be deleted by their senders; ask a moderator"
                    : $"company policy: messages can be deleted for {minutes} minutes after sending; ask a moderator");
            }
        }
        var content = new Dictionary<string, object?>(StringComparer.Ordinal) { [Relations.Field] = Relations.Build(Relations.Redaction, e.Id) };
        if (p.Reason is { Length: > 0 } reason)
        {
            content["reason"] = reason;
        }
        var bytes = MsgPackValue.ToCanonicalMap(content);
        if (IsHostedElsewhere(room))
        {
            if (!moderator && e.Sender != actor)
            {
                return (ErrorCode.FederationRefused, $"{room.RoomId} is hosted on {Identifiers.ServerOf(room.RoomId)}: only its members' own messages and the room's moderators redact there");
            }
            var forwarded = Forward(request, room, p.Actor, WorkplaceEventTypes.Redaction, bytes, "");
            if (forwarded is null)
            {
                ApplyStaged(p.Writes); // staged writes only with a proposal that will commit
            }
            return forwarded;
        }
        if (ExpectedMismatch(bytes))
        {
            return (ErrorCode.EventInvalid, "the proposed redaction does not match what the action produces");
        }
        ApplyStaged(p.Writes);
        RemoveWithEdits(room, target.Seq, target.Stored, e);
        request.Events.Add(AppendEvent(room, actor, WorkplaceEventTypes.Redaction, bytes, null));
        request.RoomId = room.RoomId;
        return null;
    }

    /// <summary>Removes an event's content and the content of its edits (they repeat its text).</summary>
    private void RemoveWithEdits(Room room, long seq, StoredEvent stored, RoomEvent e)
    {
        foreach (var (editSeq, type) in RelationsWorking(room.Key, seq))
        {
            if (type == Relations.Edit && TryReadWorking(room.Key, editSeq, out var edit) && EventCodec.Read(edit.Wire) is { Content: not null } editEvent)
            {
                RemoveContent(room, editSeq, edit, editEvent);
            }
        }
        RemoveContent(room, seq, stored, e);
    }

    /// <summary>A redaction proposed by a user of another server: the same checks, then the proposed content must match.</summary>
    private (ErrorCode Code, string Message)? SequenceRemoteRedaction(Request request, RemoteProposal p)
    {
        var c = new FieldMap(MsgPackValue.ReadMap(p.Content));
        if (!Relations.TryRead(c.Map, out var rel) || rel.Type != Relations.Redaction)
        {
            return (ErrorCode.BadField, "a redaction has \"rel\": {\"type\": \"redaction\", \"event\": <id>}");
        }
        return SequenceRedact(request, new RedactProposal(p.Actor, p.RoomId, rel.Event, c.OptionalString("reason", 1024), false, []));
    }

    // ---- retention ---------------------------------------------------------------------------------------------

    private (ErrorCode Code, string Message)? SequencePurge(Request request, PurgeProposal p)
    {
        var room = _rooms.Get(p.RoomKey);
        if (room is null)
        {
            return (ErrorCode.UnknownRoom, $"no room {p.RoomKey}");
        }
        request.RoomId = room.RoomId;
        var through = Math.Min(p.ThroughSeq, room.Working.Head.Seq);
        var roomHeld = _workplace?.IsHeld(room.RoomId, "") ?? false;
        if (!roomHeld)
        {
            for (var seq = p.AfterSeq + 1; seq <= through; seq++)
            {
                if (!TryReadWorking(room.Key, seq, out var stored))
                {
                    continue;
                }
                var e = EventCodec.Read(stored.Wire);
                if (e.Content is null || !WorkplaceEventTypes.IsRemovable(e.Type) || (_workplace?.IsHeld(room.RoomId, e.Sender) ?? false))
                {
                    continue;
                }
                RemoveContent(room, seq, stored, e);
            }
        }
        if (!p.Final)
        {
            return null;
        }
        var w = room.Working.State.Workplace;
        SetWorkplace(room, w with
        {
            PurgedThrough = Math.Max(w.PurgedThrough, through),
            PurgeWanted = w.PurgeWanted <= through ? 0 : w.PurgeWanted,
        });
        ApplyStaged(p.Writes);
        if (IsHub(room.RoomId) && through > 0)
        {
            request.Events.Add(AppendEvent(room, SystemUser, WorkplaceEventTypes.Purge, MsgPackValue.ToCanonicalMap(new Dictionary<string, object?>
            {
                ["through"] = through,
                ["before"] = p.BeforeTs,
                ["reason"] = "retention",
            }), null));
        }
        return null;
    }

    // ---- rooms hosted elsewhere: follow the hub ----------------------------------------------------------------

    /// <summary>Applies a hub event of the workplace features to this server's copy. True when the room record changed.</summary>
    private void ApplyWorkplaceFollowerState(Room room, RoomEvent e)
    {
        if (e.Content is null || !e.Type.StartsWith("room.", StringComparison.Ordinal))
        {
            return;
        }
        var c = new FieldMap(e.ContentMap);
        var w = room.Working.State.Workplace;
        try
        {
            switch (e.Type)
            {
                case WorkplaceEventTypes.Redaction when Relations.TryRead(c.Map, out var rel) && FindEvent(room, rel.Event) is { } target:
                    if (target.Event.Content is not null && WorkplaceEventTypes.IsRemovable(target.Event.Type))
                    {
                        RemoveWithEdits(room, target.Seq, target.Stored, target.Event);
                    }
                    break;
                case WorkplaceEventTypes.Pins:
                    SetWorkplace(room, w with { Pins = [.. PinList(c)] });
                    break;
                case WorkplaceEventTypes.Posting when c.OptionalString("role", 32) is { } role && RoomRoles.IsValid(role):
                    SetWorkplace(room, w with { PostingRole = role });
                    break;
                case WorkplaceEventTypes.ContentRules:
                    SetWorkplace(room, w with { Rules = Moderation.AttachmentRules.Parse(c).Rules });
                    break;
                case WorkplaceEventTypes.Retention when c.OptionalInt("days") is { } days:
                    SetWorkplace(room, w with { RetentionDays = (int)Math.Clamp(days, 0, 36500) });
                    break;
                case WorkplaceEventTypes.Purge when c.OptionalInt("through") is { } through && through > w.PurgedThrough:
                    SetWorkplace(room, w with { PurgeWanted = Math.Max(w.PurgeWanted, through) });
                    _workplaceEffects.FollowerPurges.Add(room.Key);
                    break;
            }
        }
        catch (ProtocolException)
        {
            // A hub's malformed setting is stored as an event but changes nothing here.
        }
    }

    /// <summary>
    /// Backfilled content for an event this copy has without it: refused when the content was removed here on purpose
    /// (a redaction or this copy's retention), so a fetch that raced the removal cannot bring it back.
    /// </summary>
    private bool ContentRemovedHere(Room room, long seq, string type) =>
        (WorkplaceEventTypes.IsRemovable(type) && seq <= room.Working.State.Workplace.PurgedThrough)
        || RelationsWorking(room.Key, seq).Any(r => r.Type == Relations.Redaction);

    private static IEnumerable<EventId> PinList(FieldMap c)
    {
        if (c.Map.GetValueOrDefault("events") is List<object?> list)
        {
            foreach (var item in list)
            {
                if (item is byte[] { Length: EventId.Size } id)
                {
                    yield return new EventId(id);
                }
            }
        }
    }
}
