using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Federation;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Cluster;

/// <summary>
/// Federation in cluster mode: a three-node cluster (server name proc.test, three nats-servers) federating with a
/// single-node remote server (remote.test, in this process) on loopback, in the federation test mode without TLS.
/// Rooms hosted on either side; messages both ways, on every cluster node; one signing key published by all nodes;
/// the outbox sender under the <c>federation-outbox</c> lease moves when its node dies, and the remote still receives
/// every message exactly once. In the "cluster" stage of ./test.sh.
/// </summary>
[Trait("Stage", "cluster")]
public sealed class ClusterFederationTests
{
    private const string Cluster = "proc.test";
    private const string Remote = "remote.test";

    private static readonly Dictionary<string, string> FederationEnv = new()
    {
        ["TEAMCOMMS__FEDERATION__ENABLED"] = "true",
        ["TEAMCOMMS__FEDERATION__ALLOWINSECURELOOPBACK"] = "true",
        ["TEAMCOMMS__FEDERATION__KEYREFETCHINTERVAL"] = "00:00:00",
        ["TEAMCOMMS__FEDERATION__RETRYBASE"] = "00:00:00.050",
        ["TEAMCOMMS__FEDERATION__RETRYMAX"] = "00:00:01",
        ["TEAMCOMMS__FEDERATION__REQUESTTIMEOUT"] = "00:00:10",
    };

    [Fact]
    public async Task RoomsBothWays_OneIdentity_OutboxMovesWhenItsNodeDies_RemoteGetsEveryMessageOnce()
    {
        await using var cluster = await ClusterHarness.StartAsync(extra: FederationEnv);
        await using var remote = await FederatedServers.StartAsync(1, partner: false, name: (_, _) => Remote);
        using var admin = await cluster.AdminAsync(0);

        // The sender of every outbox runs on one node; inbound requests go to another ("the load balancer's choice"),
        // which stays up when the holder is killed below.
        var holder = await ClusterAssert.SingleLeaseHolderAsync(cluster, "federation-outbox");
        var entry = (holder + 1) % 3;
        await admin.AddPartnerAsync(Remote, remote.A.BaseUrl); // through one node, for the whole cluster
        await remote.A.Server.AdminAsync().ContinueWith(async t =>
        {
            using var remoteAdmin = await t;
            await remoteAdmin.AddPartnerAsync(Cluster, cluster.Url(entry).ToString().TrimEnd('/'));
        }).Unwrap();
        for (var i = 0; i < 3; i++)
        {
            using var nodeAdmin = await cluster.AdminAsync(i);
            await UntilAsync(async () => (await nodeAdmin.ListPartnersAsync()).Any(p => p["server"]!.GetValue<string>() == Remote),
                $"node {i + 1} has not got the partner added on node 1");
        }

        // One identity: every node publishes the same verify keys and signs with the same key.
        await UntilAsync(async () => (await KeyViewsAsync(cluster)).Distinct().Count() == 1, "the nodes publish different keys");
        var views = await KeyViewsAsync(cluster);
        Assert.Equal(3, views.Count);
        Assert.Single(views.Distinct());
        Assert.Single(views[0].Published.Split(',')); // one key: every node adopted the first node's ring, none kept its own

        await admin.CreateUserAsync("alice", "Alice", password: "alice-password-1");
        using var aliceHttp = new TeamCommsHttpClient(cluster.Url(0));
        var aliceToken = (await aliceHttp.LoginAsync("alice", "alice-password-1")).AccessToken;
        var alice = new TeamCommsConnection[3];
        for (var i = 0; i < 3; i++)
        {
            alice[i] = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(i), aliceToken);
        }
        var bob = await remote.A.CreateUserAsync("bob");
        await using var b = await bob.ConnectAsync();
        await using var bEvents = new EventCollector(b);

