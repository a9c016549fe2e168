using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using TeamComms.Client;
using TeamComms.Protocol.Events;
using TeamComms.Server.Federation;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Federation;

/// <summary>
/// Outages measured in hours, in-process with a fake clock: the retry schedule is checked attempt by attempt, and a
/// destination that comes back catches up in order with nothing lost and nothing duplicated.
/// </summary>
// Real-time waits (30 s) around fake-clock steps across two servers: run alone, after the parallel tests, so that a
// busy machine cannot starve the senders past the waits.
[Collection("federation-outage")]
public class FederationOutageTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);

    private static Dictionary<string, string?> Settings() => new()
    {
        ["TeamComms:Federation:RetryBase"] = "00:00:01",
        ["TeamComms:Federation:RetryMax"] = "00:05:00",
        ["TeamComms:Federation:RequestTimeout"] = "00:00:05",
    };

    [Fact]
    public async Task FollowerDownForHours_RetriesWithExponentialBackoff_ThenCatchesUpInOrder()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var cluster = await FederatedServers.StartAsync(2, Settings(), time);
        var alice = await cluster.A.CreateUserAsync("alice");
        var bob = await cluster.B.CreateUserAsync("bob");
        string room;
        await using (var a0 = await alice.ConnectAsync())
        await using (var b0 = await bob.ConnectAsync())
        await using (var events = new EventCollector(b0))
        {
            room = await a0.CreateRoomAsync("outage", invite: [bob.UserId]);
            await events.WaitAsync(es => es.Any(e => e.RoomId == room));
            await b0.JoinAsync(room);
            await a0.SendTextAsync(room, "before");
            await events.WaitForMessagesAsync(room, 1);
        }
        await cluster.StopAsync(cluster.B);

        await using var a = await alice.ConnectAsync();
        var senders = cluster.A.Senders;
        var sent = new List<string>();
        async Task SendSomeAsync(int n)
        {
            for (var i = 0; i < n; i++)
            {
                var body = $"during {sent.Count}";
                await a.SendTextAsync(room, body); // acknowledged by the hub at once; B is down
                sent.Add(body);
            }
        }
        await SendSomeAsync(10);

        // Attempt by attempt: the n-th failure waits between half and all of min(5 min, 1 s · 2^(n-1)).
        var retryMax = TimeSpan.FromMinutes(5);
        var elapsed = TimeSpan.Zero;
        var failures = 0;
        while (elapsed < TimeSpan.FromHours(3))
        {
            await senders.WaitAsync(s => s.Find("b.test") is { Failures: var f, NextAttemptAt: not null } && f == failures + 1, s_wait);
            var status = senders.Find("b.test")!.Snapshot();
            failures = status.Failures;
            var delay = TimeSpan.FromMilliseconds(status.NextAttemptAt!.Value - time.GetUtcNow().ToUnixTimeMilliseconds());
            var cap = Backoff.Cap(failures, TimeSpan.FromSeconds(1), retryMax);
            Assert.InRange(delay, cap / 2 - TimeSpan.FromMilliseconds(1), cap);
            if (failures % 7 == 0)
            {
                await SendSomeAsync(5); // more messages keep arriving during the outage, without cutting the backoff short
                Assert.Equal(failures, senders.Find("b.test")!.Failures);
            }
            time.Advance(delay);
            elapsed += delay;
        }
        // Three hours of retries: ~10 growing steps, then one attempt every 2.5–5 minutes.
        Assert.InRange(failures, 10 + 30, 10 + 80);
        var attempts = senders.Find("b.test")!.Snapshot().RecentAttempts;
        Assert.True(attempts.Zip(attempts.Skip(1)).All(p => p.Second - p.First <= (long)retryMax.TotalMilliseconds + 1),
            "no gap between attempts is longer than RetryMax");

        // B comes back; the next attempt delivers everything in one or two transactions.
        var before = senders.Find("b.test")!.Snapshot().Transactions;
        await cluster.RestartAsync(cluster.B);
        // Either an attempt already in flight reaches the restarted server, or the sender waits for its next retry.
        await senders.WaitAsync(s => s.Find("b.test") is { } d && (d.Failures == 0 || d.NextAttemptAt is not null), s_wait);
        if (senders.Find("b.test")!.NextAttemptAt is { } next)
        {
            time.Advance(TimeSpan.FromMilliseconds(Math.Max(1, next - time.GetUtcNow().ToUnixTimeMilliseconds())));
        }
        await senders.WaitAsync(s => s.Find("b.test")!.Snapshot() is { Failures: 0, DirtyRooms: 0 } d && d.Transactions > before, s_wait);
        Assert.InRange(senders.Find("b.test")!.Snapshot().Transactions - before, 1, 3);

        await using var b = await bob.ConnectAsync();
        var page = await b.HistoryAsync(room, forward: true, limit: 500);
        var messages = page.Events.Where(e => e.Type == EventTypes.Message).Select(e => (string)e.ContentMap["body"]!).ToList();
        Assert.Equal(["before", .. sent], messages);
        Assert.Equal(-1, EventCodec.VerifyChain(page.Events, null, 0));
        var atHub = await a.HistoryAsync(room, forward: true, limit: 500);
        Assert.Equal(atHub.Events.Select(e => e.Id), page.Events.Select(e => e.Id));
    }

    [Fact]
    public async Task HubDownForHours_SendsArePendingInTheOutbox_ThenOrderedInSendOrder()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var cluster = await FederatedServers.StartAsync(2, Settings(), time);
        var alice = await cluster.A.CreateUserAsync("alice");
        var bob = await cluster.B.CreateUserAsync("bob");
        string room;
        await using (var a0 = await alice.ConnectAsync())
        await using (var b0 = await bob.ConnectAsync())
        await using (var events = new EventCollector(b0))
        {
            room = await a0.CreateRoomAsync("hub outage", invite: [bob.UserId]);
            await events.WaitAsync(es => es.Any(e => e.RoomId == room));
            await b0.JoinAsync(room);
        }
        await cluster.StopAsync(cluster.A);

        await using var b = await bob.ConnectAsync(new ClientOptions { RequestTimeout = TimeSpan.FromSeconds(5) });
        var senders = cluster.B.Senders;
        var sends = new List<Task<TeamComms.Protocol.Frames.AckFrame>>();
        // The first send waits for the pending notice (fake time), then B's sender fails and backs off.
        var marker = "ZQX-OUTBOX-" + Guid.NewGuid().ToString("N");
        sends.Add(b.SendTextAsync(room, $"pending 0 {marker}"));
        await senders.WaitAsync(s => s.Find("a.test") is { Failures: >= 1 }, s_wait);
        for (var i = 1; i < 20; i++)
        {
            sends.Add(b.SendTextAsync(room, $"pending {i} {marker}")); // the hub is known to be failing: Pending at once
        }
        time.Advance(TimeSpan.FromSeconds(1));
        var pending = new List<TeamComms.Protocol.Frames.PendingFrame>();
        while (pending.Count < 20)
        {
            pending.Add(await b.PendingSends.ReadAsync().AsTask().WaitAsync(s_wait));
        }
        Assert.All(sends, s => Assert.False(s.IsCompleted));
        using (var admin = await cluster.B.Server.AdminAsync())
        {
            var status = await admin.FederationStatusAsync();
            Assert.Equal(20, status!["pending_sends"]!.GetValue<int>());
            Assert.Equal(20, status["destinations"]!.AsArray().Single(d => d!["server"]!.GetValue<string>() == "a.test")!["outbox"]!.GetValue<int>());
        }
        // The waiting proposals carry message content: sealed with the room's data key in the outbox, like events.
        Assert.Empty(TeamComms.Tests.Keys.KeyTestKit.FilesContaining(cluster.B.DataDirectory, marker));

        // Four hours later the hub is back; the next retry carries the whole outbox.
        for (var advanced = TimeSpan.Zero; advanced < TimeSpan.FromHours(4);)
        {
            var failures = senders.Find("a.test")!.Failures;
            await senders.WaitAsync(s => s.Find("a.test") is { NextAttemptAt: not null } d && d.Failures >= failures, s_wait);
            var next = TimeSpan.FromMilliseconds(Math.Max(1, senders.Find("a.test")!.NextAttemptAt!.Value - time.GetUtcNow().ToUnixTimeMilliseconds()));
            time.Advance(next);
            advanced += next;
            await senders.WaitAsync(s => s.Find("a.test")!.Failures > failures || s.Find("a.test")!.NextAttemptAt is null, s_wait);
        }
        await cluster.RestartAsync(cluster.A);
        // Either an attempt already in flight reaches the restarted hub, or the sender waits for its next retry.
        await senders.WaitAsync(s => s.Find("a.test") is { } d && (d.Failures == 0 || d.NextAttemptAt is not null), s_wait);
        if (senders.Find("a.test")!.NextAttemptAt is not null)
        {
            time.Advance(TimeSpan.FromMinutes(5));
        }
        var acks = await Task.WhenAll(sends).WaitAsync(s_wait);
        Assert.Equal(acks.Select(x => x.Seq).Order(), acks.Select(x => x.Seq)); // ordered in the order sent
        Assert.Equal(20, acks.Select(x => x.Seq).Distinct().Count());

        await using var a = await alice.ConnectAsync();
        var atHub = await a.HistoryAsync(room, forward: true, limit: 100);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"pending {i} {marker}"),
            atHub.Events.Where(e => e.Type == EventTypes.Message).Select(e => (string)e.ContentMap["body"]!));
        // The ordered events come back to B, and B's outbox and pending sends empty.
        await Eventually.TrueAsync(() => cluster.B.Services.GetRequiredService<TeamComms.Server.Storage.FederationStore>().PendingCount() == 0, what: "b.test has no pending sends");
        var atB = await b.HistoryAsync(room, forward: true, limit: 100);
        Assert.Equal(atHub.Events.Select(e => e.Id), atB.Events.Select(e => e.Id));
        Assert.Equal(0, cluster.B.Services.GetRequiredService<TeamComms.Server.Storage.FederationStore>().OutboxCount("a.test"));
    }

    [Fact]
    public async Task PartnerKeys_AreCachedUntilTheirDocumentExpires_ThenRefreshed()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var cluster = await FederatedServers.StartAsync(2, new() { ["TeamComms:Federation:KeyDocumentLifetime"] = "00:10:00" }, time);
        var alice = await cluster.A.CreateUserAsync("alice");
        var bob = await cluster.B.CreateUserAsync("bob");
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await using var events = new EventCollector(b);
        var room = await a.CreateRoomAsync("keys", invite: [bob.UserId]);
        await events.WaitAsync(es => es.Any(e => e.RoomId == room));
        await b.JoinAsync(room);
        var keys = cluster.B.Services.GetRequiredService<KeyCache>();
        var fetched = keys.Fetches;
        Assert.Equal(1, fetched); // a.test's document, fetched once
        for (var i = 0; i < 5; i++)
        {
            await a.SendTextAsync(room, $"cached {i}");
        }
        await events.WaitForMessagesAsync(room, 5);
        Assert.Equal(fetched, keys.Fetches); // every request and checkpoint verified from the cache

        time.Advance(TimeSpan.FromMinutes(11)); // the document expired: the next verification re-reads it
        await a.SendTextAsync(room, "after expiry");
        await events.WaitForMessagesAsync(room, 6);
        Assert.Equal(fetched + 1, keys.Fetches);
        Assert.Contains(cluster.B.Services.GetRequiredService<TeamComms.Server.Storage.FederationStore>().RemoteKeys("a.test"),
            k => k.KeyId == cluster.A.Services.GetRequiredService<ServerKeyRing>().KeyId);
    }
}

[CollectionDefinition("federation-outage", DisableParallelization = true)]
public sealed class FederationOutageCollection;
