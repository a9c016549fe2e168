using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Conversations;
using TeamComms.Server.Moderation;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Rooms;

/// <summary>Pins, room settings (posting role, content rules, retention) and polls in the sequencer.</summary>
internal sealed partial class LocalRoomLog
{
    /// <summary>Most pinned events per room.</summary>
    internal const int MaxPins = 50;

    private (ErrorCode Code, string Message)? SequencePin(Request request, PinProposal p)
    {
        var room = _rooms.Find(p.RoomId);
        if (room is null)
        {
            return (ErrorCode.UnknownRoom, $"no room {p.RoomId}");
        }
        var state = room.Working.State;
        if (!state.IsJoined(p.Actor.UserId))
        {
            return (ErrorCode.NotMember, "you are not a member of this room");
        }
        if (state.Archived)
        {
            return (ErrorCode.RoomArchived, "the room is archived and read-only");
        }
        var rank = RoomRoles.Rank(state.RoleOf(p.Actor.UserId));
        var needed = state.Kind == RoomKinds.Announcement ? RoomRoles.Rank(RoomRoles.Poster) : RoomRoles.Rank(RoomRoles.Moderator);
        if (rank < needed)
        {
            return (ErrorCode.Forbidden, state.Kind == RoomKinds.Announcement
                ? "only posters, moderators and owners pin in an announcement room"
                : "only moderators and owners pin");
        }
        var pins = state.Workplace.Pins;
        if (p.Pin)
        {
            if (FindEvent(room, p.Target) is not { } target || !VisibleTo(state, p.Actor.UserId, target.Seq))
            {
                return (ErrorCode.UnknownEvent, "no such event in this room");
            }
            if (!WorkplaceEventTypes.IsRemovable(target.Event.Type))
            {
                return (ErrorCode.InvalidRelation, "room state events cannot be pinned");
            }
            if (pins.Contains(p.Target))
            {
                return (ErrorCode.Conflict, "that event is already pinned");
            }
            if (pins.Length >= MaxPins)
            {
                return (ErrorCode.Conflict, $"a room has at most {MaxPins} pins; unpin one first");
            }
            pins = pins.Add(p.Target);
        }
        else
        {
            if (!pins.Contains(p.Target))
            {
                return (ErrorCode.Conflict, "that event is not pinned");
            }
            pins = pins.Remove(p.Target);
        }
        var content = MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["events"] = pins.Select(id => (object?)id.ToArray()).ToList() });
        if (IsHostedElsewhere(room))
        {
            return Forward(request, room, p.Actor, WorkplaceEventTypes.Pins, content, "");
        }
        request.Events.Add(AppendEvent(room, p.Actor.UserId, WorkplaceEventTypes.Pins, content, null));
        SetWorkplace(room, state.Workplace with { Pins = pins });
        request.RoomId = room.RoomId;
        return null;
    }

    private (ErrorCode Code, string Message)? SequenceRoomSetting(Request request, RoomSettingProposal p)
    {
        var room = _rooms.Find(p.RoomId);
        if (room is null)
        {
            return (ErrorCode.UnknownRoom, $"no room {p.RoomId}");
        }
        var state = room.Working.State;
        var rank = state.IsJoined(p.Actor.UserId) ? RoomRoles.Rank(state.RoleOf(p.Actor.UserId)) : -1;
        if (state.Archived)
        {
            return (ErrorCode.RoomArchived, "the room is archived and read-only");
        }
        var fields = new FieldMap(p.Content);
        var w = state.Workplace;
        Dictionary<string, object?> content;
        WorkplaceRoomState next;
        switch (p.Type)
        {
            case WorkplaceEventTypes.Posting:
                if (!p.Privileged && rank < RoomRoles.Rank(RoomRoles.Owner))
                {
                    return rank < 0 ? (ErrorCode.NotMember, "you are not a member of this room") : (ErrorCode.Forbidden, "only owners (and company admins) choose who posts");
                }
                var role = fields.RequiredString("role", 32);
                if (!RoomRoles.IsValid(role))
                {
                    return (ErrorCode.BadField, "role is member, poster, moderator or owner");
                }
                content = new() { ["role"] = role };
                next = w with { PostingRole = role };
                break;
            case WorkplaceEventTypes.ContentRules:
                if (!p.Privileged && rank < RoomRoles.Rank(RoomRoles.Moderator))
                {
                    return rank < 0 ? (ErrorCode.NotMember, "you are not a member of this room") : (ErrorCode.Forbidden, "only moderators and owners (and company admins) set content rules");
                }
                var (rules, parsed) = AttachmentRules.Parse(fields);
                content = parsed;
                next = w with { Rules = rules };
                break;
            case WorkplaceEventTypes.Retention:
                if (!p.Privileged)
                {
                    return (ErrorCode.Forbidden, "retention is set by company admins and compliance officers");
                }
                if (IsHostedElsewhere(room))
                {
                    return (ErrorCode.FederationRefused, $"{room.RoomId} is hosted on {Identifiers.ServerOf(room.RoomId)}; its hub sets its retention");
                }
                var days = fields.RequiredInt("days");
                if (days is < 0 or > 36500)
                {
                    return (ErrorCode.BadField, "days is 0 (the company default) to 36500");
                }
                content = new() { ["days"] = days };
                next = w with { RetentionDays = (int)days };
                break;
            default:
                return (ErrorCode.InvalidEventType, $"'{p.Type}' is not a room setting");
        }
        var bytes = MsgPackValue.ToCanonicalMap(content);
        if (IsHostedElsewhere(room))
        {
            if (rank < 0)
            {
                return (ErrorCode.FederationRefused, $"{room.RoomId} is hosted on {Identifiers.ServerOf(room.RoomId)}; only its members change it");
            }
            var forwarded = Forward(request, room, p.Actor, p.Type, bytes, "");
            if (forwarded is null)
            {
                ApplyStaged(p.Writes); // staged writes only with a proposal that will commit
            }
            return forwarded;
        }
        ApplyStaged(p.Writes);
        request.Events.Add(AppendEvent(room, p.Actor.UserId, p.Type, bytes, null));
        SetWorkplace(room, next);
        request.RoomId = room.RoomId;
        return null;
    }

    // ---- polls -------------------------------------------------------------------------------------------------

    private (ErrorCode Code, string Message)? SequenceVote(Request request, VoteProposal p)
    {
        var room = _rooms.Find(p.RoomId);
        if (room is null)
        {
            return (ErrorCode.UnknownRoom, $"no room {p.RoomId}");
        }
        var state = room.Working.State;
        var user = p.Actor.UserId;
        if (!state.IsJoined(user))
        {
            return (ErrorCode.NotMember, "you are not a member of this room");
        }
        if (state.Archived)
        {
            return (ErrorCode.RoomArchived, "the room is archived and read-only");
        }
        if (FindPoll(room, p.Poll, user) is not { } found)
        {
            return (ErrorCode.UnknownEvent, "no such poll in this room");
        }
        var (pollSeq, spec) = found;
        if (spec.Error is { } broken)
        {
            return (ErrorCode.InvalidRelation, "that poll is malformed: " + broken);
        }
        var tally = GetTally(room, pollSeq);
        if (tally.Closed || spec.ClosesAt is { } at && at <= NowMs)
        {
            return (ErrorCode.PollClosed, "the poll is closed");
        }
        var options = p.Options.Distinct(StringComparer.Ordinal).ToList();
        if (options.Count != p.Options.Count || options.Any(o => !spec.OptionIds.Contains(o)))
        {
            return (ErrorCode.BadField, $"options are distinct ids of the poll's options ({string.Join(", ", spec.OptionIds)})");
        }
        if (options.Count > 1 && !spec.Multiple)
        {
            return (ErrorCode.BadField, "this poll takes one choice");
        }
        var voteContent = MsgPackValue.ToCanonicalMap(new Dictionary<string, object?>
        {
            ["options"] = options.Cast<object?>().ToList(),
            [Relations.Field] = Relations.Build(Relations.Vote, p.Poll),
        });
        if (IsHostedElsewhere(room))
        {
            return spec.Anonymous
                ? (ErrorCode.FederationRefused, $"votes in anonymous polls are counted by the room's hub and cannot be sent from another server yet")
                : Forward(request, room, p.Actor, WorkplaceEventTypes.PollVote, voteContent, "");
        }
        if (!spec.Anonymous && ExpectedMismatch(voteContent))
        {
            return (ErrorCode.EventInvalid, "the proposed vote does not match what the action produces");
        }
        var voteKey = KeyCodec.Vote(room.Key, pollSeq, user);
        var previous = GetRow(voteKey) is { } sealedVote ? WorkplaceJson.Decode<List<string>>(_workplaceStore.Open(room.Key, voteKey, sealedVote)) : null;
        var counts = spec.OptionIds.ToDictionary(id => id, id => tally.Counts.GetValueOrDefault(id), StringComparer.Ordinal);
        var voters = tally.Voters;
        if (previous is { Count: > 0 })
        {
            foreach (var o in previous.Where(counts.ContainsKey))
            {
                counts[o] = Math.Max(0, counts[o] - 1);
            }
            voters--;
        }
        if (options.Count > 0)
        {
            foreach (var o in options)
            {
                counts[o]++;
            }
            voters++;
            PutRow(voteKey, _workplaceStore.Seal(room.Key, voteKey, WorkplaceJson.Encode(options)));
        }
        else if (previous is not null)
        {
            DeleteRow(voteKey);
        }
        var next = new PollTallyRecord { Counts = counts, Voters = Math.Max(0, voters) };
        PutTally(room, pollSeq, next);
        if (!spec.Anonymous)
        {
            request.Events.Add(AppendEvent(room, user, WorkplaceEventTypes.PollVote, voteContent, null));
        }
        EndRemoteExpectation();
        request.Events.Add(AppendResults(room, p.Poll, next));
        request.RoomId = room.RoomId;
        return null;
    }

    private (ErrorCode Code, string Message)? SequenceClosePoll(Request request, ClosePollProposal p)
    {
        var room = _rooms.Find(p.RoomId);
        if (room is null)
        {
            return (ErrorCode.UnknownRoom, $"no room {p.RoomId}");
        }
        if (IsHostedElsewhere(room))
        {
            return (ErrorCode.FederationRefused, $"polls in {room.RoomId} close on its hub, {Identifiers.ServerOf(room.RoomId)} (at their closing time)");
        }
        var state = room.Working.State;
        if (FindPoll(room, p.Poll, p.Scheduled ? null : p.Actor.UserId) is not { } found || found.Spec.Error is not null)
        {
            return p.Scheduled ? null : (ErrorCode.UnknownEvent, "no such poll in this room");
        }
        var (pollSeq, spec) = found;
        if (!p.Scheduled)
        {
            var sender = FindEvent(room, p.Poll)!.Value.Event.Sender;
            var moderator = state.IsJoined(p.Actor.UserId) && RoomRoles.Rank(state.RoleOf(p.Actor.UserId)) >= RoomRoles.Rank(RoomRoles.Moderator);
            if (sender != p.Actor.UserId && !moderator)
            {
                return (ErrorCode.Forbidden, "only the poll's sender and the room's moderators close it");
            }
        }
        var tally = GetTally(room, pollSeq);
        if (tally.Closed)
        {
            return p.Scheduled ? null : (ErrorCode.PollClosed, "the poll is already closed");
        }
        var closed = tally with { Closed = true, Counts = spec.OptionIds.ToDictionary(id => id, id => tally.Counts.GetValueOrDefault(id), StringComparer.Ordinal) };
        PutTally(room, pollSeq, closed);
        if (spec.ClosesAt is { } at)
        {
            DeleteRow(KeyCodec.TaggedTriple(KeyCodec.PollCloseTag, at, room.Key, pollSeq));
        }
        request.Events.Add(AppendResults(room, p.Poll, closed));
        request.RoomId = room.RoomId;
        return null;
    }

    /// <summary>The poll with <paramref name="id"/>, visible to <paramref name="userId"/> (any member when null), with its definition.</summary>
    private (long Seq, PollSpec Spec)? FindPoll(Room room, EventId id, string? userId)
    {
        if (FindEvent(room, id) is not { } e || e.Event.Type != WorkplaceEventTypes.Poll || e.Event.Content is not { } c
            || (userId is not null && !VisibleTo(room.Working.State, userId, e.Seq)))
        {
            return null;
        }
        // Validity is judged as of the poll's own time: a closing time that has since passed is not an error here.
        return (e.Seq, PollSpec.Parse(new FieldMap(MsgPackValue.ReadMap(c)), e.Event.Timestamp));
    }

    private PollTallyRecord GetTally(Room room, long pollSeq)
    {
        var key = KeyCodec.TaggedPair(KeyCodec.TallyTag, room.Key, pollSeq);
        return GetRow(key) is { } v ? WorkplaceJson.Decode<PollTallyRecord>(_workplaceStore.Open(room.Key, key, v)) : new PollTallyRecord();
    }

    private void PutTally(Room room, long pollSeq, PollTallyRecord tally)
    {
        var key = KeyCodec.TaggedPair(KeyCodec.TallyTag, room.Key, pollSeq);
        PutRow(key, _workplaceStore.Seal(room.Key, key, WorkplaceJson.Encode(tally)));
    }

    private CommittedEvent AppendResults(Room room, EventId poll, PollTallyRecord tally) =>
        AppendEvent(room, SystemUser, WorkplaceEventTypes.PollResults, MsgPackValue.ToCanonicalMap(new Dictionary<string, object?>
        {
            ["counts"] = tally.Counts.ToDictionary(kv => kv.Key, kv => (object?)kv.Value, StringComparer.Ordinal),
            ["voters"] = tally.Voters,
            ["closed"] = tally.Closed,
            [Relations.Field] = Relations.Build(Relations.Results, poll),
        }), null);

    /// <summary>
    /// After the event a remote proposal asked for is appended, the server's own follow-up events (poll results) carry
    /// no origin signature and need not match the proposal.
    /// </summary>
    private bool ExpectedMismatch(byte[] content) => _expectedContent is { } expected && !expected.AsSpan().SequenceEqual(content);

    private void EndRemoteExpectation()
    {
        _originElement = null;
        _expectedContent = null;
    }

    /// <summary>A vote proposed by a user of another server (non-anonymous polls): the same checks and tally.</summary>
    private (ErrorCode Code, string Message)? SequenceRemoteVote(Request request, RemoteProposal p)
    {
        var c = new FieldMap(MsgPackValue.ReadMap(p.Content));
        if (!Relations.TryRead(c.Map, out var rel) || rel.Type != Relations.Vote)
        {
            return (ErrorCode.BadField, "a vote has \"rel\": {\"type\": \"vote\", \"event\": <poll id>}");
        }
        var room = _rooms.Find(p.RoomId);
        if (room is not null && FindPoll(room, rel.Event, null) is { Spec.Anonymous: true })
        {
            return (ErrorCode.FederationRefused, "votes in anonymous polls cannot be proposed by another server");
        }
        return SequenceVote(request, new VoteProposal(p.Actor, p.RoomId, rel.Event, c.OptionalStrings("options") ?? []));
    }

    /// <summary>A setting (pins, posting role, content rules) proposed by a user of another server.</summary>
    private (ErrorCode Code, string Message)? SequenceRemoteSetting(Request request, RemoteProposal p)
    {
        var c = new FieldMap(MsgPackValue.ReadMap(p.Content));
        if (p.Type == WorkplaceEventTypes.Pins)
        {
            var room = _rooms.Find(p.RoomId);
            if (room is null)
            {
                return (ErrorCode.UnknownRoom, $"no room {p.RoomId}");
            }
            var current = room.Working.State.Workplace.Pins;
            var proposed = PinList(c).ToList();
            // A pin list differs from the current one by one added or removed id.
            if (proposed.Count == current.Length + 1 && current.All(proposed.Contains))
            {
                return SequencePin(request, new PinProposal(p.Actor, p.RoomId, proposed[^1], true));
            }
            if (proposed.Count == current.Length - 1 && current.FirstOrDefault(x => !proposed.Contains(x)) is { IsEmpty: false } removed)
            {
                return SequencePin(request, new PinProposal(p.Actor, p.RoomId, removed, false));
            }
            return (ErrorCode.EventInvalid, "the proposed pins do not follow from the room's current pins");
        }
        return SequenceRoomSetting(request, new RoomSettingProposal(p.Actor, p.RoomId, p.Type, c.Map, false, []));
    }
}