        try
        {
            // A room hosted by the cluster, shared with the remote.
            var hubRoom = await alice[holder].CreateRoomAsync("cluster-hosted", invite: [bob.UserId]);
            Assert.EndsWith("@" + Cluster, hubRoom);
            await bEvents.WaitAsync(es => es.Any(e => e.RoomId == hubRoom && e.Type == EventTypes.Member));
            await b.JoinAsync(hubRoom);
            // A room hosted by the remote, shared with the cluster.
            var remoteRoom = await b.CreateRoomAsync("remote-hosted", invite: ["alice@" + Cluster]);
            await JoinEventuallyAsync(alice[entry], remoteRoom);

            var sent = new List<string>();
            async Task SendRoundAsync(string tag, IEnumerable<int> nodes)
            {
                foreach (var i in nodes)
                {
                    foreach (var room in new[] { hubRoom, remoteRoom })
                    {
                        var body = $"{tag}-from-node{i + 1}-{(room == hubRoom ? "hub" : "remote")}";
                        await SendEventuallyAsync(alice[i], room, body);
                        sent.Add(body);
                    }
                }
            }
            await SendRoundAsync("before", [0, 1, 2]);
            await b.SendTextAsync(hubRoom, "bob-in-cluster-room");
            await b.SendTextAsync(remoteRoom, "bob-in-remote-room");

            // Messages both ways: the remote has every cluster message; every cluster node has bob's.
            await WaitForBodiesAsync(b, hubRoom, sent.Where(s => s.EndsWith("-hub", StringComparison.Ordinal)));
            await WaitForBodiesAsync(b, remoteRoom, sent.Where(s => s.EndsWith("-remote", StringComparison.Ordinal)));
            for (var i = 0; i < 3; i++)
            {
                await WaitForBodiesAsync(alice[i], hubRoom, ["bob-in-cluster-room"]);
                await WaitForBodiesAsync(alice[i], remoteRoom, ["bob-in-remote-room"]);
            }
            await ClusterAssert.IdenticalLogsAsync(cluster, admin, [hubRoom, remoteRoom], [aliceToken]);

            // A rotation on one node reaches every node: the same new key everywhere.
            var rotated = await admin.RotateFederationKeyAsync();
            await UntilAsync(async () => (await KeyViewsAsync(cluster)) is var v && v.All(x => x.Current == rotated) && v.Distinct().Count() == 1,
                "a node does not sign with the rotated key");
            views = await KeyViewsAsync(cluster);
            Assert.Single(views.Distinct()); // the same published keys too: the new one and the ended one
            Assert.Contains(views[0].Current, views[0].Published, StringComparison.Ordinal);

            // Kill the outbox holder right after a round of sends: what it had not delivered (or delivered without
            // recording it) is sent by the node that takes the lease over, and the remote stores each message once.
            var survivors = Enumerable.Range(0, 3).Where(i => i != holder).ToList();
            await SendRoundAsync("racing", survivors);
            await cluster.KillNodeAsync(holder);
            await alice[holder].DisposeAsync();
            var next = await ClusterAssert.SingleLeaseHolderAsync(cluster, "federation-outbox");
            Assert.NotEqual(holder, next);
            await SendRoundAsync("after", survivors);

            var hubBodies = await WaitForBodiesAsync(b, hubRoom, sent.Where(s => s.EndsWith("-hub", StringComparison.Ordinal)));
            var remoteBodies = await WaitForBodiesAsync(b, remoteRoom, sent.Where(s => s.EndsWith("-remote", StringComparison.Ordinal)));
            foreach (var body in sent)
            {
                var at = body.EndsWith("-hub", StringComparison.Ordinal) ? hubBodies : remoteBodies;
                Assert.Equal(1, at.Count(x => x == body));
            }
            // The remote's copy of the cluster's room is the cluster's chain: same ids, dense, verified.
            var remoteCopy = await ClusterAssert.FullHistoryAsync(b, hubRoom);
            Assert.Equal(-1, EventCodec.VerifyChain(remoteCopy, null, 0));
            var heads = await ClusterAssert.IdenticalLogsAsync(cluster, admin, [hubRoom, remoteRoom], [aliceToken]);
            await UntilAsync(async () => (await ClusterAssert.FullHistoryAsync(b, hubRoom))[^1].Id.Equals(heads[hubRoom].Id),
                "the remote's copy did not reach the cluster's head");
            Assert.Equal(heads[remoteRoom].Id, (await ClusterAssert.FullHistoryAsync(b, remoteRoom))[^1].Id);
        }
        finally
        {
            foreach (var c in alice)
            {
                await c.DisposeAsync();
            }
        }
    }

    /// <summary>Each live node's current signing key id and the key ids it publishes (from its admin view), in node order.</summary>
    private static async Task<List<(string Current, string Published)>> KeyViewsAsync(ClusterHarness cluster)
    {
        var views = new List<(string, string)>();
        for (var i = 0; i < cluster.Nodes.Length; i++)
        {
            if (cluster.Nodes[i] is null)
            {
                continue;
            }
            using var nodeAdmin = await cluster.AdminAsync(i);
            var status = (await nodeAdmin.FederationStatusAsync())!;
            var listed = status["keys"]!.AsArray().Select(k => k!["key_id"]!.GetValue<string>()).Order(StringComparer.Ordinal).ToList();
            // What remote servers fetch: the self-signed key document at GET /v1/federation/keys, signed by the current key.
            using var http = new HttpClient();
            var (doc, _) = KeyDocument.Read(await http.GetByteArrayAsync(new Uri(cluster.Url(i), "/v1/federation/keys")));
            Assert.Equal(Cluster, doc.Server);
            var published = string.Join(",", doc.Keys.OrderBy(k => k.KeyId, StringComparer.Ordinal)
                .Select(k => $"{k.KeyId}:{Convert.ToHexString(k.PublicKey)}:{k.ValidFrom}:{k.ValidUntil}"));
            // The admin view and the document are read one after the other: during a rotation they may differ, which
            // makes this node's view differ from the others' until it has adopted the new ring.
            var current = status["key_id"]!.GetValue<string>() == doc.SignedBy ? doc.SignedBy : "admin:" + status["key_id"] + " doc:" + doc.SignedBy;
            views.Add((current ?? "", published + (listed.SequenceEqual(doc.Keys.Select(k => k.KeyId).Order(StringComparer.Ordinal)) ? "" : " (listed " + string.Join(",", listed) + ")")));
        }
        return views;
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, what);
            await Task.Delay(200);
        }
    }

    /// <summary>Waits until the room's history on this connection holds every body; returns all message bodies, in order.</summary>
    private static async Task<List<string>> WaitForBodiesAsync(TeamCommsConnection c, string room, IEnumerable<string> expected)
    {
        var want = expected.ToList();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            List<RoomEvent> history;
            try
            {
                history = await ClusterAssert.FullHistoryAsync(c, room);
            }
            catch (TeamCommsException ex) when (ex.Code is ErrorCode.UnknownRoom or ErrorCode.NotMember && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
                continue;
            }
            var bodies = history.Where(e => e.Type == EventTypes.Message && e.Content is not null)
                .Select(e => e.ContentMap.GetValueOrDefault("body") as string ?? "").ToList();
            var missing = want.Where(w => !bodies.Contains(w)).ToList();
            if (missing.Count == 0)
            {
                return bodies;
            }
            Assert.True(DateTime.UtcNow < deadline, $"{room}: missing {string.Join(", ", missing)}; have {string.Join(", ", bodies)}");
            await Task.Delay(200);
        }
    }

    /// <summary>Sends once; a send the hub has not ordered yet is pending (still in the outbox), which counts as sent.</summary>
    private static async Task SendEventuallyAsync(TeamCommsConnection c, string room, string body)
    {
        var txn = Guid.NewGuid().ToString("N");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                await c.SendTextAsync(room, body, txn);
                return;
            }
            catch (TeamCommsException ex) when (ex.Code is ErrorCode.FederationPending)
            {
                return;
            }
            catch (TeamCommsException ex) when (ex.Code is ErrorCode.UnknownRoom or ErrorCode.NotMember or ErrorCode.Unavailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200); // the same transaction id: a retry is deduplicated
            }
        }
    }

    private static async Task JoinEventuallyAsync(TeamCommsConnection c, string room)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                await c.JoinAsync(room);
                return;
            }
            catch (TeamCommsException ex) when (ex.Code is ErrorCode.UnknownRoom or ErrorCode.NotInvited && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200); // the invitation is still on its way from the remote hub
            }
        }
    }
}
