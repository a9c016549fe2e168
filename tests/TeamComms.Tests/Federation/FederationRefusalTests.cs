using System.Net;
using TeamComms.Crypto;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Federation;
using TeamComms.Server.Federation;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Federation;

/// <summary>
/// A participant refuses, audits and stores nothing of: a tampered event, a wrong signature, a reordered batch, an
/// event a hub altered after its origin signed it; and afterwards the genuine events still arrive (nothing lost).
/// </summary>
[Collection("federation")]
public class FederationRefusalTests(TwoServers servers) : IClassFixture<TwoServers>
{
    private FederatedServers Cluster => servers.Cluster;

    [Fact]
    public async Task TamperedEvent_IsRefusedAndAudited_AndTheRealEventsStillArrive()
    {
        await using var shared = await servers.SharedRoomAsync();
        var head = TwoServers.HeadOf(Cluster.B, shared.RoomId);
        var forged = FederationProbe.Forge(shared.RoomId, head.Seq, head.Id, shared.Alice.UserId, "original", FederationProbe.Now(Cluster.A));
        // The content changed after the id was computed: the content hash no longer matches.
        var tampered = FederationProbe.WithContent(forged, "tampered");
        var (status, result, _) = await FederationProbe.SendTransactionAsync(Cluster.A, Cluster.B,
            [FederationProbe.Batch(Cluster.A, shared.RoomId, [forged], wires: [tampered])]);
        Assert.Equal(200, status);
        Assert.Equal("event_invalid", result!.Rooms.Single().Error);
        Assert.Equal(head.Seq, result.Rooms.Single().Head);
        await Cluster.B.WaitForAuditAsync(FederationAuditKinds.BadEvent, "was altered");
        Assert.Equal(head, TwoServers.HeadOf(Cluster.B, shared.RoomId));

        await AssertNothingLostAsync(shared, head.Seq);
    }

    [Fact]
    public async Task ReorderedBatch_IsRefusedAndAudited()
    {
        await using var shared = await servers.SharedRoomAsync();
        var head = TwoServers.HeadOf(Cluster.B, shared.RoomId);
        var now = FederationProbe.Now(Cluster.A);
        var first = FederationProbe.Forge(shared.RoomId, head.Seq, head.Id, shared.Alice.UserId, "one", now);
        var second = FederationProbe.Forge(shared.RoomId, first.Seq, first.Id, shared.Alice.UserId, "two", now);
        var (_, result, _) = await FederationProbe.SendTransactionAsync(Cluster.A, Cluster.B,
            [FederationProbe.Batch(Cluster.A, shared.RoomId, [second, first])]);
        Assert.Equal("event_invalid", result!.Rooms.Single().Error);
        await Cluster.B.WaitForAuditAsync(FederationAuditKinds.BadEvent, "out of order");
        Assert.Equal(head, TwoServers.HeadOf(Cluster.B, shared.RoomId));

        await AssertNothingLostAsync(shared, head.Seq);
    }

    [Fact]
    public async Task CheckpointWithWrongSignature_IsRefusedAndAudited()
    {
        await using var shared = await servers.SharedRoomAsync();
        var head = TwoServers.HeadOf(Cluster.B, shared.RoomId);
        var forged = FederationProbe.Forge(shared.RoomId, head.Seq, head.Id, shared.Alice.UserId, "forged", FederationProbe.Now(Cluster.A));
        using var wrong = SigningKey.Generate();
        var (_, result, _) = await FederationProbe.SendTransactionAsync(Cluster.A, Cluster.B,
            [FederationProbe.Batch(Cluster.A, shared.RoomId, [forged], wrongKey: wrong)]);
        Assert.Equal("signature_invalid", result!.Rooms.Single().Error);
        await Cluster.B.WaitForAuditAsync(FederationAuditKinds.BadSignature, "checkpoint signature");
        Assert.Equal(head, TwoServers.HeadOf(Cluster.B, shared.RoomId));

        await AssertNothingLostAsync(shared, head.Seq);
    }

