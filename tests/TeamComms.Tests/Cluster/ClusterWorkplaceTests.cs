using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;

namespace TeamComms.Tests.Cluster;

/// <summary>
/// The workplace features in cluster mode (three nats-servers and three nodes): the calls that propose (polls, votes,
/// pins, redactions) work on any node and every node ends with the same log and the same derived views (attachments:
/// <see cref="ClusterAttachmentTests"/>). In the "cluster" stage of ./test.sh.
/// </summary>
[Trait("Stage", "cluster")]
public sealed class ClusterWorkplaceTests
{
    [Fact]
    public async Task PollVotePinRedact_OnDifferentNodes_SameLogPinsAndResultsEverywhere()
    {
        await using var cluster = await ClusterHarness.StartAsync();
        using var admin = await cluster.AdminAsync(0);
        await admin.CreateUserAsync("alice", "Alice", password: "alice-password-1");
        await admin.CreateUserAsync("bob", "Bob", password: "bob-password-1");
        using var aliceHttp = new TeamCommsHttpClient(cluster.Url(1));
        var aliceLogin = await aliceHttp.LoginAsync("alice", "alice-password-1");
        using var bobHttp = new TeamCommsHttpClient(cluster.Url(0));
        var bobLogin = await bobHttp.LoginAsync("bob", "bob-password-1");

        await using var aliceOn2 = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(1), aliceLogin.AccessToken);
        await using var aliceOn3 = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(2), aliceLogin.AccessToken);
        await using var bobOn1 = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(0), bobLogin.AccessToken);
        var room = await aliceOn2.CreateRoomAsync("Ops", invite: ["bob@proc.test"]);
        await JoinEventuallyAsync(bobOn1, room);

        var post = await aliceOn2.SendTextAsync(room, "the plan");
        var oops = await bobOn1.SendTextAsync(room, "wrong room, sorry");
        var poll = await aliceOn2.SendPollAsync(room, "Offsite?", [("mon", "Monday"), ("fri", "Friday")]);
        // Each call proposes through the replicated log from a different node than the event it acts on.
        await WithRetryAsync(() => bobOn1.VoteAsync(room, poll.EventId, ["fri"]));
        await WithRetryAsync(() => aliceOn3.VoteAsync(room, poll.EventId, ["mon"]));
        await WithRetryAsync(() => aliceOn3.PinAsync(room, post.EventId));
        await WithRetryAsync(() => bobOn1.RedactAsync(room, oops.EventId, "typo"));
        await WithRetryAsync(() => aliceOn2.ClosePollAsync(room, poll.EventId));

        var heads = await ClusterAssert.IdenticalLogsAsync(cluster, admin, [room], [aliceLogin.AccessToken]);
        var history = await ClusterAssert.FullHistoryAsync(aliceOn3, room);
        Assert.Contains(history, e => e.Type == WorkplaceEventTypes.Pins);
        Assert.Contains(history, e => e.Type == WorkplaceEventTypes.PollVote);
        Assert.Contains(history, e => e.Type == WorkplaceEventTypes.Redaction);
        Assert.Equal(heads[room].Id, history[^1].Id);

        // The views derived from the log are the same on every node.
        var views = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            await using var c = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(i), aliceLogin.AccessToken);
            var pins = ((List<object?>)(await c.RoomSettingsAsync(room))["pins"]!).Select(x => new EventId((byte[])x!)).ToList();
            Assert.Equal([post.EventId], pins);
            var results = await c.PollResultsAsync(room, poll.EventId);
            Assert.Equal(true, results["closed"]);
            var counts = (Dictionary<string, object?>)results["counts"]!;
            views.Add($"mon={counts["mon"]} fri={counts["fri"]}");
            Assert.True((await ClusterAssert.FullHistoryAsync(c, room)).Single(e => e.Id.Equals(oops.EventId)).IsRedacted);
        }
        Assert.Equal(["mon=1 fri=1", "mon=1 fri=1", "mon=1 fri=1"], views);

    }

    [Fact]
    public async Task PollCloser_RunsOnExactlyOneNode_AndMovesWhenItsNodeDies()
    {
        await using var cluster = await ClusterHarness.StartAsync();
        using var admin = await cluster.AdminAsync(0);
        await admin.CreateUserAsync("alice", "Alice", password: "alice-password-1");
        using var aliceHttp = new TeamCommsHttpClient(cluster.Url(0));
        var aliceLogin = await aliceHttp.LoginAsync("alice", "alice-password-1");

        var holder = await ClusterAssert.SingleLeaseHolderAsync(cluster, "poll-closer");
        var other = (holder + 1) % 3;
        string room;
        AckFrame poll;
        await using (var alice = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(other), aliceLogin.AccessToken))
        {
            room = await alice.CreateRoomAsync("Lunch");
            // Closes in 25 s (wall clock: the nodes are processes): after its lease has moved.
            poll = await alice.SendPollAsync(room, "Pizza?", [("y", "Yes"), ("n", "No")],
                closesAt: DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 25_000);
        }

        await cluster.KillNodeAsync(holder);
        var next = await ClusterAssert.SingleLeaseHolderAsync(cluster, "poll-closer");
        Assert.NotEqual(holder, next);

        // The survivor that took the lease over closes the poll: one final poll.results, the same on both survivors.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        var survivors = Enumerable.Range(0, 3).Where(i => i != holder).ToList();
        while (true)
        {
            var closedOn = new List<int>();
            foreach (var i in survivors)
            {
                await using var c = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(i), aliceLogin.AccessToken);
                var finals = (await ClusterAssert.FullHistoryAsync(c, room))
                    .Where(e => e.Type == WorkplaceEventTypes.PollResults && e.ContentMap.GetValueOrDefault("closed") is true).ToList();
                Assert.True(finals.Count <= 1, $"node {i + 1} has {finals.Count} closing results");
                if (finals.Count == 1)
                {
                    closedOn.Add(i);
                }
            }
            if (closedOn.Count == survivors.Count)
            {
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, "the poll was not closed by the node that took the lease over");
            await Task.Delay(500);
        }
        await ClusterAssert.IdenticalLogsAsync(cluster, admin, [room], [aliceLogin.AccessToken]);
        _ = poll;
    }

    private static async Task JoinEventuallyAsync(TeamCommsConnection c, string room) =>
        await WithRetryAsync(() => c.JoinAsync(room));

    /// <summary>A node may not have applied the event a call names yet (each applies at its own pace): retry briefly.</summary>
    private static async Task WithRetryAsync(Func<Task> call)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                await call();
                return;
            }
            catch (TeamCommsException ex) when (ex.Code is ErrorCode.UnknownEvent or ErrorCode.UnknownRoom or ErrorCode.NotInvited
                or ErrorCode.NotMember && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}
