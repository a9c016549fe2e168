using TeamComms.Client;
using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Federation;

/// <summary>
/// Real kill -9 and restart: each server is its own OS process on its own loopback port and data directory, with
/// short retry settings. A follower that was killed catches up; a hub that was killed resumes ordering and pushing.
/// </summary>
[Collection("processes")]
public class FederationProcessTests
{
    private const string AdminPassword = "admin-password-1";

    private sealed class Node(string name) : IAsyncDisposable
    {
        public string Name { get; } = name;
        public int Port { get; } = FederatedServers.FreePort();
        public string Data { get; } = TempDirectory.Create("tc-fedproc-" + name[0]);
        public ServerProcess? Process { get; private set; }
        public string BaseUrl => $"http://127.0.0.1:{Port}";
        public Uri WebSocketUrl => new TeamCommsHttpClient(new Uri(BaseUrl)).WebSocketUrl;

        public async Task StartAsync()
        {
            Process = await ServerProcess.StartAsync(Data, new Dictionary<string, string>
            {
                ["TEAMCOMMS__SERVERNAME"] = Name,
                ["TEAMCOMMS__ACCOUNTS__BOOTSTRAPPASSWORD"] = AdminPassword,
                ["TEAMCOMMS__FEDERATION__ENABLED"] = "true",
                ["TEAMCOMMS__FEDERATION__ALLOWINSECURELOOPBACK"] = "true",
                ["TEAMCOMMS__FEDERATION__RETRYBASE"] = "00:00:00.100",
                ["TEAMCOMMS__FEDERATION__RETRYMAX"] = "00:00:01",
                ["TEAMCOMMS__FEDERATION__KEYREFETCHINTERVAL"] = "00:00:00",
            }, "--urls", BaseUrl);
        }

        public Task KillAsync() => Process!.KillAsync();

        public async Task<TeamCommsHttpClient> AdminAsync()
        {
            var http = new TeamCommsHttpClient(new Uri(BaseUrl));
            await http.LoginAsync("admin", AdminPassword);
            return http;
        }

        public async Task<string> UserTokenAsync(string username)
        {
            using var admin = await AdminAsync();
            await admin.CreateUserAsync(username, username, null, "password-" + username);
            using var http = new TeamCommsHttpClient(new Uri(BaseUrl));
            return (await http.LoginAsync(username, "password-" + username)).AccessToken;
        }

        public async ValueTask DisposeAsync()
        {
            if (Process is not null)
            {
                await Process.DisposeAsync();
            }
            TempDirectory.Delete(Data);
        }
    }

    private static async Task<(Node A, Node B)> StartPairAsync()
    {
        var a = new Node("a.test");
        var b = new Node("b.test");
        await Task.WhenAll(a.StartAsync(), b.StartAsync());
        using (var admin = await a.AdminAsync())
        {
            await admin.AddPartnerAsync(b.Name, b.BaseUrl);
        }
        using (var admin = await b.AdminAsync())
        {
            await admin.AddPartnerAsync(a.Name, a.BaseUrl);
        }
        return (a, b);
    }

    private static async Task<string> SharedRoomAsync(TeamCommsConnection alice, TeamCommsConnection bob, EventCollector bobEvents)
    {
        var room = await alice.CreateRoomAsync("processes", invite: ["bob@b.test"]);
        await bobEvents.WaitAsync(es => es.Any(e => e.RoomId == room && e.Type == EventTypes.Member));
        await bob.JoinAsync(room);
        return room;
    }