    [Fact]
    public async Task RequestWithWrongSignature_IsRefusedAndAudited()
    {
        await using var shared = await servers.SharedRoomAsync();
        var head = TwoServers.HeadOf(Cluster.B, shared.RoomId);
        var forged = FederationProbe.Forge(shared.RoomId, head.Seq, head.Id, shared.Alice.UserId, "forged", FederationProbe.Now(Cluster.A));
        using var wrong = SigningKey.Generate();
        var (status, _, body) = await FederationProbe.SendTransactionAsync(Cluster.A, Cluster.B,
            [FederationProbe.Batch(Cluster.A, shared.RoomId, [forged])], wrongKey: wrong);
        Assert.Equal(401, status);
        Assert.Equal("signature_invalid", FederationProbe.ErrorCodeOf(body));
        await Cluster.B.WaitForAuditAsync(FederationAuditKinds.BadSignature, "request signature");
        Assert.Equal(head, TwoServers.HeadOf(Cluster.B, shared.RoomId));
    }

    [Fact]
    public async Task HubAlteringAnotherServersEvent_IsCaughtByTheOriginSignature()
    {
        await using var shared = await servers.SharedRoomAsync();
        var ack = await shared.B.SendTextAsync(shared.RoomId, "what bob really said");
        var events = await shared.BEvents.WaitAsync(es => es.Any(e => e.RoomId == shared.RoomId && e.Seq == ack.Seq));
        var real = events.Single(e => e.RoomId == shared.RoomId && e.Seq == ack.Seq);
        Assert.NotNull(real.Origin);
        var head = TwoServers.HeadOf(Cluster.B, shared.RoomId);
        // A malicious hub re-creates bob's event with other words: a correct id, chain and checkpoint, but bob's
        // server never signed this content.
        var altered = FederationProbe.Forge(shared.RoomId, head.Seq, head.Id, shared.Bob.UserId, "words bob never said", FederationProbe.Now(Cluster.A), real.Origin);
        var (_, result, _) = await FederationProbe.SendTransactionAsync(Cluster.A, Cluster.B, [FederationProbe.Batch(Cluster.A, shared.RoomId, [altered])]);
        Assert.Equal("signature_invalid", result!.Rooms.Single().Error);
        await Cluster.B.WaitForAuditAsync(FederationAuditKinds.BadSignature, "may have altered");
        // Without any origin signature it is refused too.
        var unsigned = FederationProbe.Forge(shared.RoomId, head.Seq, head.Id, shared.Bob.UserId, "unsigned", FederationProbe.Now(Cluster.A));
        (_, result, _) = await FederationProbe.SendTransactionAsync(Cluster.A, Cluster.B, [FederationProbe.Batch(Cluster.A, shared.RoomId, [unsigned])]);
        Assert.Equal("signature_invalid", result!.Rooms.Single().Error);
        await Cluster.B.WaitForAuditAsync(FederationAuditKinds.BadSignature, "lacks its server's origin signature");
        Assert.Equal(head, TwoServers.HeadOf(Cluster.B, shared.RoomId));

        await AssertNothingLostAsync(shared, head.Seq);
    }

    [Fact]
    public async Task HubReplayingASignedProposal_IsCaughtByItsNonce()
    {
        await using var shared = await servers.SharedRoomAsync();
        var ack = await shared.B.SendTextAsync(shared.RoomId, "say it once");
        var events = await shared.BEvents.WaitAsync(es => es.Any(e => e.RoomId == shared.RoomId && e.Seq == ack.Seq));
        var real = events.Single(e => e.RoomId == shared.RoomId && e.Seq == ack.Seq);
        var head = TwoServers.HeadOf(Cluster.B, shared.RoomId);
        // The same signed proposal ordered a second time: its origin signature is valid, but its nonce was used.
        var replayed = FederationProbe.Forge(shared.RoomId, head.Seq, head.Id, shared.Bob.UserId, "say it once", FederationProbe.Now(Cluster.A), real.Origin);
        var (_, result, _) = await FederationProbe.SendTransactionAsync(Cluster.A, Cluster.B, [FederationProbe.Batch(Cluster.A, shared.RoomId, [replayed])]);
        Assert.Equal("event_invalid", result!.Rooms.Single().Error);
        await Cluster.B.WaitForAuditAsync(FederationAuditKinds.BadEvent, "replayed it");
        Assert.Equal(head, TwoServers.HeadOf(Cluster.B, shared.RoomId));

        await AssertNothingLostAsync(shared, head.Seq);
    }

