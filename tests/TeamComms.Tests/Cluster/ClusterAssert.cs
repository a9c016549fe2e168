using TeamComms.Client;
using TeamComms.Protocol.Events;

namespace TeamComms.Tests.Cluster;

/// <summary>The pass condition of every cluster test: dense sequences, no duplicates, and the same log on every live node.</summary>
internal static class ClusterAssert
{
    /// <summary>
    /// Reads each room's whole history from every live node (as a member, through <paramref name="memberTokens"/>), and
    /// asserts: seqs are 1..N with no gap or duplicate, and every node holds exactly the same events (ids, hence
    /// chain and content hashes). Waits until the nodes agree on the head, since each applies at its own pace.
    /// </summary>
    public static async Task<Dictionary<string, RoomEvent>> IdenticalLogsAsync(ClusterHarness cluster, TeamCommsHttpClient admin,
        IReadOnlyList<string> rooms, IReadOnlyList<string> memberTokens)
    {
        var heads = new Dictionary<string, RoomEvent>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var logs = new List<Dictionary<string, List<RoomEvent>>>();
            for (var i = 0; i < cluster.Nodes.Length; i++)
            {
                if (cluster.Nodes[i] is null)
                {
                    continue;
                }
                await using var c = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(i), memberTokens[0]);
                var perRoom = new Dictionary<string, List<RoomEvent>>();
                foreach (var room in rooms)
                {
                    perRoom[room] = await FullHistoryAsync(c, room);
                }
                logs.Add(perRoom);
            }
            var agree = rooms.All(r => logs.All(l => l[r].Count == logs[0][r].Count && l[r].Count > 0 && l[r][^1].Id.Equals(logs[0][r][^1].Id)));
            if (agree || DateTime.UtcNow > deadline)
            {
                foreach (var room in rooms)
                {
                    var first = logs[0][room];
                    Assert.Equal(Enumerable.Range(1, first.Count).Select(x => (long)x), first.Select(e => e.Seq));
                    foreach (var other in logs.Skip(1))
                    {
                        Assert.Equal(first.Select(e => e.Id), other[room].Select(e => e.Id));
                    }
                    heads[room] = first[^1];
                }
                _ = admin;
                return heads;
            }
            await Task.Delay(200);
        }
    }

    public static async Task<List<RoomEvent>> FullHistoryAsync(TeamCommsConnection c, string room)
    {
        var all = new List<RoomEvent>();
        long? from = 1;
        while (true)
        {
            var page = await c.HistoryAsync(room, from, forward: true, limit: 500);
            all.AddRange(page.Events);
            if (page.Next is not { } next || page.Events.Count == 0)
            {
                return all;
            }
            from = next;
        }
    }

    /// <summary>Waits until exactly one live node reports holding <paramref name="lease"/> in /metrics; returns it.</summary>
    public static async Task<int> SingleLeaseHolderAsync(ClusterHarness cluster, string lease)
    {
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var holders = new List<int>();
            for (var i = 0; i < cluster.Nodes.Length; i++)
            {
                if (cluster.Nodes[i] is null)
                {
                    continue;
                }
                var text = await http.GetStringAsync(new Uri(cluster.Url(i), "/metrics"));
                if (text.Split('\n').Any(l => l.StartsWith("teamcomms_cluster_singleton_held{", StringComparison.Ordinal)
                    && l.Contains($"lease=\"{lease}\"", StringComparison.Ordinal) && l.TrimEnd().EndsWith(" 1", StringComparison.Ordinal)))
                {
                    holders.Add(i);
                }
            }
            Assert.True(holders.Count <= 1, $"{lease} held by nodes {string.Join(",", holders.Select(h => h + 1))} at once");
            if (holders.Count == 1)
            {
                return holders[0];
            }
            Assert.True(DateTime.UtcNow < deadline, $"no node took the {lease} lease");
            await Task.Delay(200);
        }
    }
}