    [Fact]
    public async Task FollowerKilledAndRestarted_CatchesUp_AndItsClientsResumeWithoutGapOrDuplicate()
    {
        var (a, b) = await StartPairAsync();
        await using var _a = a;
        await using var _b = b;
        var aliceToken = await a.UserTokenAsync("alice");
        var bobToken = await b.UserTokenAsync("bob");
        await using var alice = await TeamCommsConnection.ConnectAsync(a.WebSocketUrl, aliceToken);
        string room;
        byte[] resume;
        await using (var bob = await TeamCommsConnection.ConnectAsync(b.WebSocketUrl, bobToken, new ClientOptions { AutoReconnect = false }))
        await using (var bobEvents = new EventCollector(bob))
        {
            room = await SharedRoomAsync(alice, bob, bobEvents);
            await alice.SendTextAsync(room, "before the kill");
            await bobEvents.WaitForMessagesAsync(room, 1);
            resume = bob.ResumeToken;
            await b.KillAsync();
        }
        var sent = new List<string>();
        for (var i = 0; i < 100; i++)
        {
            sent.Add($"while b is down {i}");
            await alice.SendTextAsync(room, sent[^1]); // the hub acknowledges: durable on a.test
        }
        await b.StartAsync(); // same data directory and port; a.test's retries reach it within a second

        await using var resumed = await TeamCommsConnection.ConnectAsync(b.WebSocketUrl, bobToken, new ClientOptions { ResumeToken = resume });
        await using var events = new EventCollector(resumed);
        var got = await events.WaitForMessagesAsync(room, 100, timeoutSeconds: 60);
        Assert.Equal(sent, got.Where(e => e.RoomId == room && e.Type == EventTypes.Message).Select(e => (string)e.ContentMap["body"]!));
        Assert.Equal(0, resumed.DuplicatesDropped);
        var page = await resumed.HistoryAsync(room, forward: true, limit: 500);
        Assert.Equal(-1, EventCodec.VerifyChain(page.Events, null, 0));
        var atHub = await alice.HistoryAsync(room, forward: true, limit: 500);
        Assert.Equal(atHub.Events.Select(e => e.Id), page.Events.Select(e => e.Id));
    }

    [Fact]
    public async Task HubKilledAndRestarted_OrdersTheQueuedSends_AndResumesPushing()
    {
        var (a, b) = await StartPairAsync();
        await using var _a = a;
        await using var _b = b;
        var aliceToken = await a.UserTokenAsync("alice");
        var bobToken = await b.UserTokenAsync("bob");
        await using var bob = await TeamCommsConnection.ConnectAsync(b.WebSocketUrl, bobToken, new ClientOptions { RequestTimeout = TimeSpan.FromSeconds(10) });
        await using var bobEvents = new EventCollector(bob);
        string room;
        await using (var alice0 = await TeamCommsConnection.ConnectAsync(a.WebSocketUrl, aliceToken, new ClientOptions { AutoReconnect = false }))
        {
            room = await SharedRoomAsync(alice0, bob, bobEvents);
            await bob.SendTextAsync(room, "before the kill");
            await a.KillAsync();
        }
        var sends = Enumerable.Range(0, 30).Select(i => bob.SendTextAsync(room, $"while the hub is down {i}")).ToList();
        var pending = await bob.PendingSends.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(room, pending.RoomId);
        Assert.All(sends, s => Assert.False(s.IsCompleted));

        await a.StartAsync();
        var acks = await Task.WhenAll(sends).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(30, acks.Select(x => x.Seq).Distinct().Count());
        await using var alice = await TeamCommsConnection.ConnectAsync(a.WebSocketUrl, aliceToken);
        await alice.SendTextAsync(room, "after the restart");
        var got = await bobEvents.WaitForMessagesAsync(room, 32, timeoutSeconds: 60);
        var bodies = got.Where(e => e.RoomId == room && e.Type == EventTypes.Message).Select(e => (string)e.ContentMap["body"]!).ToList();
        Assert.Equal("before the kill", bodies[0]);
        Assert.Equal("after the restart", bodies[^1]);
        Assert.Equal(32, bodies.Distinct().Count());
        Assert.Equal(0, bob.DuplicatesDropped);
        var atHub = await alice.HistoryAsync(room, forward: true, limit: 500);
        var atB = await bob.HistoryAsync(room, forward: true, limit: 500);
        Assert.Equal(atHub.Events.Select(e => e.Id), atB.Events.Select(e => e.Id));
        Assert.Equal(-1, EventCodec.VerifyChain(atB.Events, null, 0));
    }
}
