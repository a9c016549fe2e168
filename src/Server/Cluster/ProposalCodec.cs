using System.Buffers;
using MessagePack;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Cluster;

/// <summary>
/// Proposals as data in a replicated log entry. Each is <c>[tag, [user, userKey, sessionKey], fields…]</c>. Only the
/// proposer's inputs travel: the sequencer's outputs (seq, prev, timestamp, ids) are decided again by every node when
/// it applies the entry. A tag this build does not know makes the whole entry unknown (<see cref="LogEntryFormatException"/>),
/// so an old node refuses a newer node's proposals instead of skipping them.
/// </summary>
internal static class ProposalCodec
{
    private const int Send = 1;
    private const int Create = 2;
    private const int Member = 3;
    private const int State = 4;
    private const int ReadMarker = 5;
    private const int Archive = 6;
    private const int Provision = 7;
    private const int System = 8;

    // Issue 7a (workplace): appended, never renumbered.
    private const int Redact = 9;
    private const int Pin = 10;
    private const int RoomSetting = 11;
    private const int Vote = 12;
    private const int ClosePoll = 13;
    private const int Purge = 14;

    // Issue 7b (attention) in cluster mode: 15-19 are this feature's (17 used, 18-19 free).
    private const int AttentionPost = 15;
    private const int AttentionRoom = 16;
    private const int AlertProgressTag = 17;

    // Federation in cluster mode (tags 20-24 are federation's).
    private const int Remote = 20;
    private const int FollowerEvents = 21;
    private const int ContentFill = 22;
    private const int FederationProgress = 23;

    /// <summary>
    /// Whether this proposal can travel through the cluster log (see docs/architecture.md).
    /// </summary>
    public static bool CanEncode(Proposal proposal) => proposal is SendProposal or CreateRoomProposal or MembershipProposal
        or StateProposal or ReadMarkerProposal or ArchiveProposal or ProvisionRoomProposal or SystemProposal
        or RedactProposal or PinProposal or RoomSettingProposal or VoteProposal or ClosePollProposal or PurgeProposal
        or RemoteProposal or FollowerEventsProposal or ContentFillProposal or FederationProgressProposal
        or AttentionPostProposal or AttentionRoomProposal or AlertProgressProposal;

