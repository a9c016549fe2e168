using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Rooms;

internal sealed partial class LocalRoomLog
{
    /// <summary>Attention rows staged in the current batch (hex key → value), read before the store by <see cref="SequenceAlertProgress"/>.</summary>
    private readonly Dictionary<string, byte[]?> _attentionRows = new(StringComparer.Ordinal);

    /// <summary>
    /// Only the server sets a message's acknowledgement flag (<c>alerts.send</c>), so that no client or remote server
    /// forges an urgent message; docs/protocol.md §17.
    /// </summary>
    private static (ErrorCode Code, string Message)? CheckAckFlag(byte[] content) =>
        AttentionEventTypes.CarriesAck(content)
            ? (ErrorCode.BadField, "'ack' is set by the server: ask for acknowledgement with alerts.send")
            : null;

    /// <summary>
    /// A workplace post (docs/protocol.md §17): an alert, an all-clear or cancellation, an escalation, an incident report
    /// or an anonymous reporter's message. For an alert, its recipients are the room's joined local members other than
    /// the sender at exactly this point of the log, and their rows commit with the event.
    /// </summary>
    private (ErrorCode Code, string Message)? SequenceAttentionPost(Request request, AttentionPostProposal p)
    {
        var room = _rooms.Find(p.RoomId);
        if (room is null)
        {
            return (ErrorCode.UnknownRoom, $"no room {p.RoomId}");
        }
        if (IsHostedElsewhere(room))
        {
            return (ErrorCode.FederationRefused, $"{p.RoomId} is hosted on another server; alerts and reports go to rooms hosted here");
        }
        var state = room.Working.State;
        if (state.Archived)
        {
            return (ErrorCode.RoomArchived, "the room is archived and read-only");
        }
        var sender = p.Sender ?? p.Actor.UserId;
        if (!p.Privileged)
        {
            if (!state.IsJoined(sender))
            {
                return (ErrorCode.NotMember, $"you are not a member of {state.RoomId}");
            }
            // The room's posting role and content rules (link policy) apply as to any message the sender posts.
            if (!CanPost(state, sender, p.Type))
            {
                return (ErrorCode.Forbidden, PostingRefusal(state));
            }
            if (CheckContent(room, sender, p.Type, p.Content, remote: false) is { } refused)
            {
                return refused;
            }
        }
        foreach (var user in p.JoinFirst)
        {
            if (state.Member(user) is { Membership: Membership.Invite } invited)
            {
                request.Events.Add(AppendMember(room, p.Actor.UserId, user, Membership.Join, invited.Role, "urgent message"));
            }
        }
        var ev = AppendEvent(room, sender, p.Type, p.Content, null);
        ev.Urgent = p.Urgent;
        request.Events.Add(ev);
        if (p.Alert is { } template)
        {
            var recipients = 0;
            foreach (var (userId, member) in room.Working.State.Members)
            {
                if (member.Membership != Membership.Join || userId == sender || Identifiers.ServerOf(userId) != _serverName
                    || _accounts.FindUserKey(userId) is not { } userKey)
                {
                    continue; // the system owner, remote members (they acknowledge on their own server) and the sender
                }
                StageAttention([AttentionStore.StageRecipient(new AlertRecipientRecord { AlertKey = template.Key, UserKey = userKey, UserId = userId })]);
                recipients++;
            }
            var alert = template with
            {
                RoomKey = room.Key,
                RoomId = room.RoomId,
                Seq = ev.Seq,
                Pos = ev.Pos,
                EventId = ev.Id.ToString(),
                RecipientCount = recipients,
            };
            StageAttention([AttentionStore.StageAlert(alert), AttentionStore.StageAlertByEvent(room.Key, ev.Seq, alert.Key)]);
        }
        StageAttention(p.Writes);
        request.RoomId = room.RoomId;
        return null;
    }

