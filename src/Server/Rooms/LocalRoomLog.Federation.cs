using System.Security.Cryptography;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Federation;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Rooms;

/// <summary>
/// Federation in the sequencer. A room's hub is the server in its id. For rooms hosted here, proposals from other
/// servers' users (<see cref="RemoteProposal"/>) are authorized like local actions and ordered; a server whose user is
/// invited starts receiving the room (its push cursor is created in the same batch). For rooms hosted elsewhere, local
/// actions are authorized against this server's copy, signed and put in the hub's durable outbox in the same batch
/// (<see cref="Forward"/>); the hub's ordered events come back as <see cref="FollowerEventsProposal"/> and are stored
/// with their hub-assigned seq and ids under local stream positions, so fan-out, resume and history work unchanged.
/// </summary>
internal sealed partial class LocalRoomLog
{
    private readonly IRoomFederation? _federation;
    private readonly Dictionary<string, long> _outboxNext = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Origin, string Nonce), Request> _batchNonces = [];
    private readonly HashSet<(string Server, long RoomKey)> _batchCursors = [];
    private readonly List<string> _batchForwarded = [];
    private FederationBatchEffects _effects = new();
    // Set while sequencing a remote proposal: AppendEvent attaches the origin element and refuses other content.
    private byte[]? _originElement;
    private byte[]? _expectedContent;

    private bool IsHub(string roomId) => roomId.Length > 18 && roomId.AsSpan(18).SequenceEqual(_serverName);

    private bool IsHostedElsewhere(Room room) => !IsHub(room.RoomId);

    private static (ErrorCode Code, string Message)? CheckSend(RoomState state, string userId, string type)
    {
        if (!state.IsJoined(userId))
        {
            return (ErrorCode.NotMember, $"you are not a member of {state.RoomId}");
        }
        if (state.Archived)
        {
            return (ErrorCode.RoomArchived, "the room is archived and read-only");
        }
        if (!EventTypes.IsClientSendable(type))
        {
            return (ErrorCode.InvalidEventType, $"'{type}' cannot be sent; use 'message' or an 'x.' type");
        }
        if (!CanPost(state, userId, type))
        {
            return (ErrorCode.Forbidden, PostingRefusal(state));
        }
        return null;
    }

    // ---- rooms hosted elsewhere: forward to the hub ------------------------------------------------------------

    /// <summary>Signs a local action on a room hosted elsewhere and queues it in the hub's outbox, atomically with this batch.</summary>
    private (ErrorCode Code, string Message)? Forward(Request request, Room room, Actor actor, string type, byte[] content, string txn)
    {
        if (_federation is not { Enabled: true })
        {
            return (ErrorCode.FederationRefused, $"{room.RoomId} is hosted on another server and federation is off");
        }
        var (nonce, hub) = Enqueue(room, actor, type, content, txn);
        _batchForwarded.Add(nonce);
        request.RoomId = room.RoomId;
        request.SetOutcome(new AppendOutcome(null, null, [], room.RoomId) { Forwarded = _federation.Forwarded(nonce, hub) });
        return null;
    }

    /// <summary>Puts a signed proposal and its pending row in this batch. Nobody waits for it unless the caller says so.</summary>
    private (string Nonce, string Hub) Enqueue(Room room, Actor actor, string type, byte[] content, string txn)
    {
        var hub = Identifiers.ServerOf(room.RoomId);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(content, hash);
        var nonce = NewNonce(room.RoomId, actor.UserId, type, hash);
        var ts = _time.GetUtcNow().ToUnixTimeMilliseconds();
        // From the cluster log, every node writes this entry, but nodes adopt a rotated key ring at slightly different
        // moments (and a node catching up may not have adopted it yet): the entry is stored unsigned, the same on every
        // node, and the outbox sender signs it when it sends it (DestinationSender.SignUnsigned).
        var signature = _batchStamp is null
            ? _federation!.SignProposal(room.RoomId, actor.UserId, type, hash, nonce, ts)
            : OriginSignature.Placeholder(ts, nonce);
        _batch.PutOutbox(hub, NextOutboxSeq(hub), room.Key, new ProposalItem(room.RoomId, actor.UserId, type, content, signature).ToBytes());
        _batch.PutPending(new PendingRecord
        {
            Nonce = nonce,
            RoomId = room.RoomId,
            Destination = hub,
            SessionKey = actor.SessionKey,
            UserKey = actor.UserKey,
            Txn = txn,
            CreatedAt = _time.GetUtcNow().ToUnixTimeMilliseconds(),
        });
        _effects.Outboxes.Add(hub);
        return (nonce, hub);
    }

    /// <summary>
    /// A server-made membership change (offboarding, a directory rule) on a room hosted elsewhere: only removals apply
    /// there, as the user's own leave proposed to the hub; rules never add members to other servers' rooms.
    /// </summary>
    private void ForwardSystemChange(Room room, MembershipWant want, string membership, string role)
    {
        if (membership != Membership.Leave || _federation is not { Enabled: true })
        {
            return;
        }
        Enqueue(room, new Actor(want.UserId, want.UserKey, 0), EventTypes.Member, MemberContent(want.UserId, Membership.Leave, role, want.Reason), "");
    }

    /// <summary>A retried send whose first attempt is still waiting for the hub: wait for the same proposal.</summary>
    private bool ResumeForwarded(Request request, SendProposal p)
    {
        if (_federation is null || _federation.Store.FindPendingNonce(p.Actor.SessionKey, p.TransactionId) is not { } nonce
            || _federation.Store.GetPending(nonce) is not { } pending)
        {
            return false;
        }
        request.RoomId = pending.RoomId;
        request.SetOutcome(new AppendOutcome(null, null, [], pending.RoomId)
        {
            Forwarded = _federation.Forwarded(nonce, pending.Destination),
            Duplicate = true,
        });
        return true;
    }

    /// <summary>
    /// The next outbox seq for <paramref name="hub"/>. The highest seq ever used is kept (meta <c>fed_outbox_hw:&lt;hub&gt;</c>,
    /// in the same batch), so numbering never restarts after delivered entries are deleted: in cluster mode every node,
    /// restarted or not, numbers the same entry the same, and delivery progress names entries by seq.
    /// </summary>
    private long NextOutboxSeq(string hub)
    {
        if (!_outboxNext.TryGetValue(hub, out var next))
        {
            next = Math.Max(_federation!.Store.LastOutboxSeq(hub), _roomStore.GetMetaLong(OutboxHighKey(hub))) + 1;
        }
        _outboxNext[hub] = next + 1;
        _batch.PutMetaLong(OutboxHighKey(hub), next);
        return next;
    }

    private static string OutboxHighKey(string hub) => "fed_outbox_hw:" + hub;

    private LogStamp? _nonceStamp;
    private int _nonceCounter;

    /// <summary>
    /// A proposal's nonce. On a single node it is random. For a proposal from the cluster log every node must choose
    /// the same one (it is stored in the outbox and the pending row, and signed): it is derived from the proposal's place
    /// and time in the log and what it proposes, which no two proposals share.
    /// </summary>
    private string NewNonce(string roomId, string sender, string type, ReadOnlySpan<byte> contentHash)
    {
        Span<byte> nonce = stackalloc byte[16];
        if (_batchStamp is not { } stamp)
        {
            RandomNumberGenerator.Fill(nonce);
            return System.Buffers.Text.Base64Url.EncodeToString(nonce);
        }
        if (!ReferenceEquals(stamp, _nonceStamp))
        {
            _nonceStamp = stamp;
            _nonceCounter = 0;
        }
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData(System.Text.Encoding.UTF8.GetBytes($"teamcomms-nonce\n{_serverName}\n{roomId}\n{sender}\n{type}\n{stamp.EntrySeq}\n{stamp.Index}\n{stamp.TimestampMs}\n{_nonceCounter++}\n"));
        h.AppendData(contentHash);
        Span<byte> digest = stackalloc byte[32];
        h.GetHashAndReset(digest);
        return System.Buffers.Text.Base64Url.EncodeToString(digest[..16]);
    }

    // ---- delivery progress recorded through the log (cluster mode) ----------------------------------------------

    private (ErrorCode Code, string Message)? SequenceFederationProgress(Request request, FederationProgressProposal p)
    {
        if (_federation is not { Enabled: true })
        {
            return (ErrorCode.FederationRefused, "federation is off on this node");
        }
        if (p.OutboxThrough > 0)
        {
            _batch.DeleteOutbox(p.Destination, p.OutboxThrough);
        }
        foreach (var cursor in p.Cursors)
        {
            _batch.PutCursor(p.Destination, cursor.RoomKey, cursor.Seq);
        }
        foreach (var refusal in p.Refused)
        {
            if (_federation.Store.GetPending(refusal.Nonce) is { } pending)
            {
                _batch.DeletePending(pending);
            }
            _effects.Refused.Add(refusal);
        }
        _effects.Outboxes.Add(p.Destination);
        request.RoomId = null;
        return null;
    }

    // ---- rooms hosted here: participants and remote proposals --------------------------------------------------

    /// <summary>A user of another server was invited or joined a room hosted here: that server starts receiving it from seq 1.</summary>
    private void NoteRemoteParticipant(Room room, string userId)
    {
        if (_federation is not { Enabled: true } || !IsHub(room.RoomId))
        {
            return;
        }
        var server = Identifiers.ServerOf(userId);
        if (server == _serverName || !_batchCursors.Add((server, room.Key)))
        {
            return;
        }
        if (_federation.Store.GetCursor(server, room.Key) is null)
        {
            // A new participant gets the whole chain (content only where its users may read it), so that it can
            // verify every event from the room's creation.
            _batch.PutCursor(server, room.Key, 0);
        }
    }

    private (ErrorCode Code, string Message)? SequenceRemote(Request request, RemoteProposal p)
    {
        if (!IsHub(p.RoomId))
        {
            return (ErrorCode.UnknownRoom, $"this server does not host {p.RoomId}");
        }
        var nonceKey = (p.Origin, p.Signature.Nonce);
        if (_batchNonces.TryGetValue(nonceKey, out var leader))
        {
            request.Leader = leader;
            return null;
        }
        if (_federation?.Store.FindNonce(p.Origin, p.Signature.Nonce) is { } done)
        {
            if (!_events.TryGet(done.RoomKey, done.Seq, out var stored) || _rooms.Get(done.RoomKey) is not { } doneRoom)
            {
                return (ErrorCode.Internal, "a proposal nonce refers to a missing event");
            }
            request.SetOutcome(new AppendOutcome(null, null, [CommittedEvent.FromStored(doneRoom.RoomId, doneRoom.Key, stored)], doneRoom.RoomId) { Duplicate = true });
            return null;
        }
        var room = _rooms.Find(p.RoomId);
        if (room is null)
        {
            return (ErrorCode.UnknownRoom, $"no room {p.RoomId}");
        }
        (ErrorCode Code, string Message)? error;
        _originElement = p.Signature.ToBytes();
        _expectedContent = p.Content;
        try
        {
            error = p.Type switch
            {
                EventTypes.Member => SequenceRemoteMembership(request, p),
                EventTypes.Name or EventTypes.Topic => SequenceState(request, new StateProposal(p.Actor, p.RoomId, p.Type, MsgPackValue.ReadMap(p.Content))),
                WorkplaceEventTypes.Redaction => SequenceRemoteRedaction(request, p),
                WorkplaceEventTypes.PollVote => SequenceRemoteVote(request, p),
                WorkplaceEventTypes.Pins or WorkplaceEventTypes.Posting or WorkplaceEventTypes.ContentRules => SequenceRemoteSetting(request, p),
                _ => SequenceRemoteSend(request, room, p),
            };
        }
        finally
        {
            _originElement = null;
            _expectedContent = null;
        }
        if (error is null && request.Events.Count > 0)
        {
            _batch.PutNonce(p.Origin, p.Signature.Nonce, room.Key, request.Events[^1].Seq);
            _batchNonces[nonceKey] = request;
        }
        return error;
    }

    private (ErrorCode Code, string Message)? SequenceRemoteSend(Request request, Room room, RemoteProposal p)
    {
        if ((CheckSend(room.Working.State, p.Actor.UserId, p.Type) ?? CheckContent(room, p.Actor.UserId, p.Type, p.Content, remote: true)) is { } refused)
        {
            return refused;
        }
        if (CheckAckFlag(p.Content) is { } forged)
        {
            return forged;
        }
        request.Events.Add(AppendEvent(room, p.Actor.UserId, p.Type, p.Content, null));
        request.RoomId = room.RoomId;
        return null;
    }

    /// <summary>Maps a proposed member event to the action that produces it; the content must then match exactly.</summary>
    private (ErrorCode Code, string Message)? SequenceRemoteMembership(Request request, RemoteProposal p)
    {
        var c = new FieldMap(MsgPackValue.ReadMap(p.Content));
        var user = c.RequiredString("user", Identifiers.MaxIdLength);
        var membership = c.RequiredString("membership", 16);
        var role = c.RequiredString("role", 32);
        var self = user == p.Actor.UserId;
        if (!self && membership == Membership.Join)
        {
            return SequenceState(request, new StateProposal(p.Actor, p.RoomId, RoleEventType, new Dictionary<string, object?> { ["user"] = user, ["role"] = role }));
        }
        MembershipAction? action = (self, membership) switch
        {
            (true, Membership.Join) => MembershipAction.Join,
            (true, Membership.Leave) => MembershipAction.Leave,
            (false, Membership.Invite) => MembershipAction.Invite,
            (false, Membership.Leave) => MembershipAction.Kick,
            _ => null,
        };
        return action is { } a
            ? SequenceMembership(request, new MembershipProposal(p.Actor, p.RoomId, a, self ? null : user, c.OptionalString("reason", 1024)))
            : (ErrorCode.BadField, $"a member event with membership '{membership}' for {(self ? "oneself" : "another user")} is not an action");
    }

    // ---- rooms hosted elsewhere: the hub's events --------------------------------------------------------------

    private (ErrorCode Code, string Message)? SequenceFollower(Request request, FollowerEventsProposal p)
    {
        request.RoomId = p.RoomId;
        if (IsHub(p.RoomId))
        {
            return (ErrorCode.FederationRefused, "this server is the room's hub");
        }
        var room = _rooms.Find(p.RoomId);
        if (room is null)
        {
            if (p.Events.Count == 0 || p.Events[0].Event is not { Seq: 1, Type: EventTypes.Create } create)
            {
                return null; // nothing to attach to: the hub resends from seq 1
            }
            room = CreateFollowerRoom(p.RoomId, create);
        }
        var stateChanged = false;
        foreach (var v in p.Events)
        {
            var e = v.Event;
            var head = room.Working.Head;
            if (e.Seq <= head.Seq)
            {
                continue;
            }
            if (e.Seq != head.Seq + 1 || (head.Seq == 0 ? e.Prev is not null : e.Prev != head.Id))
            {
                break; // not contiguous with what is stored (a concurrent batch got here first): the caller reports the head
            }
            var ev = AppendVerbatim(room, v);
            request.Events.Add(ev);
            stateChanged |= ApplyFollowerState(room, e, ev);
        }
        if (stateChanged)
        {
            PutRoomRecord(room);
        }
        return null;
    }

    private Room CreateFollowerRoom(string roomId, RoomEvent create)
    {
        var c = new FieldMap(create.ContentMap);
        var key = _workingRoomKey++;
        var state = new RoomState
        {
            RoomId = roomId,
            Key = key,
            Creator = c.OptionalString("creator", Identifiers.MaxIdLength) ?? create.Sender,
            CreatedAt = create.Timestamp,
            Kind = c.OptionalString("kind", 32) is { } kind && RoomKinds.IsValid(kind) ? kind : RoomKinds.Group,
            HistoryVisibility = c.OptionalString("history", 32) is { } h && HistoryVisibilities.IsValid(h) ? h : HistoryVisibilities.Full,
            InvitePolicy = c.OptionalString("invite", 32) is { } i && InvitePolicies.IsValid(i) ? i : InvitePolicies.Moderators,
        };
        var room = new Room(key, roomId, new RoomView(state, RoomHead.Empty));
        _rooms.Add(room);
        _created.Add(room);
        _touched.Add(room);
        PutRoomRecord(room);
        return room;
    }

    /// <summary>Stores a hub event exactly as the hub encoded it, under the next local stream position.</summary>
    private CommittedEvent AppendVerbatim(Room room, VerifiedEvent v)
    {
        var e = v.Event;
        var head = room.Working.Head;
        var pos = ++_workingPos;
        var count = head.MessageCount + (EventTypes.CountsAsUnread(e.Type) ? 1 : 0);
        var stored = StoredEvent.Build(pos, v.Wire, count, out _);
        _batch.PutEvent(room.Key, e.Seq, stored);
        room.Working = room.Working with { Head = new RoomHead(e.Seq, e.Id, pos, count, e.Timestamp) };
        _touched.Add(room);
        MembershipChange? change = null;
        if (e.Type == EventTypes.Member && e.Content is not null)
        {
            var c = e.ContentMap;
            if (c.GetValueOrDefault("user") is string user && c.GetValueOrDefault("membership") is string membership)
            {
                change = new MembershipChange(user, membership);
            }
        }
        var ev = new CommittedEvent
        {
            RoomKey = room.Key,
            RoomId = room.RoomId,
            Seq = e.Seq,
            Pos = pos,
            Id = e.Id,
            Timestamp = e.Timestamp,
            Type = e.Type,
            Sender = e.Sender,
            Stored = stored,
            FrameLength = stored.Length - 8,
            Membership = change,
        };
        _batchEvents.Add(ev);
        OnAppended(room, ev, e.Content, verbatim: true);
        return ev;
    }

    /// <summary>Derives this server's copy of the room state from a hub event. True when the room record changed.</summary>
    private bool ApplyFollowerState(Room room, RoomEvent e, CommittedEvent ev)
    {
        var recordChanged = false;
        switch (e.Type)
        {
            case EventTypes.Member when ev.Membership is { } change:
                var role = e.ContentMap.GetValueOrDefault("role") as string is { } r && RoomRoles.IsValid(r) ? r : RoomRoles.Member;
                var managed = change.Membership == Membership.Join && e.ContentMap.GetValueOrDefault("via") as string == "rule";
                SetMember(room, change.UserId, change.Membership, role, ev, managed);
                if (change.Membership == Membership.Join && _accounts.FindUserKey(change.UserId) is not null
                    && room.Working.State.HistoryVisibility == HistoryVisibilities.Full && e.Seq > 1)
                {
                    // A local user joined a room whose whole history is visible: fetch the content this server lacks.
                    _effects.Backfills.Add((room.Key, room.RoomId, 1, e.Seq - 1));
                    _batch.PutBackfill(room.Key, 1, e.Seq - 1);
                }
                break;
            case EventTypes.Name when e.ContentMap.GetValueOrDefault("name") is string name:
                room.Working = room.Working with { State = room.Working.State with { Name = name } };
                recordChanged = true;
                break;
            case EventTypes.Archived when e.ContentMap.GetValueOrDefault("archived") is bool archived:
                room.Working = room.Working with { State = room.Working.State with { Archived = archived } };
                recordChanged = true;
                break;
            case EventTypes.Topic when e.ContentMap.GetValueOrDefault("topic") is string topic:
                room.Working = room.Working with { State = room.Working.State with { Topic = topic } };
                recordChanged = true;
                break;
        }
        ApplyWorkplaceFollowerState(room, e);
        if (e.Origin is { } signed)
        {
            // Remember which signed proposal sits where, so that a hub replaying it elsewhere is caught.
            _batch.PutNonce(Identifiers.ServerOf(e.Sender), signed.Nonce, room.Key, e.Seq);
        }
        if (e.Origin is { } origin && Identifiers.ServerOf(e.Sender) == _serverName)
        {
            // One of this server's forwarded proposals, back from the hub: the client's retry now finds the event.
            if (_federation?.Store.GetPending(origin.Nonce) is { } pending)
            {
                if (pending.Txn.Length > 0)
                {
                    _batch.PutTransaction(pending.SessionKey, pending.Txn, room.Key, e.Seq);
                    StageReadMarker(pending.UserKey, room.Key, e.Seq);
                }
                _batch.DeletePending(pending);
            }
            _effects.Ordered.Add((origin.Nonce, ev));
        }
        return recordChanged;
    }

    private (ErrorCode Code, string Message)? SequenceContentFill(Request request, ContentFillProposal p)
    {
        var room = _rooms.Find(p.RoomId);
        if (room is null)
        {
            return (ErrorCode.UnknownRoom, $"no room {p.RoomId}");
        }
        foreach (var v in p.Events)
        {
            if (v.Event.Content is null || v.Event.Seq > room.Working.Head.Seq || !_events.TryGet(room.Key, v.Event.Seq, out var stored))
            {
                continue;
            }
            var existing = EventCodec.Read(stored.Wire);
            if (existing.Id != v.Event.Id || existing.Content is not null || ContentRemovedHere(room, v.Event.Seq, existing.Type))
            {
                continue;
            }
            var filled = StoredEvent.Build(stored.Pos, v.Wire, stored.MessageCount, out _);
            _batch.PutEvent(room.Key, v.Event.Seq, filled);
            _batchStored[(room.Key, v.Event.Seq)] = filled;
            IndexRelation(room, v.Event.Seq, v.Event.Content.Value, lenient: true);
        }
        request.RoomId = room.RoomId;
        return null;
    }

    // ---- batch lifecycle ---------------------------------------------------------------------------------------

    private void AfterCommitFederation()
    {
        if (_federation is not null && !_effects.IsEmpty)
        {
            var effects = _effects;
            _effects = new FederationBatchEffects();
            _federation.AfterCommit(effects);
        }
    }

    private void RollbackFederation()
    {
        _outboxNext.Clear(); // re-read from storage: seqs of a failed batch were never written

        foreach (var nonce in _batchForwarded)
        {
            _federation?.Forget(nonce);
        }
        _effects = new FederationBatchEffects();
    }

    private void ClearFederationBatch()
    {
        _batchNonces.Clear();
        _batchCursors.Clear();
        _batchForwarded.Clear();
        if (!_effects.IsEmpty)
        {
            _effects = new FederationBatchEffects();
        }
    }
}