    public static void Write(ref MessagePackWriter w, Proposal proposal)
    {
        switch (proposal)
        {
            case SendProposal p:
                Head(ref w, Send, p.Actor, 4);
                w.Write(p.RoomId);
                w.Write(p.TransactionId);
                w.Write(p.Type);
                w.Write(p.Content);
                break;
            case CreateRoomProposal p:
                Head(ref w, Create, p.Actor, 7);
                w.Write(p.Name);
                w.Write(p.Topic);
                w.Write(p.Kind);
                w.Write(p.HistoryVisibility);
                w.Write(p.InvitePolicy);
                Strings(ref w, p.Invite);
                w.Write(p.PresetRoomId);
                break;
            case MembershipProposal p:
                Head(ref w, Member, p.Actor, 4);
                w.Write(p.RoomId);
                w.Write((int)p.Action);
                w.Write(p.Target);
                w.Write(p.Reason);
                break;
            case StateProposal p:
                Head(ref w, State, p.Actor, 3);
                w.Write(p.RoomId);
                w.Write(p.Type);
                MsgPackValue.Write(ref w, p.Content);
                break;
            case ReadMarkerProposal p:
                Head(ref w, ReadMarker, p.Actor, 2);
                w.Write(p.RoomId);
                w.Write(p.Seq);
                break;
            case ArchiveProposal p:
                Head(ref w, Archive, p.Actor, 3);
                w.Write(p.RoomId);
                w.Write(p.Archived);
                w.Write(p.Privileged);
                break;
            case ProvisionRoomProposal p:
                Head(ref w, Provision, p.Actor, 3);
                w.Write(p.Name);
                Strings(ref w, p.Members);
                w.Write(p.PresetRoomId);
                break;
            case SystemProposal p:
                Head(ref w, System, p.Actor, 3);
                w.Write(p.By);
                w.WriteArrayHeader(p.Wants.Count);
                foreach (var want in p.Wants)
                {
                    w.WriteArrayHeader(6);
                    w.Write(want.RoomKey);
                    w.Write(want.UserId);
                    w.Write(want.UserKey);
                    w.Write((int)want.Kind);
                    w.Write(want.Reason);
                    w.Write(want.Role);
                }
                Writes(ref w, p.Writes);
                break;
            case RedactProposal p:
                Head(ref w, Redact, p.Actor, 5);
                w.Write(p.RoomId);
                Id(ref w, p.Target);
                w.Write(p.Reason);
                w.Write(p.Privileged);
                Writes(ref w, p.Writes);
                break;
            case PinProposal p:
                Head(ref w, Pin, p.Actor, 3);
                w.Write(p.RoomId);
                Id(ref w, p.Target);
                w.Write(p.Pin);
                break;
            case RoomSettingProposal p:
                Head(ref w, RoomSetting, p.Actor, 5);
                w.Write(p.RoomId);
                w.Write(p.Type);
                MsgPackValue.Write(ref w, p.Content);
                w.Write(p.Privileged);
                Writes(ref w, p.Writes);
                break;
            case VoteProposal p:
                Head(ref w, Vote, p.Actor, 3);
                w.Write(p.RoomId);
                Id(ref w, p.Poll);
                Strings(ref w, p.Options);
                break;
            case ClosePollProposal p:
                Head(ref w, ClosePoll, p.Actor, 3);
                w.Write(p.RoomId);
                Id(ref w, p.Poll);
                w.Write(p.Scheduled);
                break;
            case PurgeProposal p:
                Head(ref w, Purge, p.Actor, 6);
                w.Write(p.RoomKey);
                w.Write(p.AfterSeq);
                w.Write(p.ThroughSeq);
                w.Write(p.BeforeTs);
                w.Write(p.Final);
                Writes(ref w, p.Writes);
                break;
            case RemoteProposal p:
                Head(ref w, Remote, p.Actor, 5);
                w.Write(p.Origin);
                w.Write(p.RoomId);
                w.Write(p.Type);
                w.Write(p.Content);
                w.WriteArrayHeader(4);
                w.Write(p.Signature.KeyId);
                w.Write(p.Signature.Timestamp);
                w.Write(p.Signature.Nonce);
                w.Write(p.Signature.Signature);
                break;
            case FollowerEventsProposal p:
                Head(ref w, FollowerEvents, p.Actor, 2);
                w.Write(p.RoomId);
                Wires(ref w, p.Events);
                break;
            case ContentFillProposal p:
                Head(ref w, ContentFill, p.Actor, 2);
                w.Write(p.RoomId);
                Wires(ref w, p.Events);
                break;
            case FederationProgressProposal p:
                Head(ref w, FederationProgress, p.Actor, 4);
                w.Write(p.Destination);
                w.Write(p.OutboxThrough);
                w.WriteArrayHeader(p.Cursors.Count);
                foreach (var c in p.Cursors)
                {
                    w.WriteArrayHeader(2);
                    w.Write(c.RoomKey);
                    w.Write(c.Seq);
                }
                w.WriteArrayHeader(p.Refused.Count);
                foreach (var r in p.Refused)
                {
                    w.WriteArrayHeader(3);
                    w.Write(r.Nonce);
                    w.Write((int)r.Code);
                    w.Write(r.Message);
                }
                break;
            case AttentionPostProposal p:
                Head(ref w, AttentionPost, p.Actor, 9);
                w.Write(p.RoomId);
                w.Write(p.Type);
                w.Write(p.Content);
                w.Write(p.Sender);
                w.Write(p.Privileged);
                w.Write(p.Urgent);
                Strings(ref w, p.JoinFirst);
                if (p.Alert is null)
                {
                    w.WriteNil();
                }
                else
                {
                    w.Write(AttentionJson.Encode(p.Alert));
                }
                Writes(ref w, p.Writes);
                break;
            case AttentionRoomProposal p:
                Head(ref w, AttentionRoom, p.Actor, 10);
                w.Write(p.Owner);
                w.Write(p.Name);
                w.Write(p.Topic);
                w.Write(p.Kind);
                w.Write(p.HistoryVisibility);
                Strings(ref w, p.Join);
                w.Write(p.InvitePolicy);
                Writes(ref w, p.Writes);
                Writes(ref w, p.RoomKeyRows);
                w.Write(p.PresetRoomId);
                break;
            case AlertProgressProposal p:
                Head(ref w, AlertProgressTag, p.Actor, 7);
                w.Write(p.AlertKey);
                w.Write((int)p.Kind);
                w.Write(p.At);
                w.Write(p.Due);
                w.WriteArrayHeader(p.Users.Count);
                foreach (var user in p.Users)
                {
                    w.Write(user);
                }
                w.WriteArrayHeader(p.EscalatedTo.Count);
                foreach (var targets in p.EscalatedTo)
                {
                    Strings(ref w, targets);
                }
                Writes(ref w, p.Writes);
                break;
            default:
                throw new ArgumentException($"{proposal.GetType().Name} cannot travel through the cluster log", nameof(proposal));
        }
    }

