using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using MessagePack;
using Microsoft.Extensions.Logging;
using RocksDbSharp;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Hosting;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Rooms;

/// <summary>
/// The single-node room log: one sequencer thread that authorizes each proposal against the room's state, assigns
/// the next dense sequence number, the predecessor and the timestamp, and group-commits the resulting events of
/// all rooms in one RocksDB write batch with one WAL sync. A batch closes when the queue is empty or it holds
/// <see cref="StorageOptions.MaxBatchEvents"/> events, so an idle server commits at once and a busy one amortizes
/// the sync over many events. Senders are acknowledged only after their batch is durable.
/// </summary>
internal sealed partial class LocalRoomLog : IRoomLog, IDisposable
{
    private readonly BlockingCollection<Request> _queue = new(new ConcurrentQueue<Request>());
    private readonly RocksStore _store;
    private readonly StoreBatch _batch;
    private readonly RoomRegistry _rooms;
    private readonly RoomStore _roomStore;
    private readonly EventStore _events;
    private readonly AccountStore _accounts;
    private readonly DiskSpace _disk;
    private readonly TimeProvider _time;
    private readonly StorageOptions _options;
    private readonly string _serverName;
    private readonly ICommitSink _sink;
    private readonly ILogger _logger;
    private readonly ServerMetrics _metrics;
    private readonly IRoomPolicy? _policy;
    private readonly Thread _thread;

    // Sequencer-thread state. "Working" values run ahead during a batch; the others are committed.
    private readonly List<Request> _items = [];
    private readonly List<CommittedEvent> _batchEvents = [];
    private readonly HashSet<Room> _touched = [];
    private readonly List<Room> _created = [];
    private readonly Dictionary<(long Session, string Txn), Request> _batchTxns = [];
    private readonly Dictionary<(long User, long Room), long> _markers = [];
    private readonly Dictionary<(long User, long Room), long> _batchMarkers = [];
    private readonly ArrayBufferWriter<byte> _wire = new(1024);
    private readonly byte[] _contentHash = new byte[32];
    private long _lastPos;
    private long _workingPos;
    private long _nextRoomKey;
    private long _workingRoomKey;

    public LocalRoomLog(RocksStore store, RoomRegistry rooms, RoomStore roomStore, EventStore events, AccountStore accounts,
        TimeProvider time, StorageOptions options, string serverName, ICommitSink sink, ServerMetrics metrics, ILogger<LocalRoomLog> logger,
        IRoomPolicy? policy = null, IRoomFederation? federation = null, IRoomWorkplace? workplace = null)
    {
        _policy = policy;
        _workplace = workplace;
        _workplaceStore = new WorkplaceStore(store);
        _federation = federation;
        _store = store;
        _batch = new StoreBatch(store);
        _rooms = rooms;
        _roomStore = roomStore;
        _events = events;
        _accounts = accounts;
        _time = time;
        _options = options;
        _serverName = serverName;
        _sink = sink;
        _metrics = metrics;
        _logger = logger;
        _disk = new DiskSpace(store.DataDirectory, options.MinFreeBytes);
        _lastPos = _workingPos = roomStore.GetMetaLong("last_pos");
        _nextRoomKey = _workingRoomKey = roomStore.GetMetaLong("next_room_key", 1);
        Epoch = store.Epoch;
        _thread = new Thread(Run) { IsBackground = true, Name = "teamcomms-sequencer" };
        _thread.Start();
    }

    public ulong Epoch { get; }

    public long LastPosition => Volatile.Read(ref _lastPos);

    public Task<AppendOutcome> AppendAsync(Proposal proposal)
    {
        var request = new Request(proposal);
        if (!TryEnqueue(request))
        {
            return Task.FromResult(AppendOutcome.Fail(ErrorCode.Unavailable, "the server is shutting down"));
        }
        return request.Completion.Task;
    }

    public async Task<T> BarrierAsync<T>(Func<long, T> action)
    {
        var request = new Request(pos => action(pos));
        if (!TryEnqueue(request))
        {
            throw new OperationCanceledException("the room log is stopped");
        }
        return (T)(await request.BarrierCompletion!.Task.ConfigureAwait(false))!;
    }

