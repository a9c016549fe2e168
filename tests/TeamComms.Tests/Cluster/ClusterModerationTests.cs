using System.Text;
using System.Text.Json.Nodes;
using TeamComms.Client;
using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Cluster;

/// <summary>
/// Moderation reports in cluster mode (three nats-servers and three nodes): a report filed on one node is in every
/// node's queue with the same id and reason, a resolution made on another node is seen everywhere, reports filed on
/// two nodes at once get distinct ids, and no node stores a reason or note unsealed. In the "cluster" stage of ./test.sh.
/// </summary>
[Trait("Stage", "cluster")]
public sealed class ClusterModerationTests
{
    [Fact]
    public async Task ReportFiledOnOneNode_InEveryQueue_ResolvedOnAnother_ConcurrentReportsGetDistinctIds()
    {
        await using var cluster = await ClusterHarness.StartAsync();
        using var admin = await cluster.AdminAsync(0);
        await admin.CreateUserAsync("alice", "Alice", password: "alice-password-1");
        await admin.CreateUserAsync("bob", "Bob", password: "bob-password-1");
        await admin.CreateUserAsync("carol", "Carol", password: "carol-password-1");
        var alice = await LoginAsync(cluster, 0, "alice", "alice-password-1");
        var bob = await LoginAsync(cluster, 0, "bob", "bob-password-1");
        var carol = await LoginAsync(cluster, 1, "carol", "carol-password-1");
        await using var aliceOnA = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(0), alice);
        await using var bobOnA = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(0), bob);
        await using var carolOnA = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(0), carol);
        var room = await aliceOnA.CreateRoomAsync("Floor", invite: ["bob@proc.test", "carol@proc.test"]);
        await bobOnA.JoinAsync(room);
        await carolOnA.JoinAsync(room);
        var messages = new List<EventId>();
        for (var i = 0; i < 4; i++)
        {
            messages.Add((await bobOnA.SendTextAsync(room, $"rude {i}")).EventId);
        }
        await ClusterAssert.IdenticalLogsAsync(cluster, admin, [room], [alice]); // every node has the room and messages

        // 1. Alice files a report on node A: nodes B and C list it with the same id and reason.
        const string Reason = "unsealed-reason-marker 7f3a: insults a colleague";
        var first = await aliceOnA.ReportAsync(room, messages[0], Reason);
        Assert.Equal(1, first % 256); // node A's index
        for (var i = 0; i < 3; i++)
        {
            using var nodeAdmin = await cluster.AdminAsync(i);
            var report = await EventuallyFindAsync(nodeAdmin, "open", first);
            Assert.Equal(Reason, report["reason"]!.GetValue<string>());
            Assert.Equal(room, report["room_id"]!.GetValue<string>());
            Assert.Equal(messages[0].ToString(), report["event_id"]!.GetValue<string>());
            Assert.Equal("alice@proc.test", report["reporter"]!.GetValue<string>());
        }

        // 2. A moderator on node C dismisses it: nodes A and B see it resolved, with the note.
        const string Note = "unsealed-note-marker 9c1d: talked to them";
        using (var adminC = await cluster.AdminAsync(2))
        {
            var resolved = (await adminC.ResolveReportAsync(first, "dismiss", Note))!;
            Assert.Equal("dismissed", resolved["resolution"]!.GetValue<string>());
            Assert.Equal(Note, resolved["note"]!.GetValue<string>());
        }
        for (var i = 0; i < 3; i++)
        {
            using var nodeAdmin = await cluster.AdminAsync(i);
            var report = await EventuallyFindAsync(nodeAdmin, "resolved", first);
            Assert.Equal("dismissed", report["resolution"]!.GetValue<string>());
            Assert.Equal(Note, report["note"]!.GetValue<string>());
            Assert.Equal(Reason, report["reason"]!.GetValue<string>());
            Assert.Equal("admin@proc.test", report["resolved_by"]!.GetValue<string>());
            Assert.DoesNotContain((await nodeAdmin.ListReportsAsync("open"))!["reports"]!.AsArray(), r => r!["report_id"]!.GetValue<long>() == first);
        }
        // Resolving it again on node B is refused: B has the resolution.
        using (var adminB = await cluster.AdminAsync(1))
        {
            var again = await Assert.ThrowsAsync<TeamCommsException>(() => adminB.ResolveReportAsync(first, "dismiss"));
            Assert.Equal(TeamComms.Protocol.ErrorCode.Conflict, again.Code);
        }

        // 3. Alice on node A and Carol on node B report the other messages at once: distinct ids, each node's own
        //    partition, and every node lists all of them with their reasons.
        await using var carolOnB = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(1), carol);
        var fromA = Task.Run(async () =>
        {
            var ids = new List<long>();
            foreach (var m in messages.Skip(1))
            {
                ids.Add(await aliceOnA.ReportAsync(room, m, $"alice on A: {m}"));
            }
            return ids;
        });
        var fromB = Task.Run(async () =>
        {
            var ids = new List<long>();
            foreach (var m in messages.Skip(1))
            {
                ids.Add(await carolOnB.ReportAsync(room, m, $"carol on B: {m}"));
            }
            return ids;
        });
        var idsA = await fromA;
        var idsB = await fromB;
        Assert.All(idsA, id => Assert.Equal(1, id % 256));
        Assert.All(idsB, id => Assert.Equal(2, id % 256));
        var all = idsA.Concat(idsB).Append(first).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        var expected = idsA.Select((id, k) => (id, $"alice on A: {messages[k + 1]}"))
            .Concat(idsB.Select((id, k) => (id, $"carol on B: {messages[k + 1]}")))
            .OrderByDescending(x => x.id).ToList();
        for (var i = 0; i < 3; i++)
        {
            using var nodeAdmin = await cluster.AdminAsync(i);
            List<(long, string)> open = [];
            await EventuallyAsync(async () =>
            {
                open = [.. (await nodeAdmin.ListReportsAsync("open"))!["reports"]!.AsArray()
                    .Select(r => (r!["report_id"]!.GetValue<long>(), r["reason"]!.GetValue<string>()))];
                return open.Count == expected.Count;
            });
            Assert.Equal(expected, open);
        }

        // No node stored the reason or the note unsealed (the log entries are sealed with the log key; each node seals
        // the rows with its own at-rest key as it applies them). Unsealed, the row's JSON would hold them in base64.
        byte[][] plain =
        [
            .. new[] { Reason, Note }.SelectMany(t => new[] { Encoding.UTF8.GetBytes(t), Encoding.UTF8.GetBytes(Convert.ToBase64String(Encoding.UTF8.GetBytes(t))) }),
        ];
        for (var i = 0; i < 3; i++)
        {
            foreach (var file in Directory.EnumerateFiles(cluster.DataDirectory(i), "*", SearchOption.AllDirectories))
            {
                byte[] bytes;
                try
                {
                    bytes = await File.ReadAllBytesAsync(file);
                }
                catch (IOException)
                {
                    continue; // a file RocksDB holds exclusively (LOCK)
                }
                foreach (var p in plain)
                {
                    Assert.True(bytes.AsSpan().IndexOf(p) < 0, $"'{Encoding.UTF8.GetString(p)}' is stored unsealed in {file}");
                }
            }
        }
    }

    private static async Task<string> LoginAsync(ClusterHarness cluster, int node, string name, string password)
    {
        using var http = new TeamCommsHttpClient(cluster.Url(node));
        return (await http.LoginAsync(name, password)).AccessToken;
    }

    private static async Task<JsonNode> EventuallyFindAsync(TeamCommsHttpClient admin, string status, long id)
    {
        JsonNode? found = null;
        await EventuallyAsync(async () =>
        {
            found = (await admin.ListReportsAsync(status))!["reports"]!.AsArray().FirstOrDefault(r => r!["report_id"]!.GetValue<long>() == id);
            return found is not null;
        });
        return found!;
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
