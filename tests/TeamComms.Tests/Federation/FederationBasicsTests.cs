using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Federation;

[Collection("federation")]
public class FederationBasicsTests
{
    [Fact]
    public async Task InviteJoinAndMessages_FlowBothWays_BetweenTwoServers()
    {
        await using var cluster = await FederatedServers.StartAsync(2);
        var alice = await cluster.A.CreateUserAsync("alice");
        var bob = await cluster.B.CreateUserAsync("bob");
        Assert.Equal("alice@a.test", alice.UserId);
        Assert.Equal("bob@b.test", bob.UserId);
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await using var aEvents = new EventCollector(a);
        await using var bEvents = new EventCollector(b);

        var room = await a.CreateRoomAsync("cross", invite: [bob.UserId]);
        Assert.EndsWith("@a.test", room);
        await a.SendTextAsync(room, "before bob joined");
        // Bob's server learns of the invitation and tells bob.
        await bEvents.WaitAsync(es => es.Any(e => e.RoomId == room && e.Type == EventTypes.Member && (string)e.ContentMap["user"]! == bob.UserId));
        await b.JoinAsync(room);
        await a.SendTextAsync(room, "hello bob");
        var ack = await b.SendTextAsync(room, "hello alice");
        Assert.Equal(room, ack.RoomId);

        var atB = await bEvents.WaitForMessagesAsync(room, 2);
        var atA = await aEvents.WaitForMessagesAsync(room, 3);
        Assert.Equal(["hello bob", "hello alice"], atB.Where(e => e.RoomId == room && e.Type == EventTypes.Message).Select(e => (string)e.ContentMap["body"]!).ToArray());
        Assert.Equal(["before bob joined", "hello bob", "hello alice"], atA.Where(e => e.RoomId == room && e.Type == EventTypes.Message).Select(e => (string)e.ContentMap["body"]!).ToArray());
        // The same event has the same seq and id on both servers.
        var atBAck = atB.Single(e => e.Type == EventTypes.Message && (string)e.ContentMap["body"]! == "hello alice");
        Assert.Equal(ack.Seq, atBAck.Seq);
        Assert.Equal(ack.EventId, atBAck.Id);
        Assert.NotNull(atBAck.Origin); // signed by b.test, its sender's server

        // Both copies are the same verified chain.
        var pageA = await a.HistoryAsync(room, forward: true, limit: 100);
        var pageB = await b.HistoryAsync(room, forward: true, limit: 100);
        Assert.Equal(pageA.Events.Select(e => e.Id), pageB.Events.Select(e => e.Id));
        Assert.Equal(-1, EventCodec.VerifyChain(pageB.Events, null, 0));
    }
}