    private bool TryEnqueue(Request request)
    {
        try
        {
            return !_queue.IsAddingCompleted && _queue.TryAdd(request);
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        _thread.Join(TimeSpan.FromSeconds(30));
        _batch.Dispose();
    }

    private void Run()
    {
        foreach (var first in _queue.GetConsumingEnumerable())
        {
            try
            {
                RunBatch(first);
            }
            catch (Exception ex)
            {
                // A bug in one proposal must not stop the log: fail the batch, keep serving.
                LogSequencerFault(_logger, ex);
                FailAndRollback(ErrorCode.Internal, "internal error while sequencing");
            }
        }
    }

    private void RunBatch(Request first)
    {
        var next = first;
        var eventCount = 0;
        while (next is not null)
        {
            if (next.Barrier is not null)
            {
                if (_items.Count > 0)
                {
                    Commit();
                    eventCount = 0;
                }
                RunBarrier(next);
            }
            else
            {
                Sequence(next);
                _items.Add(next);
                eventCount += next.Events.Count;
                if (eventCount >= _options.MaxBatchEvents)
                {
                    break;
                }
            }
            next = _queue.TryTake(out var more) ? more : null;
        }
        if (_items.Count > 0)
        {
            Commit();
        }
    }

    private void RunBarrier(Request barrier)
    {
        try
        {
            barrier.BarrierCompletion!.TrySetResult(barrier.Barrier!(_lastPos));
        }
        catch (Exception ex)
        {
            barrier.BarrierCompletion!.TrySetException(ex);
        }
    }

    private void Commit()
    {
        var started = _time.GetTimestamp();
        try
        {
            if (_batch.Count > 0)
            {
                if (!_disk.HasRoom())
                {
                    LogDiskFull(_logger, _disk.FreeBytes(), _disk.MinFreeBytes);
                    FailAndRollback(ErrorCode.StorageFull, "the server's data volume is full; nothing was stored");
                    return;
                }
                _batch.PutMetaLong("last_pos", _workingPos);
                StampBatch();
                if (_workingRoomKey != _nextRoomKey)
                {
                    _batch.PutMetaLong("next_room_key", _workingRoomKey);
                }
                try
                {
                    _batch.Commit(durable: true);
                }
                catch (RocksDbException ex)
                {
                    LogCommitFailed(_logger, ex);
                    var full = !_disk.HasRoom() || ex.Message.Contains("space", StringComparison.OrdinalIgnoreCase);
                    FailAndRollback(full ? ErrorCode.StorageFull : ErrorCode.StorageUnavailable,
                        full ? "the server's data volume is full; nothing was stored" : "storage failed; nothing was stored");
                    return;
                }
            }
            RowsCommitted();
            foreach (var room in _touched)
            {
                room.Publish();
            }
            foreach (var (key, seq) in _batchMarkers)
            {
                _markers[key] = seq;
            }
            Volatile.Write(ref _lastPos, _workingPos);
            _nextRoomKey = _workingRoomKey;
            if (_batchEvents.Count > 0)
            {
                var durable = _time.GetTimestamp();
                foreach (var ev in _batchEvents)
                {
                    ev.DurableTimestamp = durable;
                }
                _sink.OnCommitted([.. _batchEvents]);
                _metrics.RecordCommit(_batchEvents.Count, _time.GetElapsedTime(started));
            }
            AfterCommitFederation();
            if (_batchMarkers.Count > 0)
            {
                _sink.OnReadMarkers(_batchMarkers);
            }
            AfterCommitWorkplace();
            foreach (var item in _items)
            {
                item.Complete();
            }
        }
        finally
        {
            ClearBatch();
        }
    }

    private void FailAndRollback(ErrorCode code, string message)
    {
        foreach (var room in _touched)
        {
            room.Rollback();
        }
        foreach (var room in _created)
        {
            _rooms.Remove(room);
        }
        _workingPos = _lastPos;
        _workingRoomKey = _nextRoomKey;
        RollbackFederation();
        RowsRolledBack();
        HaltIfStamped();
        foreach (var item in _items)
        {
            item.Fail(code, message);
        }
        ClearBatch();
    }

    private void ClearBatch()
    {
        _batch.Clear();
        _items.Clear();
        _batchEvents.Clear();
        _touched.Clear();
        _created.Clear();
        _batchTxns.Clear();
        _batchMarkers.Clear();
        _batchStamp = null;
        ClearFederationBatch();
        ClearWorkplaceBatch();
        ClearAttentionBatch();
    }

    // ---- sequencing ---------------------------------------------------------------------------------------------

    private void Sequence(Request request)
    {
        if (!BeginStamped(request))
        {
            return;
        }
        try
        {
            var error = request.Proposal switch
            {
                SendProposal p => SequenceSend(request, p),
                MembershipProposal p => SequenceMembership(request, p),
                CreateRoomProposal p => SequenceCreate(request, p),
                StateProposal p => SequenceState(request, p),
                ReadMarkerProposal p => SequenceReadMarker(request, p),
                ProvisionRoomProposal p => SequenceProvision(request, p),
                SystemProposal p => SequenceSystem(request, p),
                ArchiveProposal p => SequenceArchive(request, p),
                RemoteProposal p => SequenceRemote(request, p),
                FollowerEventsProposal p => SequenceFollower(request, p),
                ContentFillProposal p => SequenceContentFill(request, p),
                FederationProgressProposal p => SequenceFederationProgress(request, p),
                RedactProposal p => SequenceRedact(request, p),
                PinProposal p => SequencePin(request, p),
                RoomSettingProposal p => SequenceRoomSetting(request, p),
                VoteProposal p => SequenceVote(request, p),
                ClosePollProposal p => SequenceClosePoll(request, p),
                PurgeProposal p => SequencePurge(request, p),
                AttentionPostProposal p => SequenceAttentionPost(request, p),
                AttentionRoomProposal p => SequenceAttentionRoom(request, p),
                AlertProgressProposal p => SequenceAlertProgress(p),
                _ => (ErrorCode.Internal, "unknown proposal"),
            };
            if (error is { } e)
            {
                request.SetOutcome(AppendOutcome.Fail(e.Code, e.Message));
            }
        }
        catch (ProtocolException ex)
        {
            request.SetOutcome(AppendOutcome.Fail(ex.Code, ex.Message));
        }
    }

    private (ErrorCode Code, string Message)? SequenceSend(Request request, SendProposal p)
    {
        var txnKey = (p.Actor.SessionKey, p.TransactionId);
        if (_batchTxns.TryGetValue(txnKey, out var leader))
        {
            request.Leader = leader; // same transaction twice in one batch: share the first one's outcome
            return null;
        }
        if (ResumeForwarded(request, p))
        {
            return null; // already forwarded to the room's hub and not yet back
        }
        if (_roomStore.FindTransaction(p.Actor.SessionKey, p.TransactionId) is { } existing)
        {
            if (!_events.TryGet(existing.RoomKey, existing.Seq, out var stored))
            {
                return (ErrorCode.Internal, "transaction refers to a missing event");
            }
            var room0 = _rooms.Get(existing.RoomKey)!;
            request.SetOutcome(new AppendOutcome(null, null, [CommittedEvent.FromStored(room0.RoomId, room0.Key, stored)], room0.RoomId) { Duplicate = true });
            return null;
        }
        var room = _rooms.Find(p.RoomId);
        if (room is null)
        {
            return (ErrorCode.UnknownRoom, $"no room {p.RoomId}");
        }
        if ((CheckSend(room.Working.State, p.Actor.UserId, p.Type) ?? CheckContent(room, p.Actor.UserId, p.Type, p.Content, remote: false)) is { } refused)
        {
            return refused;
        }
        if (CheckAckFlag(p.Content) is { } forged)
        {
            return forged;
        }
        if (IsHostedElsewhere(room))
        {
            _batchTxns[txnKey] = request;
            return Forward(request, room, p.Actor, p.Type, p.Content, p.TransactionId);
        }
        var ev = AppendEvent(room, p.Actor.UserId, p.Type, p.Content, null);
        ev.AckTarget = p.AckTarget;
        ev.AckRequestId = p.AckRequestId;
        request.Events.Add(ev);
        request.RoomId = room.RoomId;
        _batch.PutTransaction(p.Actor.SessionKey, p.TransactionId, room.Key, ev.Seq);
        _batchTxns[txnKey] = request;
        // Sending implies having read up to one's own message.
        StageReadMarker(p.Actor.UserKey, room.Key, ev.Seq);
        return null;
    }

    private (ErrorCode Code, string Message)? SequenceMembership(Request request, MembershipProposal p)
    {
        var room = _rooms.Find(p.RoomId);
        if (room is null)
        {
            return (ErrorCode.UnknownRoom, $"no room {p.RoomId}");
        }
        var state = room.Working.State;
        var actor = p.Actor.UserId;
        var actorRank = RoomRoles.Rank(state.RoleOf(actor));
        var target = p.Target ?? actor;
        var current = state.Member(target);
        string membership;
        var role = current?.Role ?? RoomRoles.Member;
        if (state.Archived)
        {
            return (ErrorCode.RoomArchived, "the room is archived and read-only");
        }
        switch (p.Action)
        {
            case MembershipAction.Invite:
                if (!state.IsJoined(actor))
                {
                    return (ErrorCode.NotMember, "only members can invite");
                }
                if (state.InvitePolicy == InvitePolicies.Moderators && actorRank < RoomRoles.Rank(RoomRoles.Moderator))
                {
                    return (ErrorCode.Forbidden, "only moderators and owners can invite to this room");
                }
                if (current?.Membership is Membership.Join or Membership.Invite)
                {
                    return (ErrorCode.AlreadyMember, $"{target} is already {current.Membership}ed");
                }
                if (CheckLocalUser(target) is { } userError)
                {
                    return userError;
                }
                if (_policy?.CheckInvite(p.Actor, state, target) is { } inviteRefusal)
                {
                    return (ErrorCode.PolicyViolation, inviteRefusal);
                }
                membership = Membership.Invite;
                role = RoomRoles.Member;
                break;
            case MembershipAction.Join:
                if (current?.Membership == Membership.Join)
                {
                    return (ErrorCode.AlreadyMember, "you are already a member");
                }
                if (current?.Membership != Membership.Invite)
                {
                    return (ErrorCode.NotInvited, "this room is invite-only and you have no invitation");
                }
                membership = Membership.Join;
                break;
            case MembershipAction.Leave:
                if (current?.Membership is not (Membership.Join or Membership.Invite))
                {
                    return (ErrorCode.NotMember, "you are not a member of this room");
                }
                if (current is { Membership: Membership.Join, Managed: true })
                {
                    return (ErrorCode.PolicyViolation, "your membership of this room follows the company directory; an admin can exclude you");
                }
                membership = Membership.Leave;
                break;
            case MembershipAction.Kick:
                if (actorRank < RoomRoles.Rank(RoomRoles.Moderator))
                {
                    return (ErrorCode.Forbidden, "only moderators and owners can remove members");
                }
                if (current?.Membership is not (Membership.Join or Membership.Invite))
                {
                    return (ErrorCode.NotMember, $"{target} is not a member");
                }
                if (target != actor && RoomRoles.Rank(current.Role) >= actorRank && actorRank < RoomRoles.Rank(RoomRoles.Owner))
                {
                    return (ErrorCode.Forbidden, "you cannot remove a member of equal or higher role");
                }
                if (current is { Membership: Membership.Join, Managed: true })
                {
                    return (ErrorCode.PolicyViolation, $"{target} is a member through a company directory rule; an admin can add an exclusion instead");
                }
                membership = Membership.Leave;
                break;
            default:
                return (ErrorCode.BadRequest, "unknown membership action");
        }
        if (IsHostedElsewhere(room))
        {
            return Forward(request, room, p.Actor, EventTypes.Member,
                MemberContent(target, membership, role, p.Reason, managed: StaysManaged(state, target, membership)), "");
        }
        var ev = AppendMember(room, actor, target, membership, role, p.Reason);
        request.Events.Add(ev);
        request.RoomId = room.RoomId;
        return null;
    }

    private (ErrorCode Code, string Message)? CheckLocalUser(string userId)
    {
        if (!Identifiers.IsValidUserId(userId))
        {
            return (ErrorCode.BadField, $"'{userId}' is not a user id");
        }
        if (Identifiers.ServerOf(userId) != _serverName)
        {
            return _federation is { Enabled: true }
                ? _federation.CheckRemoteUser(userId)
                : (ErrorCode.UnknownUser, $"{userId} is on another server and this server does not federate with it");
        }
        var user = _accounts.FindUser(userId);
        if (user is null)
        {
            return (ErrorCode.UnknownUser, $"no user {userId}");
        }
        if (!user.Active)
        {
            return (ErrorCode.AccountDisabled, $"{userId} is deactivated");
        }
        return null;
    }

    private (ErrorCode Code, string Message)? SequenceCreate(Request request, CreateRoomProposal p)
    {
        if (p.Name.Length > 256 || p.Topic.Length > 4096)
        {
            return (ErrorCode.BadField, "name is at most 256 and topic at most 4096 characters");
        }
        if (!RoomKinds.IsValid(p.Kind) || !HistoryVisibilities.IsValid(p.HistoryVisibility) || !InvitePolicies.IsValid(p.InvitePolicy))
        {
            return (ErrorCode.BadField, "unknown kind, history or invite policy");
        }
        foreach (var invitee in p.Invite)
        {
            if (invitee == p.Actor.UserId)
            {
                continue;
            }
            if (CheckLocalUser(invitee) is { } error)
            {
                return error;
            }
        }
        if (_policy?.CheckCreate(p.Actor, p.Kind, p.Invite) is { } createRefusal)
        {
            return (ErrorCode.PolicyViolation, createRefusal);
        }
        var roomId = p.PresetRoomId ?? Identifiers.NewRoomId(_serverName);
        if (p.PresetRoomId is not null && (!Identifiers.IsValidRoomId(roomId) || Identifiers.ServerOf(roomId) != _serverName || _rooms.Find(roomId) is not null))
        {
            return (ErrorCode.Conflict, $"room id {roomId} is taken or not this server's");
        }
        var key = _workingRoomKey++;
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var state = new RoomState
        {
            RoomId = roomId,
            Key = key,
            Creator = p.Actor.UserId,
            CreatedAt = now,
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
        var events = request.Events;
        events.Add(AppendEvent(room, p.Actor.UserId, EventTypes.Create, MsgPackValue.ToCanonicalMap(new Dictionary<string, object?>
        {
            ["creator"] = p.Actor.UserId,
            ["hub"] = _serverName,
            ["kind"] = p.Kind,
            ["history"] = p.HistoryVisibility,
            ["invite"] = p.InvitePolicy,
            ["room_version"] = 1L,
        }), null));
        events.Add(AppendMember(room, p.Actor.UserId, p.Actor.UserId, Membership.Join, RoomRoles.Owner, null));
        if (p.Name.Length > 0)
        {
            events.Add(AppendEvent(room, p.Actor.UserId, EventTypes.Name, MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["name"] = p.Name }), null));
        }
        if (p.Topic.Length > 0)
        {
            events.Add(AppendEvent(room, p.Actor.UserId, EventTypes.Topic, MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["topic"] = p.Topic }), null));
        }
        foreach (var invitee in p.Invite.Distinct(StringComparer.Ordinal))
        {
            if (invitee != p.Actor.UserId)
            {
                events.Add(AppendMember(room, p.Actor.UserId, invitee, Membership.Invite, RoomRoles.Member, null));
            }
        }
        PutRoomRecord(room);
        request.RoomId = roomId;
        return null;
    }

    private (ErrorCode Code, string Message)? SequenceState(Request request, StateProposal p)
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
        var fields = new FieldMap(p.Content);
        switch (p.Type)
        {
            case EventTypes.Name:
            case EventTypes.Topic:
                if (rank < RoomRoles.Rank(RoomRoles.Moderator))
                {
                    return (ErrorCode.Forbidden, "only moderators and owners change the name or topic");
                }
                var field = p.Type == EventTypes.Name ? "name" : "topic";
                var value = fields.RequiredString(field, p.Type == EventTypes.Name ? 256 : 4096);
                if (IsHostedElsewhere(room))
                {
                    return Forward(request, room, p.Actor, p.Type, MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { [field] = value }), "");
                }
                request.Events.Add(AppendEvent(room, p.Actor.UserId, p.Type, MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { [field] = value }), null));
                room.Working = room.Working with
                {
                    State = p.Type == EventTypes.Name ? room.Working.State with { Name = value } : room.Working.State with { Topic = value },
                };
                PutRoomRecord(room);
                break;
            case RoleEventType:
                var target = fields.RequiredString("user", Identifiers.MaxIdLength);
                var role = fields.RequiredString("role", 32);
                if (!RoomRoles.IsValid(role))
                {
                    return (ErrorCode.BadField, $"unknown role '{role}'");
                }
                var member = state.Member(target);
                if (member?.Membership != Membership.Join)
                {
                    return (ErrorCode.NotMember, $"{target} is not a member");
                }
                var ownerCanDoAnything = rank == RoomRoles.Rank(RoomRoles.Owner);
                if (!ownerCanDoAnything && (RoomRoles.Rank(role) >= rank || RoomRoles.Rank(member.Role) >= rank))
                {
                    return (ErrorCode.Forbidden, "you can only change roles below your own");
                }
                if (IsHostedElsewhere(room))
                {
                    return Forward(request, room, p.Actor, EventTypes.Member,
                        MemberContent(target, Membership.Join, role, null, managed: StaysManaged(state, target, Membership.Join)), "");
                }
                request.Events.Add(AppendMember(room, p.Actor.UserId, target, Membership.Join, role, null));
                break;
            default:
                return (ErrorCode.InvalidEventType, $"'{p.Type}' is not a state type this server changes");
        }
        request.RoomId = room.RoomId;
        return null;
    }

    /// <summary>The role change is a member event; this pseudo-type selects it in <see cref="StateProposal"/>.</summary>
    internal const string RoleEventType = "room.role";

    private (ErrorCode Code, string Message)? SequenceReadMarker(Request request, ReadMarkerProposal p)
    {
        var room = _rooms.Find(p.RoomId);
        if (room is null)
        {
            return (ErrorCode.UnknownRoom, $"no room {p.RoomId}");
        }
        var state = room.Working.State;
        if (state.Member(p.Actor.UserId) is not { Membership: Membership.Join or Membership.Leave })
        {
            return (ErrorCode.NotMember, "you are not a member of this room");
        }
        var head = room.Working.Head.Seq;
        if (p.Seq < 0 || p.Seq > head)
        {
            return (ErrorCode.BadField, $"seq must be between 0 and the room's head {head}");
        }
        request.MarkerSeq = StageReadMarker(p.Actor.UserKey, room.Key, p.Seq);
        request.RoomId = room.RoomId;
        return null;
    }

    /// <summary>Read markers only move forward. Returns the marker after the change.</summary>
    private long StageReadMarker(long userKey, long roomKey, long seq)
    {
        var key = (userKey, roomKey);
        if (!_batchMarkers.TryGetValue(key, out var current) && !_markers.TryGetValue(key, out current))
        {
            current = _roomStore.ReadMarker(userKey, roomKey) ?? 0;
            _markers[key] = current;
        }
        if (seq <= current)
        {
            return current;
        }
        _batchMarkers[key] = seq;
        _batch.PutReadMarker(userKey, roomKey, seq);
        return seq;
    }

    /// <summary>
    /// The canonical content of a member event. A remote server proposing an action builds the same bytes from its copy
    /// of the room's state, and the hub refuses a proposal whose content differs.
    /// </summary>
    private static byte[] MemberContent(string target, string membership, string role, string? reason, string? by = null, bool managed = false)
    {
        var content = new Dictionary<string, object?>
        {
            ["user"] = target,
            ["membership"] = membership,
            ["role"] = role,
        };
        if (reason is not null)
        {
            content["reason"] = reason;
        }
        if (by is not null)
        {
            content["by"] = by;
        }
        if (managed)
        {
            content["via"] = "rule";
        }
        return MsgPackValue.ToCanonicalMap(content);
    }

    /// <summary>Whether a member event keeps the member's directory-rule flag (a join of someone already joined through a rule).</summary>
    private static bool StaysManaged(RoomState state, string target, string membership) =>
        membership == Membership.Join && state.Member(target) is { Membership: Membership.Join, Managed: true };

    /// <param name="userKey">The target's user key when the caller knows it (a user created in this very batch is not readable yet).</param>
    /// <param name="managed">Whether a join comes from a directory rule; null keeps the current flag for a member who stays joined.</param>
    /// <param name="by">Who caused a server-made change (goes into the event's <c>by</c>).</param>
    private CommittedEvent AppendMember(Room room, string actor, string target, string membership, string role, string? reason,
        long? userKey = null, bool? managed = null, string? by = null)
    {
        var isManaged = membership == Membership.Join && (managed ?? StaysManaged(room.Working.State, target, membership));
        var ev = AppendEvent(room, actor, EventTypes.Member, MemberContent(target, membership, role, reason, by, isManaged), new MembershipChange(target, membership));
        SetMember(room, target, membership, role, ev, isManaged, userKey);
        if (membership is Membership.Invite or Membership.Join)
        {
            NoteRemoteParticipant(room, target);
        }
        return ev;
    }

    /// <summary>Applies a member event to the working state and the member rows.</summary>
    private void SetMember(Room room, string target, string membership, string role, CommittedEvent ev, bool managed, long? userKey = null)
    {
        var previous = room.Working.State.Member(target);
        var joinSeq = membership == Membership.Join
            ? (previous?.Membership == Membership.Join ? previous.JoinSeq : ev.Seq)
            : previous?.JoinSeq ?? 0;
        var info = new MemberInfo(membership, role, ev.Pos, ev.Seq, joinSeq, managed);
        room.Working = room.Working with { State = room.Working.State.WithMember(target, info) };
        _batch.PutMember(room.Key, target, new MemberRecord(membership, role, ev.Pos, ev.Seq, joinSeq, managed));
        if ((userKey ?? _accounts.FindUserKey(target)) is { } key)
        {
            _batch.PutUserRoom(key, room.Key, new UserRoomRecord(membership, ev.Pos, ev.Seq));
        }
    }

    private (ErrorCode Code, string Message)? SequenceSystem(Request request, SystemProposal p)
    {
        ApplyStaged(p.Writes);
        foreach (var want in p.Wants)
        {
            var room = _rooms.Get(want.RoomKey);
            if (room is null)
            {
                continue;
            }
            var state = room.Working.State;
            if (MembershipWant.Decide(state.Member(want.UserId), want.Kind, state.Archived, want.Role) is not { } change)
            {
                continue;
            }
            if (IsHostedElsewhere(room))
            {
                ForwardSystemChange(room, want, change.Membership, change.Role);
                continue;
            }
            request.Events.Add(AppendMember(room, p.Actor.UserId, want.UserId, change.Membership, change.Role, want.Reason,
                want.UserKey, change.Managed, p.By));
        }
        return null;
    }

    private (ErrorCode Code, string Message)? SequenceArchive(Request request, ArchiveProposal p)
    {
        var room = _rooms.Find(p.RoomId);
        if (room is null)
        {
            return (ErrorCode.UnknownRoom, $"no room {p.RoomId}");
        }
        if (IsHostedElsewhere(room))
        {
            return (ErrorCode.FederationRefused, $"{p.RoomId} is hosted on another server; only its hub archives it");
        }
        var state = room.Working.State;
        if (!p.Privileged && RoomRoles.Rank(state.RoleOf(p.Actor.UserId)) < RoomRoles.Rank(RoomRoles.Owner))
        {
            return state.IsJoined(p.Actor.UserId)
                ? (ErrorCode.Forbidden, "only the room's owners or a company admin can archive or unarchive it")
                : (ErrorCode.NotMember, "you are not a member of this room");
        }
        if (state.Archived == p.Archived)
        {
            return (ErrorCode.Conflict, p.Archived ? "the room is already archived" : "the room is not archived");
        }
        request.Events.Add(AppendEvent(room, p.Actor.UserId, EventTypes.Archived,
            MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["archived"] = p.Archived }), null));
        room.Working = room.Working with { State = room.Working.State with { Archived = p.Archived } };
        PutRoomRecord(room);
        request.RoomId = room.RoomId;
        return null;
    }

    private CommittedEvent AppendEvent(Room room, string sender, string type, byte[] content, MembershipChange? membership)
    {
        if (_expectedContent is { } expected && !expected.AsSpan().SequenceEqual(content))
        {
            // Before any change: the remote proposal is refused and nothing of it is staged.
            ProtocolException.Throw(ErrorCode.EventInvalid, "the proposed content does not match what the room's state produces for this action");
        }
        var view = room.Working;
        var head = view.Head;
        var seq = head.Seq + 1;
        EventId? prev = seq == 1 ? null : head.Id;
        // Timestamps never go backwards within a room, even if the wall clock does.
        var ts = Math.Max(_time.GetUtcNow().ToUnixTimeMilliseconds(), head.Timestamp);
        var contentHash = _contentHash;
        SHA256.HashData(content, contentHash);
        var id = EventCodec.ComputeId(EventCodec.CurrentVersion, room.RoomId, seq, prev, sender, type, ts, contentHash);
        var pos = ++_workingPos;
        _wire.Clear();
        var w = new MessagePackWriter(_wire);
        EventCodec.Write(ref w, EventCodec.CurrentVersion, id, room.RoomId, seq, prev, sender, type, ts, contentHash, content, redacted: false, _originElement);
        w.Flush();
        var count = head.MessageCount + (EventTypes.CountsAsUnread(type) ? 1 : 0);
        var stored = StoredEvent.Build(pos, _wire.WrittenSpan, count, out _);
        _batch.PutEvent(room.Key, seq, stored);
        room.Working = view with { Head = new RoomHead(seq, id, pos, count, ts) };
        _touched.Add(room);
        var ev = new CommittedEvent
        {
            RoomKey = room.Key,
            RoomId = room.RoomId,
            Seq = seq,
            Pos = pos,
            Id = id,
            Timestamp = ts,
            Type = type,
            Sender = sender,
            Stored = stored,
            FrameLength = stored.Length - 8,
            Membership = membership,
        };
        _batchEvents.Add(ev);
        OnAppended(room, ev, content, verbatim: false);
        return ev;
    }

    private void PutRoomRecord(Room room)
    {
        var s = room.Working.State;
        _batch.PutRoom(new RoomRecord
        {
            Key = s.Key,
            RoomId = s.RoomId,
            Creator = s.Creator,
            CreatedAt = s.CreatedAt,
            Name = s.Name,
            Topic = s.Topic,
            Kind = s.Kind,
            HistoryVisibility = s.HistoryVisibility,
            InvitePolicy = s.InvitePolicy,
            Archived = s.Archived,
        });
    }

    // ---- requests -----------------------------------------------------------------------------------------------

    private sealed class Request
    {
        public Request(Proposal proposal)
        {
            Proposal = proposal;
            Completion = new TaskCompletionSource<AppendOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        public Request(Func<long, object?> barrier)
        {
            Proposal = null!;
            Barrier = barrier;
            Completion = null!;
            BarrierCompletion = new TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        public Proposal Proposal { get; }
        public TaskCompletionSource<AppendOutcome> Completion { get; }
        public Func<long, object?>? Barrier { get; }
        public TaskCompletionSource<object?>? BarrierCompletion { get; }
        public List<CommittedEvent> Events { get; } = [];
        public AppendOutcome? Outcome { get; private set; }
        public Request? Leader { get; set; }
        public string? RoomId { get; set; }
        public long MarkerSeq { get; set; }

        public void SetOutcome(AppendOutcome outcome) => Outcome = outcome;

        public void Complete()
        {
            if (Leader is not null)
            {
                var lead = Leader.Outcome ?? Leader.Success();
                Completion.TrySetResult(lead with { Duplicate = true });
                return;
            }
            Outcome ??= Success();
            Completion.TrySetResult(Outcome);
        }

        private AppendOutcome Success() => new(null, null, [.. Events], RoomId) { MarkerSeq = MarkerSeq };

        public void Fail(ErrorCode code, string message)
        {
            if (Outcome is { Ok: false })
            {
                Completion.TrySetResult(Outcome); // refused before the commit: keep the precise reason
                return;
            }
            Completion.TrySetResult(AppendOutcome.Fail(code, message));
        }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Error, Message = "Sequencer fault; the batch was failed and rolled back")]
    private static partial void LogSequencerFault(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Group commit failed; the batch was rolled back")]
    private static partial void LogCommitFailed(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Data volume nearly full ({Free} bytes free, {Min} required); refusing appends")]
    private static partial void LogDiskFull(ILogger logger, long free, long min);
}
