using System.Globalization;
using System.Text.Json.Nodes;
using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;
using TeamComms.Tests.Workplace;

namespace TeamComms.Tests.Cluster;

/// <summary>
/// The attention features (issue 7b) in cluster mode (three nats-servers and three nodes, real processes, so the real
/// clock): an urgent message sent on one node and acknowledged on another, an emergency broadcast whose reminders and
/// escalation are driven by the node holding the <c>alert-timers</c> lease and reach a device on another node exactly
/// once per tick, and an anonymous incident report; every node ends with the same alert rows and the same room logs.
/// In the "cluster" stage of ./test.sh.
/// </summary>
[Trait("Stage", "cluster")]
public sealed class ClusterAttentionTests
{
    private static readonly Dictionary<string, string> ShortReminders = new()
    {
        // The shortest the options allow: a reminder at 10 s and 20 s, then the escalation.
        ["TEAMCOMMS__WORKPLACE__REMINDERINTERVAL"] = "00:00:10",
        ["TEAMCOMMS__WORKPLACE__REMINDERDURATION"] = "00:00:20",
    };

    [Fact]
    public async Task UrgentBroadcastAndIncident_AcrossNodes_SameAlertRowsAndLogsEverywhere_RemindersOncePerTick()
    {
        await using var cluster = await ClusterHarness.StartAsync(extra: ShortReminders);
        using var admin = await cluster.AdminAsync(0);
        var boss = await PersonAsync(admin, "boss", null, []);
        var bob = await PersonAsync(admin, "bob", boss, []);
        var carol = await PersonAsync(admin, "carol", boss, []);
        var hr = await PersonAsync(admin, "hr", null, ["hr"]);
        var tokens = new Dictionary<string, string>();
        foreach (var (user, node) in new[] { ("bob", 1), ("carol", 2), ("boss", 0), ("hr", 1) })
        {
            using var http = new TeamCommsHttpClient(cluster.Url(node));
            tokens[user] = (await LoginEventuallyAsync(http, user)).AccessToken;
        }

        await using var adminOn1 = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(0), admin.AccessToken!);
        await using var adminOn3 = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(2), admin.AccessToken!);
        await using var bobOn2 = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(1), tokens["bob"]);
        await using var carolOn3 = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(2), tokens["carol"]);
        await using var bossOn1 = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(0), tokens["boss"]);
        await using var hrOn2 = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(1), tokens["hr"]);
        await using var carolNotify = new NotifyCollector(carolOn3);

        // 0. Settings beyond alerts travel too: the company policy changed on node 1 and a person's receipt privacy set on
        // node 2 apply on every node.
        await admin.SendAsync(HttpMethod.Patch, "/v1/admin/workplace/policy", new JsonObject { ["escalation_fallback"] = new JsonArray(hr) });
        await hrOn2.CallMapAsync("receipts.set_privacy", new() { ["hide_read_receipts"] = true });
        for (var i = 0; i < 3; i++)
        {
            using var adminOn = await cluster.AdminAsync(i);
            await using var hrOn = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(i), tokens["hr"]);
            await EventuallyAsync(async () => (await adminOn.SendAsync(HttpMethod.Get, "/v1/admin/workplace/policy", null))!["escalation_fallback"]!
                .AsArray().Select(x => x!.GetValue<string>()).SequenceEqual([hr]), $"the policy on node {i + 1}");
            await EventuallyAsync(async () => (await hrOn.CallMapAsync("notifications.get", new()))["hide_read_receipts"] is true,
                $"hr's receipt privacy on node {i + 1}");
        }

        // 1. An urgent direct message sent on node 1 (its direct room is created through the log, with a preset id)…
        var direct = await adminOn1.CallMapAsync("alerts.send", new() { ["user"] = bob, ["body"] = "Call me now", ["urgent"] = true });
        var directId = (string)direct["alert_id"]!;
        var directRoom = (string)direct["room_id"]!;
        Assert.StartsWith("a", directId, StringComparison.Ordinal);
        Assert.True(long.Parse(directId[1..], CultureInfo.InvariantCulture) > 1L << 40, "an alert key from node 1's partition");
        // … acknowledged on node 2: the acknowledgement goes through the log, so node 1 (the sender's) shows it.
        var acked = await WithRetryAsync(() => bobOn2.CallMapAsync("alerts.ack", new() { ["alert"] = directId }));
        var ackedAt = (long)acked["acknowledged_at"]!;
        Assert.Equal(ackedAt, (await bobOn2.CallMapAsync("alerts.ack", new() { ["alert"] = directId }))["acknowledged_at"]); // idempotent
        await EventuallyAsync(async () => RecipientOf(await adminOn1.CallMapAsync("alerts.status", new() { ["alert"] = directId }), bob)["acknowledged_at"]
            is long t && t == ackedAt, "the acknowledgement made on node 2 shows on node 1");

        // 2. An emergency broadcast to the whole company from node 3: its room is created and bound through the log.
        var broadcast = await adminOn3.CallMapAsync("alerts.send", new() { ["company"] = true, ["body"] = "Evacuate building B" });
        var broadcastId = (string)broadcast["alert_id"]!;
        var broadcastRoom = (string)broadcast["room_id"]!;
        var broadcastSeq = (long)broadcast["seq"]!;
        Assert.Equal(4L, broadcast["recipients"]); // boss, bob, carol, hr (not the sender)
        // Everyone but carol acknowledges, each on their own node; carol is reminded (10 s, 20 s), then escalated to boss.
        await WithRetryAsync(() => bobOn2.CallMapAsync("alerts.ack", new() { ["alert"] = broadcastId }));
        await WithRetryAsync(() => bossOn1.CallMapAsync("alerts.ack", new() { ["alert"] = broadcastId }));
        await WithRetryAsync(() => hrOn2.CallMapAsync("alerts.ack", new() { ["alert"] = broadcastId }));

        // The escalation reaches boss once, in the admin's direct room with boss, whichever node holds the timers.
        var escalations = await EventuallyValueAsync(async () =>
        {
            var pending = (List<object?>)(await bossOn1.CallMapAsync("alerts.list", new()))["pending"]!;
            var found = pending.Cast<Dictionary<string, object?>>().Where(a => (string)a["scope"]! == "escalation").ToList();
            return found.Count > 0 ? found : null;
        }, "the escalation of carol's unacknowledged broadcast to her manager", TimeSpan.FromSeconds(60));
        var escalation = Assert.Single(escalations);
        var escalationRoom = (string)escalation["room_id"]!;

        // Carol's device (on node 3) got each of the two reminder ticks exactly once, wherever the timers ran.
        await carolNotify.WaitAsync(n => n.RoomId == broadcastRoom && n.Seq == broadcastSeq && n.Reason == NotifyReasons.Reminder);
        await EventuallyAsync(() => Task.FromResult(Reminders(carolNotify, broadcastRoom, broadcastSeq) == 2), "two reminders");

        // 3. An anonymous incident report from node 3; its room and record (with the sealed reporter) reach every node.
        var report = await carolOn3.CallMapAsync("incidents.report", new() { ["kind"] = "safety", ["description"] = "Blocked fire exit", ["anonymous"] = true });
        var incidentId = (string)report["incident_id"]!;
        var secret = (string)report["secret"]!;
        Assert.True(long.Parse(incidentId[1..], CultureInfo.InvariantCulture) > 3L << 40, "an incident key from node 3's partition");
        var incidentRoom = await EventuallyValueAsync(async () =>
        {
            var list = (List<object?>)(await hrOn2.CallAsync("incidents.list"))!;
            return list.Cast<Dictionary<string, object?>>().FirstOrDefault(i => (string)i["incident_id"]! == incidentId)?["room_id"] as string;
        }, "the incident on node 2", TimeSpan.FromSeconds(30));
        // The reporter's secret works on a node that did not take the report.
        await using (var anonymousOn1 = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(0), tokens["boss"]))
        {
            var followUp = await WithRetryAsync(() => anonymousOn1.CallMapAsync("incidents.send", new() { ["incident"] = incidentId, ["secret"] = secret, ["body"] = "It is still blocked" }));
            var messages = await anonymousOn1.CallMapAsync("incidents.messages", new() { ["incident"] = incidentId, ["secret"] = secret });
            Assert.Equal(incidentRoom, messages["room_id"]);
            Assert.Equal((long)followUp["seq"]!, ((List<object?>)messages["events"]!).Count); // the room from its creation to the follow-up
        }
        // The reporter's identity, sealed to the escrow key by the node that took the report, is the same bytes everywhere.
        var sealedLinks = new List<string?>();
        for (var i = 0; i < 3; i++)
        {
            using var adminOn = await cluster.AdminAsync(i);
            sealedLinks.Add((await adminOn.SendAsync(HttpMethod.Get, $"/v1/admin/incidents/{incidentId}/sealed", null))?["sealed_reporter"]?.ToJsonString());
        }
        Assert.Equal([sealedLinks[0], sealedLinks[0], sealedLinks[0]], sealedLinks);

        // Every node: the same alert rows (acknowledgements, reminders, escalation) and the same incident record.
        var views = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            await using var c = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(i), admin.AccessToken!);
            views.Add(await EventuallyValueAsync(async () =>
            {
                var b = await c.CallMapAsync("alerts.status", new() { ["alert"] = broadcastId });
                var carolRow = RecipientOf(b, carol);
                if (carolRow["escalated_at"] is null || (long)carolRow["reminders"]! != 2)
                {
                    return null;
                }
                var d = await c.CallMapAsync("alerts.status", new() { ["alert"] = directId });
                return Rows(b) + " | " + Rows(d);
            }, $"the alert rows on node {i + 1}", TimeSpan.FromSeconds(30)));
        }
        Assert.Equal(views[0], views[1]);
        Assert.Equal(views[0], views[2]);
        Assert.Contains($"{carol}:2:{boss}", views[0], StringComparison.Ordinal); // reminded twice, escalated to her manager
        Assert.Contains($"{bob}:0:", views[0], StringComparison.Ordinal); // acknowledged in time: never reminded or escalated

        // Still exactly two reminder ticks for carol after the escalation (no second lease holder repeated one).
        Assert.Equal(2, Reminders(carolNotify, broadcastRoom, broadcastSeq));

        // The same room logs everywhere: the direct room, the broadcast room, the escalation room, the incident room.
        await ClusterAssert.IdenticalLogsAsync(cluster, admin, [broadcastRoom], [admin.AccessToken!]);
        await ClusterAssert.IdenticalLogsAsync(cluster, admin, [incidentRoom], [tokens["hr"]]);
        // Direct rooms show members the history from their join (seq 2 on, after the creation): same events everywhere.
        await SameVisibleLogAsync(cluster, admin.AccessToken!, directRoom);
        await SameVisibleLogAsync(cluster, admin.AccessToken!, escalationRoom);
    }

    /// <summary>Every node shows a member the same events of <paramref name="room"/>, with dense seqs, once they agree on the head.</summary>
    private static async Task SameVisibleLogAsync(ClusterHarness cluster, string token, string room)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var logs = new List<List<RoomEvent>>();
            for (var i = 0; i < cluster.Nodes.Length; i++)
            {
                await using var c = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(i), token);
                logs.Add(await ClusterAssert.FullHistoryAsync(c, room));
            }
            if (logs.All(l => l.Count > 0 && l[^1].Id.Equals(logs[0][^1].Id)) || DateTime.UtcNow > deadline)
            {
                var first = logs[0];
                Assert.NotEmpty(first);
                Assert.Equal(Enumerable.Range((int)first[0].Seq, first.Count).Select(x => (long)x), first.Select(e => e.Seq));
                foreach (var other in logs.Skip(1))
                {
                    Assert.Equal(first.Select(e => e.Id), other.Select(e => e.Id));
                }
                return;
            }
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task AlertTimersHolderDies_TheNextHolderContinues_NoReminderRepeated_EscalatedOnce()
    {
        await using var cluster = await ClusterHarness.StartAsync(extra: ShortReminders);
        using var admin0 = await cluster.AdminAsync(0);
        var boss = await PersonAsync(admin0, "boss", null, []);
        var bob = await PersonAsync(admin0, "bob", boss, []);
        var holder = await ClusterAssert.SingleLeaseHolderAsync(cluster, "alert-timers");
        var others = Enumerable.Range(0, 3).Where(i => i != holder).ToList();
        using var admin = await cluster.AdminAsync(others[0]);
        var tokens = new Dictionary<string, string>();
        foreach (var user in new[] { "bob", "boss" })
        {
            using var http = new TeamCommsHttpClient(cluster.Url(others[1]));
            tokens[user] = (await LoginEventuallyAsync(http, user)).AccessToken;
        }
        await using var adminConn = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(others[0]), admin.AccessToken!);
        await using var bobConn = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(others[1]), tokens["bob"]);
        await using var bossConn = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(others[0]), tokens["boss"]);
        await using var bobNotify = new NotifyCollector(bobConn);

        // Sent on a node that does not hold the timers; bob (on the third node) does not acknowledge.
        var sent = await adminConn.CallMapAsync("alerts.send", new() { ["user"] = bob, ["body"] = "Server room door open" });
        var alertId = (string)sent["alert_id"]!;
        var room = (string)sent["room_id"]!;
        var seq = (long)sent["seq"]!;
        await bobNotify.WaitAsync(n => n.RoomId == room && n.Seq == seq && n.Reason == NotifyReasons.Reminder, timeoutSeconds: 30);

        // The first reminder came from the holder; it dies. Another node takes the lease over, reloads the alert's rows
        // (one reminder sent) and carries on: the second reminder at 20 s, then the escalation, each once.
        await cluster.KillNodeAsync(holder);
        var next = await ClusterAssert.SingleLeaseHolderAsync(cluster, "alert-timers");
        Assert.NotEqual(holder, next);
        var escalations = await EventuallyValueAsync(async () =>
        {
            var pending = (List<object?>)(await bossConn.CallMapAsync("alerts.list", new()))["pending"]!;
            var found = pending.Cast<Dictionary<string, object?>>().Where(a => (string)a["scope"]! == "escalation").ToList();
            return found.Count > 0 ? found : null;
        }, "the escalation after the hand-over", TimeSpan.FromSeconds(60));
        Assert.Single(escalations);
        await EventuallyAsync(() => Task.FromResult(Reminders(bobNotify, room, seq) == 2), "the second reminder, from the new holder");

        var views = new List<string>();
        foreach (var i in others)
        {
            await using var c = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(i), admin.AccessToken!);
            views.Add(await EventuallyValueAsync(async () =>
            {
                var status = await c.CallMapAsync("alerts.status", new() { ["alert"] = alertId });
                return RecipientOf(status, bob)["escalated_at"] is null ? null : Rows(status);
            }, $"the alert rows on node {i + 1}", TimeSpan.FromSeconds(30)));
        }
        Assert.Equal(views[0], views[1]);
        Assert.StartsWith($"{bob}:2:{boss}:", views[0], StringComparison.Ordinal);
        Assert.Equal(2, Reminders(bobNotify, room, seq)); // nothing repeated by the new holder
        Assert.Single((List<object?>)(await bossConn.CallMapAsync("alerts.list", new()))["pending"]!,
            a => (string)((Dictionary<string, object?>)a!)["scope"]! == "escalation");
    }

    private static int Reminders(NotifyCollector notify, string room, long seq) =>
        notify.Snapshot().Count(n => n.RoomId == room && n.Seq == seq && n.Reason == NotifyReasons.Reminder);

    /// <summary>Each recipient's stored row: <c>user:reminders:escalated_to:acknowledged_at:read_at:delivered_at:escalated_at</c>, sorted.</summary>
    private static string Rows(Dictionary<string, object?> status) => string.Join(",", ((List<object?>)status["recipients"]!)
        .Cast<Dictionary<string, object?>>()
        .Select(r => string.Join(":", r["user"], r["reminders"], r["escalated_to"] is List<object?> to ? string.Join("+", to) : "",
            r["acknowledged_at"], r["read_at"], r["delivered_at"], r["escalated_at"]))
        .Order(StringComparer.Ordinal));

    private static Dictionary<string, object?> RecipientOf(Dictionary<string, object?> status, string userId) =>
        ((List<object?>)status["recipients"]!).Cast<Dictionary<string, object?>>().Single(r => (string)r["user"]! == userId);

    private static async Task<string> PersonAsync(TeamCommsHttpClient admin, string username, string? manager, string[] roles)
    {
        var body = new JsonObject
        {
            ["username"] = username,
            ["display_name"] = username.ToUpperInvariant(),
            ["password"] = "password-" + username,
            ["roles"] = new JsonArray([.. roles.Select(r => (JsonNode)r)]),
        };
        if (manager is not null)
        {
            body["manager"] = manager;
        }
        var created = await admin.SendAsync(HttpMethod.Post, "/v1/admin/users", body);
        return created!["user"]!["user_id"]!.GetValue<string>();
    }

    private static async Task<LoginResult> LoginEventuallyAsync(TeamCommsHttpClient http, string user)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                return await http.LoginAsync(user, "password-" + user);
            }
            catch (TeamCommsException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100); // the account's rows are still on their way to this node
            }
        }
    }

    /// <summary>A node may not have applied what a call names yet (each applies at its own pace): retry briefly.</summary>
    private static async Task<T> WithRetryAsync<T>(Func<Task<T>> call)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                return await call();
            }
            catch (TeamCommsException ex) when (ex.Code is ErrorCode.NotFound or ErrorCode.UnknownRoom or ErrorCode.NotRecipient
                && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null) =>
        await EventuallyValueAsync(async () => await condition() ? "ok" : null, what, timeout ?? TimeSpan.FromSeconds(30));

    private static async Task<T> EventuallyValueAsync<T>(Func<Task<T?>> probe, string what, TimeSpan timeout) where T : class
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(200);
        }
    }
}