    public static Proposal Read(ref MessagePackReader r)
    {
        var count = r.ReadArrayHeader();
        var tag = r.ReadInt32();
        r.ReadArrayHeader();
        var actor = new Actor(r.ReadString()!, r.ReadInt64(), r.ReadInt64());
        var fields = count - 2;
        Proposal proposal = tag switch
        {
            Send => new SendProposal(actor, r.ReadString()!, r.ReadString()!, r.ReadString()!, Bytes(ref r)),
            Create => new CreateRoomProposal(actor, r.ReadString()!, r.ReadString()!, r.ReadString()!, r.ReadString()!, r.ReadString()!, ReadStrings(ref r))
            {
                PresetRoomId = r.ReadString(),
            },
            Member => new MembershipProposal(actor, r.ReadString()!, (MembershipAction)r.ReadInt32(), r.ReadString(), r.ReadString()),
            State => new StateProposal(actor, r.ReadString()!, r.ReadString()!, MsgPackValue.ReadMap(ref r)),
            ReadMarker => new ReadMarkerProposal(actor, r.ReadString()!, r.ReadInt64()),
            Archive => new ArchiveProposal(actor, r.ReadString()!, r.ReadBoolean(), r.ReadBoolean()),
            Provision => new ProvisionRoomProposal(actor, r.ReadString()!, ReadStrings(ref r)) { PresetRoomId = r.ReadString() },
            System => ReadSystem(ref r, actor),
            Redact => new RedactProposal(actor, r.ReadString()!, ReadId(ref r), r.ReadString(), r.ReadBoolean(), ReadWrites(ref r)),
            Pin => new PinProposal(actor, r.ReadString()!, ReadId(ref r), r.ReadBoolean()),
            RoomSetting => new RoomSettingProposal(actor, r.ReadString()!, r.ReadString()!, MsgPackValue.ReadMap(ref r), r.ReadBoolean(), ReadWrites(ref r)),
            Vote => new VoteProposal(actor, r.ReadString()!, ReadId(ref r), ReadStrings(ref r)),
            ClosePoll => new ClosePollProposal(actor, r.ReadString()!, ReadId(ref r), r.ReadBoolean()),
            // The server's own job: no actor, as when it was proposed.
            Purge => new PurgeProposal(r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadBoolean(), ReadWrites(ref r)),
            Remote => ReadRemote(ref r, actor),
            // The remote hub's events, verified by the node that received them: no actor, as when proposed.
            FollowerEvents => new FollowerEventsProposal(r.ReadString()!, ReadWires(ref r)),
            ContentFill => new ContentFillProposal(r.ReadString()!, ReadWires(ref r)),
            FederationProgress => ReadProgress(ref r),
            AttentionPost => ReadAttentionPost(ref r, actor),
            AttentionRoom => new AttentionRoomProposal(actor, r.ReadString()!, r.ReadString()!, r.ReadString()!, r.ReadString()!, r.ReadString()!)
            {
                Join = ReadStrings(ref r),
                InvitePolicy = r.ReadString()!,
                Writes = ReadWrites(ref r),
                RoomKeyRows = ReadWrites(ref r),
                PresetRoomId = r.ReadString(),
            },
            AlertProgressTag => ReadAlertProgress(ref r, actor),
            _ => throw new LogEntryFormatException($"proposal type {tag} is unknown to this node; upgrade it"),
        };
        var read = tag switch
        {
            Send or Member => 4,
            Create => 7,
            State or Archive or Provision or System or Pin or Vote or ClosePoll => 3,
            Redact or RoomSetting or Remote => 5,
            FollowerEvents or ContentFill => 2,
            FederationProgress => 4,
            Purge => 6,
            AttentionPost => 9,
            AttentionRoom => 10,
            AlertProgressTag => 7,
            _ => 2,
        };
        // Fields added at the end by a later format are skipped by nodes that do not use them.
        for (var i = read; i < fields; i++)
        {
            r.Skip();
        }
        return proposal;
    }

