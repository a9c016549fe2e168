using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Server;

public class ResumeTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private TestServer Server => shared.Server;

    [Fact]
    public async Task Resume_AfterDisconnect_ReplaysExactlyWhatWasMissed()
    {
        var alice = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        var rooms = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            rooms.Add(await a.CreateRoomAsync($"r{i}", invite: [bob.UserId]));
        }
        byte[] token;
        await using (var b = await bob.ConnectAsync(new ClientOptions { AutoReconnect = false }))
        {
            await using var seen = new EventCollector(b);
            foreach (var r in rooms)
            {
                await b.JoinAsync(r);
                await a.SendTextAsync(r, "while connected");
            }
            await seen.WaitAsync(es => rooms.All(r => es.Any(e => e.RoomId == r && e.Type == EventTypes.Message)));
            token = b.ResumeToken;
        }
        // Missed while away: 10 messages per room, interleaved.
        for (var i = 0; i < 10; i++)
        {
            foreach (var r in rooms)
            {
                await a.SendTextAsync(r, $"missed {i}");
            }
        }
        await using var resumed = await bob.ConnectAsync(new ClientOptions { ResumeToken = token });
        await using var events = new EventCollector(resumed);
        foreach (var r in rooms)
        {
            await a.SendTextAsync(r, "live after resume");
        }
        var all = await events.WaitAsync(es => rooms.All(r => es.Count(e => e.RoomId == r && e.Type == EventTypes.Message) >= 11));
        foreach (var r in rooms)
        {
            var bodies = all.Where(e => e.RoomId == r && e.Type == EventTypes.Message).Select(e => (string)e.ContentMap["body"]!).ToList();
            Assert.Equal(Enumerable.Range(0, 10).Select(i => $"missed {i}").Append("live after resume"), bodies);
            var seqs = all.Where(e => e.RoomId == r).Select(e => e.Seq).ToList();
            Assert.Equal(Enumerable.Range((int)seqs[0], seqs.Count).Select(x => (long)x), seqs); // no gap, no duplicate
        }
        Assert.Equal(0, resumed.DuplicatesDropped);
    }

    [Fact]
    public async Task Resume_LeftAndJoinedWhileAway_SeesTheLeaveAndTheNewRoom()
    {
        var alice = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        var old = await a.CreateRoomAsync("old", invite: [bob.UserId]);
        byte[] token;
        await using (var b = await bob.ConnectAsync(new ClientOptions { AutoReconnect = false }))
        {
            await b.JoinAsync(old);
            await b.PingAsync();
            token = b.ResumeToken;
            await using var seen = new EventCollector(b);
            await a.SendTextAsync(old, "sync point");
            await seen.WaitForMessagesAsync(old, 1);
            token = b.ResumeToken;
        }
        await a.SendTextAsync(old, "before kick");
        await a.KickAsync(old, bob.UserId);
        await a.SendTextAsync(old, "after kick");
        var fresh = await a.CreateRoomAsync("fresh", invite: [bob.UserId]);
        await using var resumed = await bob.ConnectAsync(new ClientOptions { ResumeToken = token });
        await using var events = new EventCollector(resumed);
        var all = await events.WaitAsync(es => es.Any(e => e.RoomId == fresh));
        var oldEvents = all.Where(e => e.RoomId == old).ToList();
        Assert.Contains(oldEvents, e => e.Type == EventTypes.Message && (string)e.ContentMap["body"]! == "before kick");
        Assert.Contains(oldEvents, e => e.Type == EventTypes.Member && (string)e.ContentMap["membership"]! == "leave");
        Assert.DoesNotContain(oldEvents, e => e.Type == EventTypes.Message && (string)e.ContentMap["body"]! == "after kick");
        Assert.Single(all, e => e.RoomId == fresh); // only the invitation
    }

    [Fact]
    public async Task Resume_TokenFromAnotherDataDirectory_IsRefusedAndConnectionContinues()
    {
        var alice = await Server.CreateUserAsync();
        var foreign = new ResumeToken(12345, 1).ToArray();
        await using var a = await alice.ConnectAsync(new ClientOptions { ResumeToken = foreign });
        var error = await a.Errors.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(ErrorCode.ResumeInvalid, error.Code);
        await a.PingAsync();
    }

    [Fact]
    public async Task AutoReconnect_AfterNetworkDrop_ResumesWithoutGapOrDuplicate()
    {
        var alice = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        var room = await a.CreateRoomAsync("r", invite: [bob.UserId]);
        await using var b = await bob.ConnectAsync();
        await b.JoinAsync(room);
        await using var events = new EventCollector(b);
        var sender = Task.Run(async () =>
        {
            for (var i = 0; i < 200; i++)
            {
                await a.SendTextAsync(room, $"m{i}");
            }
        });
        await events.WaitForMessagesAsync(room, 20);
        b.Abort(); // drop the TCP connection mid-stream
        await sender;
        var all = await events.WaitForMessagesAsync(room, 200);
        var bodies = all.Where(e => e.RoomId == room && e.Type == EventTypes.Message).Select(e => (string)e.ContentMap["body"]!).ToList();
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"m{i}"), bodies);
        Assert.True(b.Reconnects >= 1);
        Assert.Equal(0, b.DuplicatesDropped);
    }
}

public class RestartTests
{
    [Fact]
    public async Task Resume_AcrossServerRestart_NothingLostOrDuplicated()
    {
        var server = await TestServer.StartAsync();
        var alice = await server.CreateUserAsync("alice");
        var bob = await server.CreateUserAsync("bob");
        string room;
        byte[] token;
        await using (var a = await alice.ConnectAsync())
        {
            room = await a.CreateRoomAsync("survives", "topic", invite: [bob.UserId]);
            await using var b = await bob.ConnectAsync(new ClientOptions { AutoReconnect = false });
            await using var seen = new EventCollector(b);
            await b.JoinAsync(room);
            for (var i = 0; i < 5; i++)
            {
                await a.SendTextAsync(room, $"before {i}");
            }
            await seen.WaitForMessagesAsync(room, 5);
            token = b.ResumeToken;
            await b.DisposeAsync();
            for (var i = 0; i < 5; i++)
            {
                await a.SendTextAsync(room, $"missed {i}");
            }
        }
        server = await server.RestartAsync();
        await using (server)
        {
            var a2 = await TeamCommsConnection.ConnectAsync(server.WebSocketUrl, alice.Token);
            await using (a2)
            {
                var summary = (await a2.ListRoomsAsync()).Single(r => r.RoomId == room);
                Assert.Equal(("survives", "topic", 2L), (summary.Name, summary.Topic, summary.JoinedCount));
                await using var b2 = await TeamCommsConnection.ConnectAsync(server.WebSocketUrl, bob.Token, new ClientOptions { ResumeToken = token });
                await using var events = new EventCollector(b2);
                await a2.SendTextAsync(room, "after restart");
                var all = await events.WaitForMessagesAsync(room, 6);
                var bodies = all.Where(e => e.Type == EventTypes.Message).Select(e => (string)e.ContentMap["body"]!).ToList();
                Assert.Equal(Enumerable.Range(0, 5).Select(i => $"missed {i}").Append("after restart"), bodies);
                var history = await a2.HistoryAsync(room, forward: true, limit: 100);
                Assert.Equal(-1, EventCodec.VerifyChain(history.Events, null, 0));
                Assert.Equal(11, history.Events.Count(e => e.Type == EventTypes.Message));
            }
        }
    }
}
