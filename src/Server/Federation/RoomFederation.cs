using Microsoft.Extensions.Options;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Federation;

/// <summary>The room log's federation seam (<see cref="IRoomFederation"/>).</summary>
internal sealed class RoomFederation(IOptions<FederationOptions> options, FederationStore store, PartnerTable partners, ServerKeyRing keys,
    ForwardRegistry forwards, FederationSenders senders, FollowerBackfill backfill, IFederationAudit audit, TimeProvider time) : IRoomFederation
{
    public bool Enabled => options.Value.Enabled;

    public FederationStore Store => store;

    public (ErrorCode Code, string Message)? CheckRemoteUser(string userId)
    {
        var server = Identifiers.ServerOf(userId);
        if (partners.IsPartner(server))
        {
            return null;
        }
        audit.Record(new FederationAuditEntry(time.GetUtcNow().ToUnixTimeMilliseconds(), FederationAuditKinds.UnlistedDestination, server,
            $"refused to invite {userId}: the server is not a federation partner"));
        return (ErrorCode.FederationRefused, $"{server} is not a federation partner of this server");
    }

    public OriginSignature SignProposal(string roomId, string sender, string type, ReadOnlySpan<byte> contentHash, string nonce, long ts)
    {
        var (keyId, sig) = keys.Sign(OriginSignature.SigningInput(EventCodec.CurrentVersion, roomId, sender, type, contentHash, ts, nonce));
        return new OriginSignature(keyId, ts, nonce, sig);
    }

    public ForwardedProposal Forwarded(string nonce, string hub) =>
        new(nonce, hub, forwards.Track(nonce), time, options.Value.PendingNotice, options.Value.CallTimeout, IsBackingOff(hub));

    public void Forget(string nonce) => forwards.Forget(nonce);

    /// <summary>Whether the hub of a forwarded proposal is currently failing (the client is told Pending at once).</summary>
    public bool IsBackingOff(string hub) => senders.IsBackingOff(hub) || !partners.IsPartner(hub);

    public void AfterCommit(FederationBatchEffects effects)
    {
        foreach (var hub in effects.Outboxes)
        {
            senders.For(hub).OutboxChanged();
        }
        foreach (var (nonce, ev) in effects.Ordered)
        {
            forwards.Complete(nonce, ForwardResult.Ordered(ev.Seq, ev.Id, ev.Timestamp));
        }
        foreach (var refusal in effects.Refused)
        {
            forwards.Complete(refusal.Nonce, ForwardResult.Refused(refusal.Code, refusal.Message));
        }
        foreach (var (roomKey, roomId, from, to) in effects.Backfills)
        {
            backfill.Schedule(roomKey, roomId, from, to);
        }
    }
}
