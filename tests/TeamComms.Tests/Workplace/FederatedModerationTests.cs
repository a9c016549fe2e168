using TeamComms.Client;
using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Workplace;

/// <summary>Redaction, pins and polls in a room whose members are on two federating servers.</summary>
public class FederatedModerationTests
{
    [Fact]
    public async Task HubRedaction_RemovesTheContentFromTheOtherServersCopy_AndRemoteMembersUseTheFeatures()
    {
        await using var cluster = await FederatedServers.StartAsync(2);
        var alice = await cluster.A.CreateUserAsync();
        var bob = await cluster.B.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await using var bEvents = new EventCollector(b);
        var room = await a.CreateRoomAsync("shared", invite: [bob.UserId]);
        await bEvents.WaitAsync(es => es.Any(e => e.RoomId == room && e.Type == EventTypes.Member));
        await b.JoinAsync(room);

        // Bob, on the other server, posts, reacts and replies in a thread; the hub orders it all.
        var fromBob = await b.SendTextAsync(room, "leaked customer list");
        var root = await a.SendTextAsync(room, "status?");
        await bEvents.WaitForMessagesAsync(room, 2);
        await b.ReactAsync(room, root.EventId, "👀");
        await b.SendReplyAsync(room, root.EventId, "on it");
        await Eventually.TrueAsync(() => a.RelationsAsync(room, root.EventId).GetAwaiter().GetResult().Count == 2, what: "the hub has bob's reaction and reply");

        // Alice owns the room (moderates it) and redacts bob's message on the hub; B's copy loses the content too.
        await a.RedactAsync(room, fromBob.EventId, "confidential");
        await bEvents.WaitForTypeAsync(room, WorkplaceEventTypes.Redaction);
        await Eventually.TrueAsync(() => b.HistoryAsync(room, fromBob.Seq, forward: true, limit: 1).GetAwaiter().GetResult().Events[0].Content is null,
            what: "B's copy drops the redacted content");
        var history = (await b.HistoryAsync(room, forward: true, limit: 100)).Events;
        Assert.Equal(-1, EventCodec.VerifyChain(history, null, 0));
        Assert.Equal(fromBob.EventId, history.Single(e => e.Seq == fromBob.Seq).Id);
    }
}