    private static SystemProposal ReadSystem(ref MessagePackReader r, Actor actor)
    {
        var by = r.ReadString()!;
        var wantCount = r.ReadArrayHeader();
        var wants = new List<MembershipWant>(wantCount);
        for (var i = 0; i < wantCount; i++)
        {
            r.ReadArrayHeader();
            wants.Add(new MembershipWant(r.ReadInt64(), r.ReadString()!, r.ReadInt64(), (WantKind)r.ReadInt32(), r.ReadString()!, r.ReadString()));
        }
        return new SystemProposal(actor, by, wants, ReadWrites(ref r));
    }

    private static RemoteProposal ReadRemote(ref MessagePackReader r, Actor actor)
    {
        var origin = r.ReadString()!;
        var roomId = r.ReadString()!;
        var type = r.ReadString()!;
        var content = Bytes(ref r);
        if (r.ReadArrayHeader() != 4)
        {
            throw new LogEntryFormatException("a remote proposal's origin signature is not [key, ts, nonce, sig]");
        }
        var signature = new OriginSignature(r.ReadString()!, r.ReadInt64(), r.ReadString()!, Bytes(ref r));
        return new RemoteProposal(actor, origin, roomId, type, content, signature);
    }

    private static FederationProgressProposal ReadProgress(ref MessagePackReader r)
    {
        var destination = r.ReadString()!;
        var through = r.ReadInt64();
        var cursorCount = r.ReadArrayHeader();
        var cursors = new List<FederationCursor>(cursorCount);
        for (var i = 0; i < cursorCount; i++)
        {
            r.ReadArrayHeader();
            cursors.Add(new FederationCursor(r.ReadInt64(), r.ReadInt64()));
        }
        var refusedCount = r.ReadArrayHeader();
        var refused = new List<FederationRefusal>(refusedCount);
        for (var i = 0; i < refusedCount; i++)
        {
            r.ReadArrayHeader();
            refused.Add(new FederationRefusal(r.ReadString()!, (ErrorCode)r.ReadInt32(), r.ReadString()!));
        }
        return new FederationProgressProposal(destination, through, cursors, refused);
    }

    private static void Wires(ref MessagePackWriter w, IReadOnlyList<VerifiedEvent> events)
    {
        w.WriteArrayHeader(events.Count);
        foreach (var e in events)
        {
            w.Write(e.Wire);
        }
    }

    /// <summary>Events as the hub encoded them; decoded again here (the node that received them verified them before it proposed).</summary>
    private static List<VerifiedEvent> ReadWires(ref MessagePackReader r)
    {
        var n = r.ReadArrayHeader();
        var events = new List<VerifiedEvent>(n);
        for (var i = 0; i < n; i++)
        {
            var wire = Bytes(ref r);
            try
            {
                events.Add(new VerifiedEvent(EventCodec.Read(wire), wire));
            }
            catch (ProtocolException ex)
            {
                throw new LogEntryFormatException("a federated event in the log does not decode: " + ex.Message);
            }
        }
        return events;
    }

    private static AttentionPostProposal ReadAttentionPost(ref MessagePackReader r, Actor actor)
    {
        var roomId = r.ReadString()!;
        var type = r.ReadString()!;
        var content = Bytes(ref r);
        var sender = r.ReadString();
        var privileged = r.ReadBoolean();
        var urgent = r.ReadBoolean();
        var joinFirst = ReadStrings(ref r);
        var alert = r.TryReadNil() ? null : AttentionJson.Decode<AlertRecord>(Bytes(ref r));
        return new AttentionPostProposal(actor, roomId, type, content)
        {
            Sender = sender,
            Privileged = privileged,
            Urgent = urgent,
            JoinFirst = joinFirst,
            Alert = alert,
            Writes = ReadWrites(ref r),
        };
    }