    [Fact]
    public async Task EventsOfARoomTheSenderDoesNotHost_AreRefused()
    {
        await using var shared = await servers.SharedRoomAsync();
        // B pretends to be the hub of a room hosted on A.
        var head = TwoServers.HeadOf(Cluster.A, shared.RoomId);
        var forged = FederationProbe.Forge(shared.RoomId, head.Seq, head.Id, shared.Bob.UserId, "not yours", FederationProbe.Now(Cluster.B));
        var (_, result, _) = await FederationProbe.SendTransactionAsync(Cluster.B, Cluster.A, [FederationProbe.Batch(Cluster.B, shared.RoomId, [forged])]);
        Assert.Equal("federation_refused", result!.Rooms.Single().Error);
        await Cluster.A.WaitForAuditAsync(FederationAuditKinds.BadEvent, "does not host");
        Assert.Equal(head, TwoServers.HeadOf(Cluster.A, shared.RoomId));
    }

    [Fact]
    public async Task ReplayedRequest_IsRefusedInsideAndOutsideTheWindow()
    {
        await using var shared = await servers.SharedRoomAsync();
        var path = $"/v1/federation/rooms/{Uri.EscapeDataString(shared.RoomId)}/events?from=1&limit=5";
        var request = FederationProbe.Build(Cluster.B, Cluster.A, HttpMethod.Get, path);
        var copy = FederationProbe.Build(Cluster.B, Cluster.A, HttpMethod.Get, path);
        copy.Headers.Remove("Authorization");
        copy.Headers.TryAddWithoutValidation("Authorization", request.Headers.GetValues("Authorization").Single());
        var (first, body) = await FederationProbe.SendRawAsync(request);
        Assert.Equal(200, first);
        Assert.Equal(shared.RoomId, EventPage.Read(body).Batch.RoomId);
        var (again, againBody) = await FederationProbe.SendRawAsync(copy);
        Assert.Equal(401, again);
        Assert.Equal("request_replayed", FederationProbe.ErrorCodeOf(againBody));
        await Cluster.A.WaitForAuditAsync(FederationAuditKinds.Replay, "already received");

        // A request signed ten minutes ago is outside the five-minute window.
        var old = FederationProbe.Now(Cluster.B) - (long)TimeSpan.FromMinutes(10).TotalMilliseconds;
        var (stale, staleBody) = await FederationProbe.SendAsync(Cluster.B, Cluster.A, HttpMethod.Get, path, timestamp: old);
        Assert.Equal(401, stale);
        Assert.Equal("request_replayed", FederationProbe.ErrorCodeOf(staleBody));
        await Cluster.A.WaitForAuditAsync(FederationAuditKinds.Replay, "outside");
    }

    [Fact]
    public async Task BodyChangedAfterSigning_OrWrongDestination_IsRefused()
    {
        var txn = new FederationTransaction("t-" + Guid.NewGuid().ToString("N"), Cluster.A.Name, Cluster.B.Name, FederationProbe.Now(Cluster.A), [], []);
        var request = FederationProbe.Build(Cluster.A, Cluster.B, HttpMethod.Put, "/v1/federation/send/" + txn.Id, txn.ToBytes());
        var other = (txn with { Timestamp = txn.Timestamp + 1 }).ToBytes();
        request.Content = new ByteArrayContent(other);
        var (status, body) = await FederationProbe.SendRawAsync(request);
        Assert.Equal(401, status);
        Assert.Equal("signature_invalid", FederationProbe.ErrorCodeOf(body));

        var (wrongDest, wrongBody) = await FederationProbe.SendAsync(Cluster.A, Cluster.B, HttpMethod.Put, "/v1/federation/send/" + txn.Id, txn.ToBytes(),
            claimedDestination: "c.test");
        Assert.Equal(403, wrongDest);
        Assert.Equal("federation_refused", FederationProbe.ErrorCodeOf(wrongBody));
        await Cluster.B.WaitForAuditAsync(FederationAuditKinds.WrongDestination, "c.test");

        var (unsigned, unsignedBody) = await FederationProbe.SendRawAsync(new HttpRequestMessage(HttpMethod.Put, new Uri(new Uri(Cluster.B.BaseUrl), "/v1/federation/send/x"))
        {
            Content = new ByteArrayContent(txn.ToBytes()),
        });
        Assert.Equal(401, unsigned);
        Assert.Equal("unauthenticated", FederationProbe.ErrorCodeOf(unsignedBody));
    }

