using Xunit.Abstractions;

using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Cluster;

/// <summary>
/// The failure cases of cluster mode, each under load from six writers on three nodes (<see cref="ClusterLoad"/>).
/// Pass condition for every case: dense room sequences, no duplicates, no acknowledged event lost, identical room
/// logs on every node. Outage times are printed (and recorded in docs/benchmarks.md), never asserted.
/// </summary>
[Trait("Stage", "cluster")]
public sealed class ClusterFailureTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Case1_KillStreamLeader_WritesResumeAfterElection()
    {
        await using var cluster = await ClusterHarness.StartAsync();
        using var admin = await cluster.AdminAsync(0);
        await using var load = await ClusterLoad.StartAsync(cluster, admin);
        await Task.Delay(3000);
        var leader = await cluster.Nats.StreamLeaderAsync(ClusterHarness.Stream);
        var killedAt = load.Now;
        cluster.Nats.Kill(leader);
        await Task.Delay(15_000);
        var outage = load.LongestGap(killedAt, load.Now);
        cluster.Nats.Start(leader);
        await Task.Delay(3000);
        await load.StopAsync();
        Report("case 1 (kill -9 the stream leader)", load, outage);
        await load.AssertConsistentAsync(admin);
    }

    [Fact]
    public async Task Case2_CleanShutdownOfANatsServer()
    {
        await using var cluster = await ClusterHarness.StartAsync();
        using var admin = await cluster.AdminAsync(0);
        await using var load = await ClusterLoad.StartAsync(cluster, admin);
        await Task.Delay(3000);
        var leader = await cluster.Nats.StreamLeaderAsync(ClusterHarness.Stream);
        var stoppedAt = load.Now;
        cluster.Nats.Stop(leader);
        await Task.Delay(8000);
        var outage = load.LongestGap(stoppedAt, load.Now);
        cluster.Nats.Start(leader);
        await Task.Delay(3000);
        await load.StopAsync();
        Report("case 2 (clean shutdown of the leader's nats-server)", load, outage);
        await load.AssertConsistentAsync(admin);
    }

    [Fact]
    public async Task Case3_KillANodeBeforeAndAfterItAcknowledges_ClientRetriesElsewhere()
    {
        await using var cluster = await ClusterHarness.StartAsync();
        using var admin = await cluster.AdminAsync(0);
        await using var load = await ClusterLoad.StartAsync(cluster, admin);
        await Task.Delay(2000);

        // Before the acknowledgement: node 3 restarts with a fault hook that kills it right after it published an
        // entry, before it applied it or answered anyone. Its clients retry the same transactions on other nodes.
        await cluster.KillNodeAsync(2);
        await cluster.StartNodeAsync(2, new Dictionary<string, string> { ["TEAMCOMMS__CLUSTER__TESTFAULT"] = "after-publish:20" });
        load.AddWriters(2, 2); // the other writers moved away from node 3 when it was killed
        await Eventually.TrueAsync(() => cluster.Nodes[2]!.Output.Any(l => l.Contains("test fault", StringComparison.Ordinal)) || HasExited(cluster, 2), 60, "node 3 hit its fault point");
        await Task.Delay(1000);
        await cluster.KillNodeAsync(2);

        // After the acknowledgement: kill node 2 (SIGKILL) right after one of its clients got an ack.
        var acked = load.Acks.Count;
        await Eventually.TrueAsync(() => load.Acks.Count > acked + 5, 30, "more acks");
        await cluster.KillNodeAsync(1);
        await Task.Delay(3000);

        await cluster.StartNodeAsync(1);
        await cluster.StartNodeAsync(2);
        await Task.Delay(3000);
        await load.StopAsync();
        Report("case 3 (TeamComms nodes killed before and after acknowledging)", load, null);
        await load.AssertConsistentAsync(admin);
    }

    [Fact]
    public async Task Case4_PauseANatsServerPastAnElection_ThenResume()
    {
        await using var cluster = await ClusterHarness.StartAsync();
        using var admin = await cluster.AdminAsync(0);
        await using var load = await ClusterLoad.StartAsync(cluster, admin);
        await Task.Delay(3000);
        var leader = await cluster.Nats.StreamLeaderAsync(ClusterHarness.Stream);
        var pausedAt = load.Now;
        cluster.Nats.Pause(leader);
        await Task.Delay(12_000);
        var outage = load.LongestGap(pausedAt, load.Now);
        cluster.Nats.Resume(leader);
        await Task.Delay(5000);
        await load.StopAsync();
        Report("case 4 (SIGSTOP the leader's nats-server for 12 s)", load, outage);
        await load.AssertConsistentAsync(admin);
    }

    [Fact]
    public async Task Case5_RestartTheWholeCluster()
    {
        await using var cluster = await ClusterHarness.StartAsync();
        using var admin = await cluster.AdminAsync(0);
        await using var before = await ClusterLoad.StartAsync(cluster, admin);
        await Task.Delay(4000);
        await before.StopAsync();
        await before.AssertConsistentAsync(admin);
        for (var i = 0; i < 3; i++)
        {
            await cluster.KillNodeAsync(i);
        }
        for (var i = 0; i < 3; i++)
        {
            cluster.Nats.Stop(i);
        }
        for (var i = 0; i < 3; i++)
        {
            cluster.Nats.Start(i);
        }
        await cluster.Nats.WaitReadyAsync(TimeSpan.FromSeconds(180));
        await Task.WhenAll(Enumerable.Range(0, 3).Select(cluster.StartNodeAsync));
        using var admin2 = await cluster.AdminAsync(1);
        await using var again = await ClusterLoad.StartAsync(cluster, admin2, roomCount: 2, users: "after");
        await Task.Delay(4000);
        await again.StopAsync();
        Report("case 5 (whole cluster restarted)", again, null);
        await again.AssertConsistentAsync(admin2);
        await before.AssertConsistentAsync(admin2); // nothing acknowledged before the restart was lost
    }

    [Fact]
    public async Task Case6_ThreeNodesWriteToOneRoomAtOnce()
    {
        await using var cluster = await ClusterHarness.StartAsync();
        using var admin = await cluster.AdminAsync(0);
        await using var load = await ClusterLoad.StartAsync(cluster, admin, roomCount: 1, writers: 9);
        await Task.Delay(8000);
        await load.StopAsync();
        Report("case 6 (nine writers on three nodes, one room)", load, null);
        await load.AssertConsistentAsync(admin);
    }

    [Fact]
    public async Task Case7_PauseANodeFor60Seconds_ItCatchesUp()
    {
        await using var cluster = await ClusterHarness.StartAsync();
        using var admin = await cluster.AdminAsync(0);
        await using var load = await ClusterLoad.StartAsync(cluster, admin);
        await Task.Delay(2000);
        cluster.PauseNode(2);
        await Task.Delay(60_000);
        cluster.ResumeNode(2);
        await Task.Delay(5000);
        await load.StopAsync();
        Report("case 7 (a TeamComms node paused for 60 s)", load, null);
        await load.AssertConsistentAsync(admin);
    }

    private static bool HasExited(ClusterHarness cluster, int i)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(cluster.Nodes[i]!.Pid);
            return p.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    private void Report(string name, ClusterLoad load, double? outage)
    {
        var line = $"{name}: {load.Acks.Count} acknowledged sends, {load.Failures.Count} failed attempts retried" +
            (outage is { } o ? $", longest write outage {o:F2} s" : "");
        output.WriteLine(line);
        Console.WriteLine("CLUSTER-RESULT " + line);
        foreach (var failure in load.Failures.Take(5))
        {
            output.WriteLine("  " + failure);
        }
    }
}
