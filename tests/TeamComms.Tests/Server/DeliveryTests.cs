using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Server;

public class DeliveryTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private TestServer Server => shared.Server;

    [Fact]
    public async Task LiveDelivery_EveryMemberGetsEveryEventInOrder()
    {
        var users = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Server.CreateUserAsync()));
        var connections = await Task.WhenAll(users.Select(u => u.ConnectAsync()));
        var collectors = connections.Select(c => new EventCollector(c)).ToList();
        var room = await connections[0].CreateRoomAsync("live", invite: users.Skip(1).Select(u => u.UserId));
        foreach (var c in connections.Skip(1))
        {
            await c.JoinAsync(room);
        }
        var sends = new List<Task>();
        for (var s = 0; s < users.Length; s++)
        {
            var sender = connections[s];
            var name = s;
            sends.Add(Task.Run(async () =>
            {
                for (var i = 0; i < 25; i++)
                {
                    await sender.SendTextAsync(room, $"{name}:{i}");
                }
            }));
        }
        await Task.WhenAll(sends);
        foreach (var collector in collectors)
        {
            var events = await collector.WaitForMessagesAsync(room, 100);
            var messages = events.Where(e => e.RoomId == room && e.Type == EventTypes.Message).ToList();
            Assert.Equal(100, messages.Count);
            var seqs = events.Where(e => e.RoomId == room).Select(e => e.Seq).ToList();
            Assert.Equal(seqs.Order(), seqs); // per-room order
            Assert.Equal(seqs.Distinct().Count(), seqs.Count);
            // Each sender's messages arrive in the order sent.
            for (var s = 0; s < users.Length; s++)
            {
                var mine = messages.Select(m => (string)m.ContentMap["body"]!).Where(b => b.StartsWith($"{s}:", StringComparison.Ordinal)).ToList();
                Assert.Equal(Enumerable.Range(0, 25).Select(i => $"{s}:{i}"), mine);
            }
            Assert.Equal(0, collector.Connection.DuplicatesDropped);
        }
        foreach (var c in collectors)
        {
            await c.DisposeAsync();
        }
        foreach (var c in connections)
        {
            await c.DisposeAsync();
        }
    }

    [Fact]
    public async Task Invitee_LearnsOfInvite_LiveThenReceivesRoomAfterJoin()
    {
        var alice = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await using var events = new EventCollector(b);
        var room = await a.CreateRoomAsync("R");
        await a.SendTextAsync(room, "before invite");
        await a.InviteAsync(room, bob.UserId);
        await events.WaitAsync(es => es.Any(e => e.RoomId == room && e.Type == EventTypes.Member && (string)e.ContentMap["membership"]! == "invite"));
        Assert.DoesNotContain(events.InRoom(room), e => e.Type == EventTypes.Message);
        await b.JoinAsync(room);
        await a.SendTextAsync(room, "after join");
        var got = await events.WaitForMessagesAsync(room, 1);
        Assert.Equal("after join", got.Single(e => e.RoomId == room && e.Type == EventTypes.Message).ContentMap["body"]);
    }

    [Fact]
    public async Task Kicked_Member_GetsTheKickAndNothingAfter()
    {
        var alice = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await using var events = new EventCollector(b);
        var room = await a.CreateRoomAsync("R", invite: [bob.UserId]);
        await b.JoinAsync(room);
        await a.KickAsync(room, bob.UserId);
        await a.SendTextAsync(room, "secret after kick");
        var marker = await a.CreateRoomAsync("marker", invite: [bob.UserId]); // a later event bob does receive
        await events.WaitAsync(es => es.Any(e => e.RoomId == marker));
        var inRoom = events.InRoom(room);
        Assert.Contains(inRoom, e => e.Type == EventTypes.Member && (string)e.ContentMap["user"]! == bob.UserId && (string)e.ContentMap["membership"]! == "leave");
        Assert.DoesNotContain(inRoom, e => e.Type == EventTypes.Message);
    }

    [Fact]
    public async Task RoomFilter_DeliversOnlyTheChosenRooms()
    {
        var alice = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        var r1 = await a.CreateRoomAsync("one");
        var r2 = await a.CreateRoomAsync("two");
        await using var filtered = await alice.ConnectAsync(new ClientOptions { Rooms = [r2] });
        await using var events = new EventCollector(filtered);
        await a.SendTextAsync(r1, "not for the filter");
        await a.SendTextAsync(r2, "for the filter");
        await events.WaitForMessagesAsync(r2, 1);
        Assert.Empty(events.InRoom(r1));
    }

    [Fact]
    public async Task Received_ConfirmationIsStoredAsTheDeviceCursor()
    {
        var alice = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync(new ClientOptions { ReceiptInterval = TimeSpan.Zero });
        await using var events = new EventCollector(a);
        var room = await a.CreateRoomAsync("R");
        await a.SendTextAsync(room, "x");
        await events.WaitForMessagesAsync(room, 1);
        await a.ConfirmReceivedAsync();
        Assert.True(ResumeToken.TryParse(a.ResumeToken, out var token));
        var sessionKey = long.Parse(alice.SessionId[1..], System.Globalization.CultureInfo.InvariantCulture);
        var store = Server.Services.GetAccountStore();
        await a.PingAsync(); // the Received frame is processed before the Ping that follows it
        Assert.Equal(token.Position, store.GetCursor(sessionKey));
    }
}
