using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using TeamComms.Protocol;
using TeamComms.Protocol.Canonical;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Federation;
using TeamComms.Server.Connections;
using TeamComms.Server.Hosting;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Federation;

/// <summary>
/// Processes an incoming transaction whose request signature is verified. As the hub: verifies each proposal's
/// origin signature and hands it to the room log, which authorizes and orders it. As a participant: verifies each
/// room batch (the hub is the sender, the checkpoint signature, every id and content hash, the chain, origin
/// signatures of events from other servers, continuity with the stored copy) before anything is stored; a batch
/// that fails is refused whole and audited.
/// </summary>
internal sealed class TransactionIngest(IRoomLog log, RoomRegistry rooms, EventStore events, FederationStore store, KeyCache keys, IFederationAudit audit,
    ServerIdentity identity, TimeProvider time, IOptions<ConnectionOptions> connectionOptions)
{
    private const int RememberedTransactions = 64;
    private readonly string _serverName = identity.ServerName;
    private readonly ConcurrentDictionary<string, RecentResults> _recent = new(StringComparer.Ordinal);

    public async Task<TransactionResult> ProcessAsync(string origin, FederationTransaction txn, CancellationToken ct)
    {
        var recent = _recent.GetOrAdd(origin, _ => new RecentResults());
        if (recent.TryGet(txn.Id, out var cached))
        {
            return cached; // the same transaction id again: the same answer
        }
        var proposalResults = await ProcessProposalsAsync(origin, txn.Proposals, ct).ConfigureAwait(false);
        var roomResults = new List<RoomResult>(txn.Rooms.Count);
        foreach (var batch in txn.Rooms)
        {
            roomResults.Add(await IngestBatchAsync(origin, batch, ct).ConfigureAwait(false));
        }
        var result = new TransactionResult(txn.Id, proposalResults, roomResults);
        recent.Add(txn.Id, result);
        return result;
    }

    // ---- as the hub ----------------------------------------------------------------------------------------------

    private async Task<List<ProposalResult>> ProcessProposalsAsync(string origin, IReadOnlyList<ProposalItem> proposals, CancellationToken ct)
    {
        var results = new ProposalResult?[proposals.Count];
        var appends = new List<(int Index, Task<AppendOutcome> Task)>();
        for (var i = 0; i < proposals.Count; i++)
        {
            var p = proposals[i];
            if (await CheckProposalAsync(origin, p, ct).ConfigureAwait(false) is { } refused)
            {
                results[i] = new ProposalResult(p.Origin.Nonce, 0, null, 0, ErrorCodes.Name(refused.Code), refused.Message);
                continue;
            }
            // Appended in transaction order: the log takes them first-in, first-out.
            appends.Add((i, log.AppendAsync(new RemoteProposal(new Actor(p.Sender, 0, 0), origin, p.RoomId, p.Type, p.Content, p.Origin))));
        }
        foreach (var (index, task) in appends)
        {
            var outcome = await task.ConfigureAwait(false);
            var nonce = proposals[index].Origin.Nonce;
            results[index] = outcome.Ok && outcome.Events.Count > 0
                ? new ProposalResult(nonce, outcome.Events[^1].Seq, outcome.Events[^1].Id, outcome.Events[^1].Timestamp, null, null)
                : new ProposalResult(nonce, 0, null, 0, ErrorCodes.Name(outcome.Error ?? ErrorCode.Internal), outcome.Message ?? "not ordered");
        }
        return [.. results.Select(r => r!)];
    }

    private async Task<(ErrorCode Code, string Message)?> CheckProposalAsync(string origin, ProposalItem p, CancellationToken ct)
    {
        if (!Identifiers.IsValidUserId(p.Sender) || Identifiers.ServerOf(p.Sender) != origin)
        {
            Audit(origin, FederationAuditKinds.BadEvent, $"proposal from {p.Sender}, who is not a user of {origin}", p.RoomId);
            return (ErrorCode.Forbidden, "the sender is not a user of the origin server");
        }
        if (!Identifiers.IsValidRoomId(p.RoomId) || Identifiers.ServerOf(p.RoomId) != _serverName)
        {
            return (ErrorCode.UnknownRoom, $"this server does not host {p.RoomId}");
        }
        if (p.Type.Length is 0 or > EventTypes.MaxLength)
        {
            return (ErrorCode.InvalidEventType, "bad event type");
        }
        if (p.Content.Length > connectionOptions.Value.MaxContentBytes || !CanonicalMessagePack.IsCanonical(p.Content))
        {
            return (ErrorCode.BadField, "proposal content must be canonical and within the content limit");
        }
        var hash = SHA256.HashData(p.Content);
        var input = OriginSignature.SigningInput(EventCodec.CurrentVersion, p.RoomId, p.Sender, p.Type, hash, p.Origin.Timestamp, p.Origin.Nonce);
        if (!await keys.VerifyAsync(origin, p.Origin.KeyId, p.Origin.Timestamp, input, p.Origin.Signature, ct: ct).ConfigureAwait(false))
        {
            Audit(origin, FederationAuditKinds.BadSignature, $"origin signature of proposal {p.Origin.Nonce} by {p.Sender} does not verify", p.RoomId);
            return (ErrorCode.SignatureInvalid, "the proposal's origin signature does not verify");
        }
        return null;
    }

    // ---- as a participant ----------------------------------------------------------------------------------------

    private async Task<RoomResult> IngestBatchAsync(string origin, RoomBatch batch, CancellationToken ct)
    {
        var roomId = batch.RoomId;
        var stored = rooms.Find(roomId) is { } existing ? existing.View.Head : RoomHead.Empty;
        RoomResult Refuse(string kind, ErrorCode code, string detail)
        {
            Audit(origin, kind, detail, roomId);
            return new RoomResult(roomId, stored.Seq, ErrorCodes.Name(code), detail);
        }
        if (!Identifiers.IsValidRoomId(roomId) || Identifiers.ServerOf(roomId) != origin)
        {
            return Refuse(FederationAuditKinds.BadEvent, ErrorCode.FederationRefused, $"{origin} sent events of a room it does not host");
        }
        if (batch.Events.Count == 0)
        {
            return new RoomResult(roomId, stored.Seq, null, null);
        }
        var decoded = new List<VerifiedEvent>(batch.Events.Count);
        try
        {
            foreach (var wire in batch.Events)
            {
                decoded.Add(new VerifiedEvent(EventCodec.Read(wire), wire.ToArray()));
            }
        }
        catch (ProtocolException ex)
        {
            return Refuse(FederationAuditKinds.BadEvent, ErrorCode.EventInvalid, "malformed event: " + ex.Message);
        }
        // 1. Every event on its own: right room, id recomputes from the fields, content matches its hash.
        for (var i = 0; i < decoded.Count; i++)
        {
            var e = decoded[i].Event;
            if (e.RoomId != roomId || e.Version != EventCodec.CurrentVersion)
            {
                return Refuse(FederationAuditKinds.BadEvent, ErrorCode.EventInvalid, $"event {i} is not a version-1 event of {roomId}");
            }
            if (!EventCodec.Verify(e))
            {
                return Refuse(FederationAuditKinds.BadEvent, ErrorCode.EventInvalid, $"event at seq {e.Seq} was altered: its id or content hash does not verify");
            }
            if (e.Type.StartsWith("room.", StringComparison.Ordinal) && e.Content is null)
            {
                return Refuse(FederationAuditKinds.BadEvent, ErrorCode.EventInvalid, $"state event at seq {e.Seq} has no content");
            }
        }
        // 2. The chain inside the batch: consecutive seqs, each prev the id before it.
        for (var i = 1; i < decoded.Count; i++)
        {
            var (a, b) = (decoded[i - 1].Event, decoded[i].Event);
            if (b.Seq != a.Seq + 1 || b.Prev != a.Id)
            {
                return Refuse(FederationAuditKinds.BadEvent, ErrorCode.EventInvalid,
                    $"batch out of order or broken chain at position {i}: seq {b.Seq} after {a.Seq}, or prev is not the previous id");
            }
        }
        if (decoded[0].Event.Seq == 1 && decoded[0].Event.Prev is not null)
        {
            return Refuse(FederationAuditKinds.BadEvent, ErrorCode.EventInvalid, "seq 1 has a predecessor");
        }
        // 3. The hub's checkpoint covers the batch: it names the last event, signed by the hub's key valid at the time.
        var last = decoded[^1].Event;
        if (batch.Checkpoint is not { } cp || cp.RoomId != roomId || cp.Seq != last.Seq || cp.Head != last.Id)
        {
            return Refuse(FederationAuditKinds.BadEvent, ErrorCode.EventInvalid, "the checkpoint does not name the batch's last event");
        }
        if (!await keys.VerifyAsync(origin, cp.KeyId, cp.Timestamp, cp.SigningInput(), cp.Signature, ct: ct).ConfigureAwait(false))
        {
            return Refuse(FederationAuditKinds.BadSignature, ErrorCode.SignatureInvalid, $"checkpoint signature by {cp.KeyId} does not verify");
        }
        // 4. Events proposed by other servers' users carry their server's signature over what they proposed, and a
        //    signed proposal is ordered once: the same nonce at another place is a hub replaying it.
        var roomKeyForNonces = rooms.Find(roomId)?.Key;
        var nonces = new HashSet<(string, string)>();
        foreach (var v in decoded)
        {
            var e = v.Event;
            var senderServer = Identifiers.ServerOf(e.Sender);
            if (senderServer == origin)
            {
                continue;
            }
            if (e.Origin is not { } sig)
            {
                return Refuse(FederationAuditKinds.BadSignature, ErrorCode.SignatureInvalid, $"event at seq {e.Seq} by {e.Sender} lacks its server's origin signature");
            }
            if (!await keys.VerifyAsync(senderServer, sig.KeyId, sig.Timestamp, sig.SigningInput(e), sig.Signature, via: origin, ct: ct).ConfigureAwait(false))
            {
                return Refuse(FederationAuditKinds.BadSignature, ErrorCode.SignatureInvalid,
                    $"origin signature of the event at seq {e.Seq} by {e.Sender} does not verify: the hub may have altered it");
            }
            if (!nonces.Add((senderServer, sig.Nonce))
                || (store.FindNonce(senderServer, sig.Nonce) is { } seen && (seen.RoomKey != roomKeyForNonces || seen.Seq != e.Seq)))
            {
                return Refuse(FederationAuditKinds.BadEvent, ErrorCode.EventInvalid,
                    $"the proposal {sig.Nonce} of {e.Sender} at seq {e.Seq} was already ordered elsewhere: the hub replayed it");
            }
        }
        // 5. Continuity with this server's copy: already stored events must be identical (no fork); new ones must follow the head.
        var fresh = new List<VerifiedEvent>(decoded.Count);
        var roomKey = rooms.Find(roomId)?.Key;
        foreach (var v in decoded)
        {
            var e = v.Event;
            if (e.Seq <= stored.Seq)
            {
                if (roomKey is { } key && events.TryGet(key, e.Seq, out var mine) && EventCodec.Read(mine.Wire).Id != e.Id)
                {
                    return Refuse(FederationAuditKinds.BadEvent, ErrorCode.EventInvalid, $"event at seq {e.Seq} conflicts with the stored chain");
                }
                continue;
            }
            fresh.Add(v);
        }
        if (fresh.Count == 0)
        {
            return new RoomResult(roomId, stored.Seq, null, null);
        }
        var first = fresh[0].Event;
        if (first.Seq > stored.Seq + 1)
        {
            return new RoomResult(roomId, stored.Seq, null, null); // a gap: the hub resends from our head
        }
        if (stored.Seq > 0 && first.Prev != stored.Id)
        {
            return Refuse(FederationAuditKinds.BadEvent, ErrorCode.EventInvalid, $"event at seq {first.Seq} does not follow the stored head");
        }
        var outcome = await log.AppendAsync(new FollowerEventsProposal(roomId, fresh)).ConfigureAwait(false);
        if (!outcome.Ok)
        {
            return new RoomResult(roomId, stored.Seq, ErrorCodes.Name(outcome.Error!.Value), outcome.Message);
        }
        return new RoomResult(roomId, rooms.Find(roomId)?.View.Head.Seq ?? 0, null, null);
    }

    private void Audit(string server, string kind, string detail, string? roomId) =>
        audit.Record(new FederationAuditEntry(time.GetUtcNow().ToUnixTimeMilliseconds(), kind, server, detail, roomId));

    /// <summary>The answers to an origin's last transactions, so a retried id is answered without redoing it.</summary>
    private sealed class RecentResults
    {
        private readonly Queue<string> _order = new();
        private readonly Dictionary<string, TransactionResult> _results = new(StringComparer.Ordinal);
        private readonly Lock _lock = new();

        public bool TryGet(string id, out TransactionResult result)
        {
            lock (_lock)
            {
                return _results.TryGetValue(id, out result!);
            }
        }

        public void Add(string id, TransactionResult result)
        {
            lock (_lock)
            {
                if (_results.TryAdd(id, result))
                {
                    _order.Enqueue(id);
                    while (_order.Count > RememberedTransactions)
                    {
                        _results.Remove(_order.Dequeue());
                    }
                }
            }
        }
    }
}