    [Fact]
    public async Task SameTransactionIdTwice_IsAnsweredOnce_WithoutDuplicates()
    {
        await using var shared = await servers.SharedRoomAsync();
        // Bob's proposal, sent by hand twice with the same id and nonce: ordered once.
        var sender = Cluster.B.Services.GetService(typeof(ServerKeyRing)) as ServerKeyRing;
        var content = MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["body"] = "once" });
        var hash = System.Security.Cryptography.SHA256.HashData(content);
        var ts = FederationProbe.Now(Cluster.B);
        var nonce = Guid.NewGuid().ToString("N");
        var (keyId, sig) = sender!.Sign(OriginSignature.SigningInput(1, shared.RoomId, shared.Bob.UserId, EventTypes.Message, hash, ts, nonce));
        var proposal = new ProposalItem(shared.RoomId, shared.Bob.UserId, EventTypes.Message, content, new OriginSignature(keyId, ts, nonce, sig));
        var id = "dup-" + Guid.NewGuid().ToString("N");
        var (_, first, _) = await FederationProbe.SendTransactionAsync(Cluster.B, Cluster.A, [], [proposal], id);
        var (_, second, _) = await FederationProbe.SendTransactionAsync(Cluster.B, Cluster.A, [], [proposal], id);
        var (_, third, _) = await FederationProbe.SendTransactionAsync(Cluster.B, Cluster.A, [], [proposal]); // new id, same nonce
        Assert.True(first!.Proposals.Single().Ok, first.Proposals.Single().Message);
        Assert.Equal(first.Proposals.Single().Seq, second!.Proposals.Single().Seq);
        Assert.Equal(first.Proposals.Single().Id, third!.Proposals.Single().Id);
        var history = await shared.A.HistoryAsync(shared.RoomId, forward: true, limit: 100);
        Assert.Single(history.Events, e => e.Type == EventTypes.Message && (string)e.ContentMap["body"]! == "once");
    }

    [Fact]
    public async Task UnlistedServer_IsRefusedAndAudited_BothWays()
    {
        // A server b.test has never listed, calling itself c.test (it signs with its own, unknown key).
        await using var third = await FederatedServers.StartAsync(1, partner: false);
        var (status, body) = await FederationProbe.SendAsync(third.A, Cluster.B, HttpMethod.Put, "/v1/federation/send/x",
            new FederationTransaction("x", "c.test", Cluster.B.Name, 0, [], []).ToBytes(), originName: "c.test");
        Assert.Equal(403, status);
        Assert.Equal("federation_refused", FederationProbe.ErrorCodeOf(body));
        await Cluster.B.WaitForAuditAsync(FederationAuditKinds.UnlistedOrigin, "not a partner");

        // And a user of an unlisted server cannot be invited: refused before anything is sent, and audited.
        var alice = await Cluster.A.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        var ex = await Assert.ThrowsAsync<TeamComms.Client.TeamCommsException>(() => a.CreateRoomAsync("x", invite: ["mallory@elsewhere.test"]));
        Assert.Equal(ErrorCode.FederationRefused, ex.Code);
        var room = await a.CreateRoomAsync("y");
        ex = await Assert.ThrowsAsync<TeamComms.Client.TeamCommsException>(() => a.InviteAsync(room, "mallory@elsewhere.test"));
        Assert.Equal(ErrorCode.FederationRefused, ex.Code);
        await Cluster.A.WaitForAuditAsync(FederationAuditKinds.UnlistedDestination, "mallory@elsewhere.test");
    }

    /// <summary>After the refusals the next genuine message from the hub arrives right after the old head.</summary>
    private static async Task AssertNothingLostAsync(SharedRoom shared, long headSeq)
    {
        await shared.A.SendTextAsync(shared.RoomId, "genuine");
        var events = await shared.BEvents.WaitAsync(es => es.Any(e => e.RoomId == shared.RoomId && e.Type == EventTypes.Message && (string)e.ContentMap["body"]! == "genuine"));
        var genuine = events.Single(e => e.RoomId == shared.RoomId && e.Type == EventTypes.Message && (string)e.ContentMap["body"]! == "genuine");
        Assert.Equal(headSeq + 1, genuine.Seq);
        var page = await shared.B.HistoryAsync(shared.RoomId, forward: true, limit: 500);
        Assert.Equal(-1, EventCodec.VerifyChain(page.Events, null, 0));
        Assert.DoesNotContain(page.Events, e => e.Type == EventTypes.Message && (string)e.ContentMap["body"]! is "tampered" or "forged" or "original" or "one" or "two" or "words bob never said");
    }
}
