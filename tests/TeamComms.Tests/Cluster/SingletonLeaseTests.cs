using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using TeamComms.Server.Cluster;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Cluster;

/// <summary>Singleton work under a JetStream key-value lease: one holder at a time, and it moves when the holder goes.</summary>
[Trait("Stage", "cluster")]
public sealed class SingletonLeaseTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task TwoNodes_OneHolderAtATime_MovesOnCleanStopAndWhenTheHolderIsCutOff()
    {
        await using var nats = await NatsCluster.StartAsync();
        // Node a talks only to server 0 (so pausing server 0 cuts it off); node b to servers 1 and 2.
        await using var engineA = Engine(nats, "a", 1, [nats.Urls[0]]);
        await using var engineB = Engine(nats, "b", 2, [nats.Urls[1], nats.Urls[2]]);
        var a = Leases(engineA, "a");
        var b = Leases(engineB, "b");
        var clock = Stopwatch.StartNew();
        var intervals = new ConcurrentQueue<(string Node, double Start, double End)>();
        Func<CancellationToken, Task> Work(string node) => async ct =>
        {
            var start = clock.Elapsed.TotalSeconds;
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            finally
            {
                intervals.Enqueue((node, start, clock.Elapsed.TotalSeconds));
            }
        };

        using var stopA = new CancellationTokenSource();
        using var stopB = new CancellationTokenSource();
        var runA = a.RunAsync("reminders", Work("a"), stopA.Token);
        await Eventually.TrueAsync(() => a.IsHeld("reminders"), 90, "a takes the free lease");
        var runB = b.RunAsync("reminders", Work("b"), stopB.Token);
        await Task.Delay(Lease * 2); // b keeps trying meanwhile
        Assert.True(a.IsHeld("reminders"));
        Assert.False(b.IsHeld("reminders"));

        // A clean stop releases the lease: b takes over without waiting for it to expire.
        await stopA.CancelAsync();
        await runA.WaitAsync(TimeSpan.FromSeconds(10));
        await Eventually.TrueAsync(() => b.IsHeld("reminders"), 30, "b takes the released lease");

        // a comes back and waits; then b is cut off from NATS: b stops its work, and a takes over only after that.
        using var stopA2 = new CancellationTokenSource();
        var a2 = Leases(engineA, "a");
        var runA2 = a2.RunAsync("reminders", Work("a"), stopA2.Token);
        await Task.Delay(Lease);
        Assert.False(a2.IsHeld("reminders"));
        // Cut b off from NATS (its connection is closed under it; it can no longer renew, nor delete its key).
        await engineB.Connection.DisposeAsync();
        await Eventually.TrueAsync(() => !b.IsHeld("reminders"), 30, "b gives the lease up when it cannot renew");
        await Eventually.TrueAsync(() => a2.IsHeld("reminders"), 60, "a takes the expired lease");

        await stopA2.CancelAsync();
        await stopB.CancelAsync();
        await Task.WhenAll(runA2, runB).WaitAsync(TimeSpan.FromSeconds(20));

        // Never two holders at once: every interval ends before the next one starts.
        var ordered = intervals.OrderBy(i => i.Start).ToList();
        Assert.Equal(["a", "b", "a"], ordered.Select(i => i.Node));
        for (var i = 1; i < ordered.Count; i++)
        {
            Assert.True(ordered[i - 1].End <= ordered[i].Start, $"overlap: {ordered[i - 1]} and {ordered[i]}");
        }
    }

    private static ClusterEngine Engine(NatsCluster nats, string node, int index, List<string> urls) =>
        new(new ClusterOptions
        {
            Enabled = true,
            NodeId = node,
            NodeIndex = index,
            Urls = urls,
            User = NatsCluster.User,
            Password = NatsCluster.Password,
            Lease = Lease,
        }, NullLogger<ClusterEngine>.Instance);

    private static JetStreamSingletonLeases Leases(ClusterEngine engine, string node) =>
        new(engine, new ClusterOptions { Enabled = true, NodeId = node, NodeIndex = 1, Urls = ["x"], Lease = Lease },
            TimeProvider.System, NullLogger<JetStreamSingletonLeases>.Instance);
}