    /// <summary>A room the server owns (an emergency broadcast room, an incident room); no creation policy applies.</summary>
    private (ErrorCode Code, string Message)? SequenceAttentionRoom(Request request, AttentionRoomProposal p)
    {
        if (!RoomKinds.IsValid(p.Kind) || !HistoryVisibilities.IsValid(p.HistoryVisibility) || !InvitePolicies.IsValid(p.InvitePolicy)
            || p.Name.Length > 256 || p.Topic.Length > 4096)
        {
            return (ErrorCode.BadField, "invalid room settings");
        }
        foreach (var member in p.Join)
        {
            if (CheckLocalUser(member) is { } error)
            {
                return error;
            }
        }
        var roomId = p.PresetRoomId ?? Identifiers.NewRoomId(_serverName);
        if (p.PresetRoomId is not null && (!Identifiers.IsValidRoomId(roomId) || Identifiers.ServerOf(roomId) != _serverName || _rooms.Find(roomId) is not null))
        {
            return (ErrorCode.Conflict, $"room id {roomId} is taken or not this server's");
        }
        var key = _workingRoomKey++;
        var state = new RoomState
        {
            RoomId = roomId,
            Key = key,
            Creator = p.Owner,
            CreatedAt = _time.GetUtcNow().ToUnixTimeMilliseconds(),
            Name = p.Name,
            Topic = p.Topic,
            Kind = p.Kind,
            HistoryVisibility = p.HistoryVisibility,
            InvitePolicy = p.InvitePolicy,
        };
        var room = new Room(key, roomId, new RoomView(state, RoomHead.Empty));
        _rooms.Add(room);
        _created.Add(room);
        _touched.Add(room);
        request.Events.Add(AppendEvent(room, p.Owner, EventTypes.Create, MsgPackValue.ToCanonicalMap(new Dictionary<string, object?>
        {
            ["creator"] = p.Owner,
            ["hub"] = _serverName,
            ["kind"] = p.Kind,
            ["history"] = p.HistoryVisibility,
            ["invite"] = p.InvitePolicy,
            ["room_version"] = 1L,
        }), null));
        request.Events.Add(AppendMember(room, p.Owner, p.Owner, Membership.Join, RoomRoles.Owner, null));
        if (p.Name.Length > 0)
        {
            request.Events.Add(AppendEvent(room, p.Owner, EventTypes.Name, MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["name"] = p.Name }), null));
        }
        if (p.Topic.Length > 0)
        {
            request.Events.Add(AppendEvent(room, p.Owner, EventTypes.Topic, MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["topic"] = p.Topic }), null));
        }
        foreach (var member in p.Join.Distinct(StringComparer.Ordinal))
        {
            if (member != p.Owner)
            {
                request.Events.Add(AppendMember(room, p.Owner, member, Membership.Join, RoomRoles.Member, null));
            }
        }
        PutRoomRecord(room);
        StageAttention(p.Writes);
        StageAttention([.. p.RoomKeyRows.Select(r => new StagedWrite(r.Family, r.Key, KeyCodec.Long(key)))]);
        request.RoomId = roomId;
        return null;
    }

    /// <summary>
    /// A change to an alert's recipient rows (cluster mode), read and written here in log order so that every node ends
    /// with the same rows and a repeated change (a reminder tick proposed by two lease holders) changes nothing twice.
    /// </summary>
    private (ErrorCode Code, string Message)? SequenceAlertProgress(AlertProgressProposal p)
    {
        if (p.Kind == AlertProgress.Escalate && p.EscalatedTo.Count != p.Users.Count)
        {
            return (ErrorCode.BadField, "every escalated recipient needs their escalation targets");
        }
        var changed = new List<StagedWrite>();
        if (p.Kind == AlertProgress.Ack)
        {
            if (ReadRecipient(p.AlertKey, p.Actor.UserKey) is not { } r)
            {
                return (ErrorCode.NotRecipient, "you are not a recipient of this alert");
            }
            if (r.AckedAt is null)
            {
                var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
                changed.Add(AttentionStore.StageRecipient(r with { AckedAt = now, ReadAt = r.ReadAt ?? now, DeliveredAt = r.DeliveredAt ?? now }));
            }
        }
        else
        {
            for (var i = 0; i < p.Users.Count; i++)
            {
                if (ReadRecipient(p.AlertKey, p.Users[i]) is not { } r)
                {
                    continue;
                }
                var updated = p.Kind switch
                {
                    AlertProgress.Delivered when r.DeliveredAt is null => r with { DeliveredAt = p.At },
                    AlertProgress.Read when r.ReadAt is null => r with { ReadAt = p.At, DeliveredAt = r.DeliveredAt ?? p.At },
                    AlertProgress.Remind when r.AckedAt is null && r.Reminders < p.Due => r with { Reminders = p.Due, LastReminderAt = p.At },
                    AlertProgress.Escalate when r.AckedAt is null && r.EscalatedAt is null => r with { EscalatedAt = p.At, EscalatedTo = p.EscalatedTo[i] },
                    _ => r,
                };
                if (!ReferenceEquals(updated, r))
                {
                    changed.Add(AttentionStore.StageRecipient(updated));
                }
            }
        }
        StageAttention(changed);
        StageAttention(p.Writes);
        return null;
    }

    private AlertRecipientRecord? ReadRecipient(long alertKey, long userKey)
    {
        var key = KeyCodec.Tagged(KeyCodec.AttentionRecipient, alertKey, userKey);
        var value = _attentionRows.TryGetValue(Convert.ToHexString(key), out var staged) ? staged : _store.Get(key, _store.Family(AttentionStore.Family));
        return value is null ? null : AttentionJson.Decode<AlertRecipientRecord>(value);
    }

    /// <summary>Stages rows in the batch, remembering the attention family's for reads later in the same batch.</summary>
    private void StageAttention(IReadOnlyList<StagedWrite> writes)
    {
        ApplyStaged(writes); // pending audit rows among them are numbered here (cluster mode)
        foreach (var write in writes)
        {
            if (write.Family == AttentionStore.Family)
            {
                _attentionRows[Convert.ToHexString(write.Key)] = write.Value;
            }
        }
    }

    private void ClearAttentionBatch() => _attentionRows.Clear();
}
