using TeamComms.Client;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;

namespace TeamComms.Tests.Cluster;

/// <summary>
/// Cluster mode end to end: three nats-servers and three TeamComms nodes on loopback. In the "cluster" stage of
/// ./test.sh (elections take seconds), not in the normal stage.
/// </summary>
[Trait("Stage", "cluster")]
public sealed class ClusterBasicsTests
{
    [Fact]
    public async Task ThreeNodes_SendsOnEveryNode_IdenticalLogsSessionsAndResumeEverywhere()
    {
        await using var cluster = await ClusterHarness.StartAsync();
        using var admin = await cluster.AdminAsync(0);
        var alice = await admin.CreateUserAsync("alice", "Alice", password: "alice-password-1");
        await admin.CreateUserAsync("bob", "Bob", password: "bob-password-1");

        // A session created on node 2 works on node 3: sessions travel through the log.
        using var aliceHttp = new TeamCommsHttpClient(cluster.Url(1));
        var aliceLogin = await aliceHttp.LoginAsync("alice", "alice-password-1");
        await using var aliceOn3 = await ConnectEventuallyAsync(cluster.Url(2), aliceLogin.AccessToken);
        var room = await aliceOn3.CreateRoomAsync("Ops", invite: ["bob@proc.test"]);

        using var bobHttp = new TeamCommsHttpClient(cluster.Url(0));
        var bobLogin = await bobHttp.LoginAsync("bob", "bob-password-1");
        await using var bobOn1 = await ConnectEventuallyAsync(cluster.Url(0), bobLogin.AccessToken);
        await bobOn1.JoinAsync(room);
        await using var aliceOn2 = await ConnectEventuallyAsync(cluster.Url(1), aliceLogin.AccessToken);

        var acks = new List<AckFrame>();
        for (var i = 0; i < 20; i++)
        {
            var sender = (i % 3) switch
            {
                0 => aliceOn2,
                1 => bobOn1,
                _ => aliceOn3,
            };
            acks.Add(await sender.SendTextAsync(room, $"m{i}"));
        }
        Assert.Equal(acks.Select(a => a.Seq).Order(), acks.Select(a => a.Seq));

        // Content is sealed before it is published: the keys issue's marker scan, over the NATS store directories.
        var marker = "ZQX-NATS-MARKER-" + Guid.NewGuid().ToString("N");
        await aliceOn2.SendTextAsync(room, marker);
        var needle = System.Text.Encoding.UTF8.GetBytes(marker);
        for (var i = 0; i < 3; i++)
        {
            foreach (var file in Directory.EnumerateFiles(cluster.Nats.StoreDirectory(i), "*", SearchOption.AllDirectories))
            {
                Assert.True(File.ReadAllBytes(file).AsSpan().IndexOf(needle) < 0, $"plaintext marker found in {file}");
            }
        }
        Assert.True(Directory.EnumerateFiles(cluster.Nats.StoreDirectory(0), "*", SearchOption.AllDirectories).Any(), "the scan read the store");

        var heads = await ClusterAssert.IdenticalLogsAsync(cluster, admin, [room], [aliceLogin.AccessToken]);
        Assert.True(heads[room].Seq > acks[^1].Seq);

        // A resume token from node 2 works on node 1: positions are the same on every node.
        var token = aliceOn2.ResumeToken;
        await using var resumed = await TeamCommsConnection.ConnectAsync(new TeamCommsHttpClient(cluster.Url(0)).WebSocketUrl, aliceLogin.AccessToken,
            new ClientOptions { ResumeToken = token });
        await bobOn1.SendTextAsync(room, "after resume");
        var ev = await ReadUntilAsync(resumed, e => e.Type == "message");
        Assert.Equal(heads[room].Seq + 1, ev.Seq);
        Assert.False(resumed.Errors.TryRead(out var error), error?.Message);
        _ = alice;
    }

    internal static async Task<TeamCommsConnection> ConnectEventuallyAsync(Uri node, string token)
    {
        var url = new TeamCommsHttpClient(node).WebSocketUrl;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                return await TeamCommsConnection.ConnectAsync(url, token);
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50); // the session's rows are still on their way to this node
            }
        }
    }

    private static async Task<RoomEvent> ReadUntilAsync(TeamCommsConnection connection, Func<RoomEvent, bool> match)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (true)
        {
            var e = await connection.Events.ReadAsync(cts.Token);
            if (match(e))
            {
                return e;
            }
        }
    }
}