    private static AlertProgressProposal ReadAlertProgress(ref MessagePackReader r, Actor actor)
    {
        var alertKey = r.ReadInt64();
        var kind = (AlertProgress)r.ReadInt32();
        var at = r.ReadInt64();
        var due = r.ReadInt32();
        var userCount = r.ReadArrayHeader();
        var users = new List<long>(userCount);
        for (var i = 0; i < userCount; i++)
        {
            users.Add(r.ReadInt64());
        }
        var targetCount = r.ReadArrayHeader();
        var targets = new List<IReadOnlyList<string>>(targetCount);
        for (var i = 0; i < targetCount; i++)
        {
            targets.Add(ReadStrings(ref r));
        }
        // The server's own ticks (reminders, escalation, delivery and read times) have no actor, as when they were proposed.
        return new AlertProgressProposal(actor.UserId.Length == 0 ? default : actor, alertKey, kind, at) { Due = due, Users = users, EscalatedTo = targets, Writes = ReadWrites(ref r) };
    }

    private static void Writes(ref MessagePackWriter w, IReadOnlyList<StagedWrite> writes)
    {
        w.WriteArrayHeader(writes.Count);
        foreach (var write in writes)
        {
            w.WriteArrayHeader(3);
            w.Write(write.Family);
            w.Write(write.Key);
            if (write.Value is null)
            {
                w.WriteNil();
            }
            else
            {
                w.Write(write.Value);
            }
        }
    }

    private static List<StagedWrite> ReadWrites(ref MessagePackReader r)
    {
        var writeCount = r.ReadArrayHeader();
        var writes = new List<StagedWrite>(writeCount);
        for (var i = 0; i < writeCount; i++)
        {
            r.ReadArrayHeader();
            var family = r.ReadString()!;
            var key = Bytes(ref r);
            byte[]? value = r.TryReadNil() ? null : Bytes(ref r);
            writes.Add(new StagedWrite(family, key, value));
        }
        return writes;
    }

    private static void Id(ref MessagePackWriter w, EventId id) => w.Write(id.ToArray());

    private static EventId ReadId(ref MessagePackReader r)
    {
        var bytes = Bytes(ref r);
        if (bytes.Length != EventId.Size)
        {
            throw new LogEntryFormatException($"an event id in a proposal has {bytes.Length} bytes, not {EventId.Size}");
        }
        return new EventId(bytes);
    }

    private static void Head(ref MessagePackWriter w, int tag, Actor actor, int fields)
    {
        w.WriteArrayHeader(2 + fields);
        w.Write(tag);
        w.WriteArrayHeader(3);
        w.Write(actor.UserId ?? "");
        w.Write(actor.UserKey);
        w.Write(actor.SessionKey);
    }

    private static void Strings(ref MessagePackWriter w, IReadOnlyList<string> values)
    {
        w.WriteArrayHeader(values.Count);
        foreach (var v in values)
        {
            w.Write(v);
        }
    }

    private static List<string> ReadStrings(ref MessagePackReader r)
    {
        var n = r.ReadArrayHeader();
        var list = new List<string>(n);
        for (var i = 0; i < n; i++)
        {
            list.Add(r.ReadString()!);
        }
        return list;
    }

    private static byte[] Bytes(ref MessagePackReader r) => r.ReadBytes() is { } seq ? seq.ToArray() : [];

    /// <summary>Encodes one proposal alone (tests, and sizing a proposal against the entry limit).</summary>
    public static byte[] ToBytes(Proposal proposal)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(buffer);
        Write(ref w, proposal);
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static Proposal FromBytes(ReadOnlyMemory<byte> bytes)
    {
        var r = new MessagePackReader(bytes);
        return Read(ref r);
    }
}

/// <summary>A log entry this node cannot read: an unknown format version or proposal type, or a damaged entry.</summary>
internal sealed class LogEntryFormatException(string message) : Exception(message);
