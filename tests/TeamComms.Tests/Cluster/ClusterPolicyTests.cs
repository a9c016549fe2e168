using System.Text.Json.Nodes;
using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Cluster;

/// <summary>
/// The company content policy, legal holds and the audit chain in cluster mode (three nats-servers and three nodes):
/// a policy and a hold set on one node reach the others through the log and every node's sequencer decides against
/// them identically; audited admin actions on two nodes at once give one audit chain, the same entries with the same
/// seqs and hashes on every node, that every node verifies and signs. In the "cluster" stage of ./test.sh.
/// </summary>
[Trait("Stage", "cluster")]
public sealed class ClusterPolicyTests
{
    [Fact]
    public async Task PolicyAndHoldSetOnOneNode_ReachEveryNode_RedactionDecidedIdentically()
    {
        await using var cluster = await ClusterHarness.StartAsync();
        using var admin = await cluster.AdminAsync(0);
        await admin.CreateUserAsync("alice", "Alice", password: "alice-password-1");
        await admin.CreateUserAsync("bob", "Bob", password: "bob-password-1");
        await admin.CreateUserAsync("carol", "Carol", password: "carol-password-1");
        await admin.SetRolesAsync("carol@proc.test", ["compliance_officer"]);
        using var aliceHttp = new TeamCommsHttpClient(cluster.Url(1));
        var aliceLogin = await aliceHttp.LoginAsync("alice", "alice-password-1");
        using var bobHttp = new TeamCommsHttpClient(cluster.Url(1));
        var bobLogin = await bobHttp.LoginAsync("bob", "bob-password-1");
        await using var aliceOn2 = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(1), aliceLogin.AccessToken);
        await using var bobOn2 = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(1), bobLogin.AccessToken);
        // Alice owns the room (owners remove anything); Bob is a plain member, bound by the delete window.
        var room = await aliceOn2.CreateRoomAsync("Legal", invite: ["bob@proc.test"]);
        await bobOn2.JoinAsync(room);
        var message = await bobOn2.SendTextAsync(room, "keep me");

        // Node A (0): senders may never delete their messages, and the room is on hold.
        await admin.UpdateContentPolicyAsync(new JsonObject { ["delete_window_minutes"] = 0 });
        var hold = (await admin.CreateLegalHoldAsync("room", room, "matter 42"))!;
        var holdId = hold["id"]!.GetValue<long>();

        // Nodes B and C see both, with the same hold id.
        for (var i = 1; i < 3; i++)
        {
            using var nodeAdmin = await cluster.AdminAsync(i);
            await EventuallyAsync(async () => (await nodeAdmin.ContentPolicyAsync())!["delete_window_minutes"]?.GetValue<int>() == 0);
            await EventuallyAsync(async () => (await nodeAdmin.ListLegalHoldsAsync())!["holds"]!.AsArray()
                .Any(h => h!["id"]!.GetValue<long>() == holdId && h["target"]!.GetValue<string>() == room && !h["released"]!.GetValue<bool>()));
        }

        // Bob's delete, proposed on each node, is refused by every node's sequencer with the same code.
        for (var i = 0; i < 3; i++)
        {
            await using var c = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(i), bobLogin.AccessToken);
            var refused = await Assert.ThrowsAsync<TeamCommsException>(() => c.RedactAsync(room, message.EventId));
            Assert.Equal(ErrorCode.EditWindowClosed, refused.Code);
        }
        await ClusterAssert.IdenticalLogsAsync(cluster, admin, [room], [aliceLogin.AccessToken]);

        // Node C (2) lifts the window; the delete proposed on node B succeeds, and every node kept the original
        // because every node's sequencer knows the hold.
        using (var adminC = await cluster.AdminAsync(2))
        {
            await adminC.UpdateContentPolicyAsync(new JsonObject { ["delete_window_minutes"] = null });
        }
        await EventuallyAsync(async () =>
        {
            try
            {
                await bobOn2.RedactAsync(room, message.EventId);
                return true;
            }
            catch (TeamCommsException ex) when (ex.Code == ErrorCode.EditWindowClosed)
            {
                return false; // node B has not applied the new policy yet
            }
        });
        await ClusterAssert.IdenticalLogsAsync(cluster, admin, [room], [aliceLogin.AccessToken]);
        for (var i = 0; i < 3; i++)
        {
            using var carol = new TeamCommsHttpClient(cluster.Url(i));
            carol.AccessToken = (await carol.LoginAsync("carol", "carol-password-1")).AccessToken;
            JsonArray held = [];
            await EventuallyAsync(async () =>
            {
                held = (await carol.GetAsync($"/v1/compliance/rooms/{Uri.EscapeDataString(room)}/held"))!["events"]!.AsArray();
                return held.Count == 1;
            });
            Assert.Equal(message.EventId.ToString(), held[0]!["event_id"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task ConcurrentAuditedActionsOnTwoNodes_OneIdenticalVerifiableChainOnEveryNode()
    {
        await using var cluster = await ClusterHarness.StartAsync();
        using var adminA = await cluster.AdminAsync(0);
        using var adminB = await cluster.AdminAsync(1);
        const int Rounds = 6;
        // Node A: directory changes (audit inside a SystemProposal) and user holds; node B: policy changes and room-less
        // actions audited on their own (a standalone entry through the log). All at once.
        var onA = Task.Run(async () =>
        {
            for (var i = 0; i < Rounds; i++)
            {
                await adminA.CreateUserAsync($"u{i}", $"User {i}");
                await adminA.CreateLegalHoldAsync("user", $"u{i}@proc.test", "matter A");
            }
        });
        var onB = Task.Run(async () =>
        {
            for (var i = 0; i < Rounds; i++)
            {
                await adminB.UpdateContentPolicyAsync(new JsonObject { ["edit_window_minutes"] = 10 + i });
                await adminB.CreateLegalHoldAsync("user", $"v{i}@proc.test", "matter B");
            }
        });
        await Task.WhenAll(onA, onB);

        // Every node ends with the same entries, seqs and hashes.
        var chains = new List<string>[3];
        await EventuallyAsync(async () =>
        {
            for (var i = 0; i < 3; i++)
            {
                using var nodeAdmin = await cluster.AdminAsync(i);
                chains[i] = await ChainAsync(nodeAdmin);
            }
            return chains[0].Count > 0 && chains[1].SequenceEqual(chains[0]) && chains[2].SequenceEqual(chains[0])
                && chains[0].Count(e => e.Contains("|legal_hold.create|", StringComparison.Ordinal)) == 2 * Rounds
                && chains[0].Count(e => e.Contains("|policy.content.update|", StringComparison.Ordinal)) == Rounds
                && chains[0].Count(e => e.Contains("|user.create|", StringComparison.Ordinal)) >= Rounds;
        });
        // Dense seqs from 1.
        Assert.Equal(Enumerable.Range(1, chains[0].Count).Select(i => (long)i), chains[0].Select(e => long.Parse(e.Split('|')[0], System.Globalization.CultureInfo.InvariantCulture)));

        // Every node signs its head of the shared chain with its own key and verifies the whole chain.
        for (var i = 0; i < 3; i++)
        {
            using var nodeAdmin = await cluster.AdminAsync(i);
            var signed = (await nodeAdmin.SendAsync(HttpMethod.Post, "/v1/admin/audit/sign", null))!;
            var verify = (await nodeAdmin.GetAsync("/v1/admin/audit/verify"))!;
            Assert.True(verify["ok"]!.GetValue<bool>(), verify.ToJsonString());
            Assert.Equal(verify["last_seq"]!.GetValue<long>(), verify["last_signed_seq"]!.GetValue<long>());
            var seq = signed["seq"]!.GetValue<long>();
            Assert.True(seq >= chains[0].Count);
            // The signed hash at that seq is the chain's hash there, on every node.
            Assert.EndsWith("|" + signed["hash"]!.GetValue<string>(), (await ChainAsync(nodeAdmin))[(int)seq - 1], StringComparison.Ordinal);
        }

        // Holds created on two nodes at once never share an id, and every node lists the same holds.
        var lists = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var nodeAdmin = await cluster.AdminAsync(i);
            var ids = (await nodeAdmin.ListLegalHoldsAsync())!["holds"]!.AsArray().Select(h => $"{h!["id"]}:{h["target"]}").Order(StringComparer.Ordinal).ToList();
            Assert.Equal(2 * Rounds, ids.Select(x => x.Split(':')[0]).Distinct().Count());
            lists.Add(string.Join(",", ids));
        }
        Assert.Single(lists.Distinct());
    }

    /// <summary>The node's whole audit log in seq order, one "seq|action|target|hash" line per entry.</summary>
    private static async Task<List<string>> ChainAsync(TeamCommsHttpClient admin)
    {
        var lines = new List<string>();
        long after = 0;
        while (true)
        {
            var page = (await admin.ExportAuditAsync(after, 1000))!["entries"]!.AsArray();
            if (page.Count == 0)
            {
                return lines;
            }
            foreach (var e in page)
            {
                lines.Add($"{e!["seq"]}|{e["action"]}|{e["target"]}|{e["hash"]}");
                after = e["seq"]!.GetValue<long>();
            }
        }
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the cluster did not converge within 30 s");
            await Task.Delay(100);
        }
    }
}
