using System.Text.Json.Nodes;
using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Workplace;

/// <summary>Urgent messages, acknowledgement, reminders and escalation, cancel and all-clear: real server, real clients, fake clock.</summary>
public class AlertTests
{
    private static readonly ClientOptions s_manualReceipts = new() { ReceiptInterval = TimeSpan.FromHours(1) };

    internal static Dictionary<string, object?> ContentOf(RoomEvent e) => MsgPackValue.ReadMap(e.Content!.Value);

    /// <summary>The acknowledgement flag of a message (docs/protocol.md §17), or null.</summary>
    internal static Dictionary<string, object?>? AckOf(RoomEvent e) =>
        e.Content is { } c && MsgPackValue.ReadMap(c).GetValueOrDefault(AttentionEventTypes.AckField) is Dictionary<string, object?> flag ? flag : null;

    internal static bool IsAlert(RoomEvent e) => e.Type == EventTypes.Message && AckOf(e) is not null;

    private static async Task<Dictionary<string, object?>> StatusAsync(TeamCommsConnection c, string alertId) =>
        await c.CallMapAsync("alerts.status", new() { ["alert"] = alertId });

    private static Dictionary<string, object?> RecipientOf(Dictionary<string, object?> status, string userId) =>
        ((List<object?>)status["recipients"]!).Cast<Dictionary<string, object?>>().Single(r => (string)r["user"]! == userId);

    [Fact]
    public async Task UrgentMessage_NeedsThePermission_ReachesEveryone_AndTheViewShowsEachRecipientsState()
    {
        var clock = AttentionKit.Clock();
        await using var server = await TestServer.StartAsync(time: clock);
        var hr = await server.PersonAsync("al-hr", roles: ["hr"]);
        var bob = await server.PersonAsync("al-bob");
        var carol = await server.PersonAsync("al-carol");
        var dan = await server.PersonAsync("al-dan");
        var eve = await server.PersonAsync("al-eve");
        await using var hrConn = await hr.ConnectAsync();
        var room = await hrConn.CreateRoomAsync("Floor 3", invite: [bob.UserId, carol.UserId, dan.UserId, eve.UserId]);
        await using var bobConn = await bob.ConnectAsync(s_manualReceipts);
        await using var carolConn = await carol.ConnectAsync(s_manualReceipts);
        await using var danConn = await dan.ConnectAsync(s_manualReceipts);
        foreach (var c in new[] { bobConn, carolConn, danConn })
        {
            await c.JoinAsync(room);
        }
        await using (var eveConn = await eve.ConnectAsync())
        {
            await eveConn.JoinAsync(room);
            Assert.Equal(ErrorCode.Forbidden, (await eveConn.CallErrorAsync("alerts.send", new() { ["room"] = room, ["body"] = "fake alarm" })).Code);
            Assert.Equal(ErrorCode.Forbidden, (await eveConn.CallErrorAsync("alerts.send", new() { ["room"] = room, ["body"] = "ack this", ["urgent"] = false })).Code);
            // Nobody forges the acknowledgement flag with a plain Send, whatever the type.
            foreach (var type in new[] { EventTypes.Message, "x.custom" })
            {
                var forged = await Assert.ThrowsAsync<TeamCommsException>(() => eveConn.SendAsync(room, type,
                    new Dictionary<string, object?> { ["body"] = "x", ["ack"] = new Dictionary<string, object?> { ["alert"] = "a1", ["urgent"] = true } }));
                Assert.Equal(ErrorCode.BadField, forged.Code);
            }
            Assert.DoesNotContain((await eveConn.HistoryAsync(room)).Events, e => e.Sender == eve.UserId && e.Type != EventTypes.Member); // nothing stored
        } // eve is offline from here on
        await using var bobEvents = new EventCollector(bobConn);
        await using var carolEvents = new EventCollector(carolConn);
        await using var danEvents = new EventCollector(danConn);
        await using var bobNotify = new NotifyCollector(bobConn);

        Assert.Equal(ErrorCode.BadField, (await hrConn.CallErrorAsync("alerts.send", new() { ["room"] = room, ["user"] = bob.UserId, ["body"] = "two targets" })).Code);
        Assert.Equal(ErrorCode.BadField, (await hrConn.CallErrorAsync("alerts.send", new() { ["room"] = room, ["body"] = "  " })).Code);
        var sent = await hrConn.CallMapAsync("alerts.send", new() { ["room"] = room, ["body"] = "Water leak on floor 3: stay out of the server room" });
        var alertId = (string)sent["alert_id"]!;
        var seq = (long)sent["seq"]!;
        Assert.Equal(4L, sent["recipients"]);

        var ev = (await bobEvents.WaitAsync(es => es.Any(e => e.Seq == seq))).Single(e => e.Seq == seq);
        Assert.Equal((EventTypes.Message, hr.UserId), (ev.Type, ev.Sender)); // an ordinary message carrying the flag
        var content = ContentOf(ev);
        var flag = AckOf(ev)!;
        Assert.Equal((alertId, true, "room"), ((string)flag["alert"]!, (bool)flag["urgent"]!, (string)flag["scope"]!));
        Assert.Equal("Water leak on floor 3: stay out of the server room", content["body"]);
        Assert.Contains(bobNotify.Snapshot(), n => n.Seq == seq && n.Notify && n.Reason == NotifyReasons.Urgent);

        clock.Advance(TimeSpan.FromSeconds(30));
        var acked = await bobConn.CallMapAsync("alerts.ack", new() { ["alert"] = alertId });
        Assert.Equal(AttentionKit.MondayNoon.AddSeconds(30).ToUnixTimeMilliseconds(), acked["acknowledged_at"]);
        Assert.Equal(acked["acknowledged_at"], (await bobConn.CallMapAsync("alerts.ack", new() { ["alert"] = alertId }))["acknowledged_at"]); // idempotent
        await carolEvents.WaitAsync(es => es.Any(e => e.Seq == seq));
        clock.Advance(TimeSpan.FromSeconds(30));
        await carolConn.ConfirmReceivedAsync();
        await danEvents.WaitAsync(es => es.Any(e => e.Seq == seq));
        await danConn.MarkReadAsync(room, seq);
        Assert.Equal(ErrorCode.NotRecipient, (await hrConn.CallErrorAsync("alerts.ack", new() { ["alert"] = alertId })).Code);
        Assert.Equal(ErrorCode.NotFound, (await bobConn.CallErrorAsync("alerts.ack", new() { ["alert"] = "a999" })).Code);

        Dictionary<string, object?> status = [];
        await Eventually.TrueAsync(() =>
        {
            status = StatusAsync(hrConn, alertId).GetAwaiter().GetResult();
            return RecipientOf(status, carol.UserId)["status"] as string == "delivered" && RecipientOf(status, dan.UserId)["status"] as string == "read";
        }, what: "carol's receipt and dan's read marker reach the view");
        var counts = (Dictionary<string, object?>)status["counts"]!;
        Assert.Equal((4L, 1L, 1L, 1L, 1L), ((long)counts["recipients"]!, (long)counts["acknowledged"]!, (long)counts["read"]!, (long)counts["delivered"]!, (long)counts["not_delivered"]!));
        var bobRow = RecipientOf(status, bob.UserId);
        Assert.Equal(("acknowledged", acked["acknowledged_at"]), ((string)bobRow["status"]!, bobRow["acknowledged_at"]));
        Assert.Equal(AttentionKit.MondayNoon.AddMinutes(1).ToUnixTimeMilliseconds(), RecipientOf(status, carol.UserId)["delivered_at"]);
        Assert.NotNull(RecipientOf(status, dan.UserId)["read_at"]);
        Assert.Equal("not_delivered", RecipientOf(status, eve.UserId)["status"]);
        Assert.Equal("active", status["state"]);
        Assert.Equal(ErrorCode.Forbidden, (await bobConn.CallErrorAsync("alerts.status", new() { ["alert"] = alertId })).Code);

        using var http = hr.Http();
        var json = await http.GetAsync($"/v1/alerts/{alertId}");
        Assert.Equal(4, json!["recipients"]!.AsArray().Count);
        var csv = await HttpTextAsync(server, hr.Token, $"/v1/alerts/{alertId}?format=csv");
        var lines = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("user,display_name,status,acknowledged_at,read_at,delivered_at,reminders,escalated_at,escalated_to", lines[0]);
        Assert.Equal(5, lines.Length);
        Assert.StartsWith($"{bob.UserId},AL-BOB,acknowledged,2026-03-02T12:00:30.000Z,", lines.Single(l => l.StartsWith(bob.UserId, StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.StartsWith($"{eve.UserId},AL-EVE,not_delivered,,,,0,,", StringComparison.Ordinal));
        var pending = await carolConn.CallMapAsync("alerts.list", []);
        Assert.Single((List<object?>)pending["pending"]!);
        Assert.Empty((List<object?>)(await bobConn.CallMapAsync("alerts.list", []))["pending"]!);
        var audit = await (await server.AdminAsync()).GetAsync("/v1/admin/audit?action=alert.send");
        Assert.Equal(hr.UserId, Assert.Single(audit!["entries"]!.AsArray())!["actor"]!.GetValue<string>());
    }

    internal static async Task<string> HttpTextAsync(TestServer server, string token, string path)
    {
        using var client = new HttpClient { BaseAddress = server.BaseUrl };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var response = await client.GetAsync(path);
        response.EnsureSuccessStatusCode();
        Assert.StartsWith("text/csv", response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task Reminders_EveryTwoMinutesForTwentyMinutes_ThenEscalationToTheManagerOrTheFallbackList()
    {
        var clock = AttentionKit.Clock();
        await using var server = await TestServer.StartAsync(time: clock);
        using var admin = await server.AdminAsync();
        var hr = await server.PersonAsync("rem-hr", roles: ["hr"]);
        var boss = await server.PersonAsync("rem-boss");
        var fallback = await server.PersonAsync("rem-safety");
        var bob = await server.PersonAsync("rem-bob", manager: boss.UserId);
        var carol = await server.PersonAsync("rem-carol", manager: boss.UserId);
        var dan = await server.PersonAsync("rem-dan"); // no manager
        await admin.PatchAsync("/v1/admin/workplace/policy", new JsonObject { ["escalation_fallback"] = new JsonArray(fallback.UserId) });
        await using var hrConn = await hr.ConnectAsync();
        var room = await hrConn.CreateRoomAsync("Night shift", invite: [bob.UserId, carol.UserId, dan.UserId]);
        await using var bobConn = await bob.ConnectAsync();
        await using var carolConn = await carol.ConnectAsync();
        await using var danConn = await dan.ConnectAsync();
        foreach (var c in new[] { bobConn, carolConn, danConn })
        {
            await c.JoinAsync(room);
        }
        await using var bossConn = await boss.ConnectAsync();
        await using var fallbackConn = await fallback.ConnectAsync();
        await using var bobNotify = new NotifyCollector(bobConn);
        await using var danNotify = new NotifyCollector(danConn);
        await using var bossEvents = new EventCollector(bossConn);
        await using var fallbackEvents = new EventCollector(fallbackConn);
        await using var fallbackNotify = new NotifyCollector(fallbackConn);

        var sent = await hrConn.CallMapAsync("alerts.send", new() { ["room"] = room, ["body"] = "Evacuate building B" });
        var alertId = (string)sent["alert_id"]!;
        var seq = (long)sent["seq"]!;

        clock.Advance(TimeSpan.FromSeconds(119));
        Assert.DoesNotContain(danNotify.Snapshot(), n => n.Reason == NotifyReasons.Reminder);
        clock.Advance(TimeSpan.FromSeconds(1));
        var reminder = await danNotify.WaitAsync(n => n.Reason == NotifyReasons.Reminder);
        Assert.Equal((room, seq, true), (reminder.RoomId, reminder.Seq, reminder.Notify));
        await bobNotify.WaitAsync(n => n.Reason == NotifyReasons.Reminder);
        await bobConn.CallAsync("alerts.ack", new Dictionary<string, object?> { ["alert"] = alertId });

        for (var minute = 4; minute <= 18; minute += 2)
        {
            clock.Advance(TimeSpan.FromMinutes(2));
            var expected = minute / 2;
            await Eventually.TrueAsync(() => danNotify.Snapshot().Count(n => n.Reason == NotifyReasons.Reminder) == expected, what: $"reminder {expected}");
        }
        Assert.Single(bobNotify.Snapshot(), n => n.Reason == NotifyReasons.Reminder); // acknowledged after the first
        Assert.DoesNotContain(bossEvents.Snapshot(), IsAlert);

        clock.Advance(TimeSpan.FromMinutes(2)); // 20 minutes: the tenth reminder, then the escalation
        await Eventually.TrueAsync(() => danNotify.Snapshot().Count(n => n.Reason == NotifyReasons.Reminder) == 10, what: "reminder 10");
        var toBoss = (await bossEvents.WaitAsync(es => es.Any(IsAlert))).Single(IsAlert);
        var bossContent = ContentOf(toBoss);
        var bossFlag = AckOf(toBoss)!;
        Assert.Equal(("escalation", hr.UserId, true), ((string)bossFlag["scope"]!, toBoss.Sender, (bool)bossFlag["urgent"]!));
        var escalation = (Dictionary<string, object?>)bossFlag["escalation"]!;
        Assert.Equal(alertId, escalation["alert"]);
        Assert.Equal([carol.UserId], AttentionKit.Strings(escalation["users"])); // bob acknowledged
        Assert.Contains("Evacuate building B", (string)bossContent["body"]!, StringComparison.Ordinal);
        var toFallback = (await fallbackEvents.WaitAsync(es => es.Any(IsAlert))).Single(IsAlert);
        Assert.Equal([dan.UserId], AttentionKit.Strings(((Dictionary<string, object?>)AckOf(toFallback)!["escalation"]!)["users"]));
        await fallbackNotify.WaitAsync(n => n.Seq == toFallback.Seq && n.Reason == NotifyReasons.Urgent);

        var status = await StatusAsync(hrConn, alertId);
        Assert.Equal([boss.UserId], AttentionKit.Strings(RecipientOf(status, carol.UserId)["escalated_to"]));
        Assert.Equal([fallback.UserId], AttentionKit.Strings(RecipientOf(status, dan.UserId)["escalated_to"]));
        Assert.Equal(10L, RecipientOf(status, dan.UserId)["reminders"]);
        Assert.Null(RecipientOf(status, bob.UserId)["escalated_at"]);
        var audit = await admin.GetAsync("/v1/admin/audit?action=alert.escalate");
        Assert.Equal("system", Assert.Single(audit!["entries"]!.AsArray())!["actor"]!.GetValue<string>());

        // Reminders of the original stop; the escalation has its own and does not escalate further.
        clock.Advance(TimeSpan.FromMinutes(2));
        await fallbackNotify.WaitAsync(n => n.Seq == toFallback.Seq && n.Reason == NotifyReasons.Reminder);
        Assert.Equal(10, danNotify.Snapshot().Count(n => n.Reason == NotifyReasons.Reminder));
    }

    [Fact]
    public async Task Cancel_StopsReminders_AllClearFollowsInTheThread()
    {
        var clock = AttentionKit.Clock();
        await using var server = await TestServer.StartAsync(time: clock);
        var hr = await server.PersonAsync("cx-hr", roles: ["hr"]);
        var bob = await server.PersonAsync("cx-bob");
        await using var hrConn = await hr.ConnectAsync();
        var room = await hrConn.CreateRoomAsync("Site", invite: [bob.UserId]);
        await using var bobConn = await bob.ConnectAsync();
        await bobConn.JoinAsync(room);
        await using var bobEvents = new EventCollector(bobConn);
        await using var bobNotify = new NotifyCollector(bobConn);

        var sent = await hrConn.CallMapAsync("alerts.send", new() { ["room"] = room, ["body"] = "Gas smell in the lobby" });
        var alertId = (string)sent["alert_id"]!;
        var alertEvent = (byte[])sent["event_id"]!;
        clock.Advance(TimeSpan.FromMinutes(2));
        await bobNotify.WaitAsync(n => n.Reason == NotifyReasons.Reminder);

        Assert.Equal(ErrorCode.Forbidden, (await bobConn.CallErrorAsync("alerts.cancel", new() { ["alert"] = alertId })).Code);
        var cancelled = await hrConn.CallMapAsync("alerts.cancel", new() { ["alert"] = alertId, ["reason"] = "false alarm, checking" });
        Assert.Equal("cancelled", cancelled["state"]);
        var cancel = (await bobEvents.WaitAsync(es => es.Any(e => e.Type == AttentionEventTypes.AlertCancel))).Single(e => e.Type == AttentionEventTypes.AlertCancel);
        var rel = (Dictionary<string, object?>)ContentOf(cancel)["rel"]!;
        Assert.Equal("thread", rel["type"]);
        Assert.Equal(alertEvent, (byte[])rel["event"]!);
        Assert.Equal(ErrorCode.AlertClosed, (await hrConn.CallErrorAsync("alerts.cancel", new() { ["alert"] = alertId })).Code);

        for (var i = 0; i < 5; i++)
        {
            clock.Advance(TimeSpan.FromMinutes(2));
        }
        Assert.Single(bobNotify.Snapshot(), n => n.Reason == NotifyReasons.Reminder); // nothing after the cancellation
        // What was delivered stays: the alert is still in bob's history, and he may still acknowledge it.
        var history = await bobConn.HistoryAsync(room);
        Assert.Contains(history.Events, IsAlert);
        await bobConn.CallAsync("alerts.ack", new Dictionary<string, object?> { ["alert"] = alertId });

        Assert.Equal(ErrorCode.BadField, (await hrConn.CallErrorAsync("alerts.all_clear", new() { ["alert"] = alertId, ["body"] = " " })).Code);
        var clear = await hrConn.CallMapAsync("alerts.all_clear", new() { ["alert"] = alertId, ["body"] = "All clear: the lobby is safe" });
        var allClear = (await bobEvents.WaitAsync(es => es.Any(e => e.Type == AttentionEventTypes.AlertAllClear))).Single(e => e.Type == AttentionEventTypes.AlertAllClear);
        Assert.Equal((long)clear["seq"]!, allClear.Seq);
        var clearContent = ContentOf(allClear);
        Assert.Equal(("All clear: the lobby is safe", alertId), ((string)clearContent["body"]!, (string)clearContent["alert"]!));
        Assert.Equal(alertEvent, (byte[])((Dictionary<string, object?>)clearContent["rel"]!)["event"]!);
        Assert.Contains(bobNotify.Snapshot(), n => n.Seq == allClear.Seq && n.Reason == NotifyReasons.Urgent); // an urgent alert's all-clear notifies too
        Assert.Equal(ErrorCode.AlertClosed, (await hrConn.CallErrorAsync("alerts.all_clear", new() { ["alert"] = alertId, ["body"] = "again" })).Code);
        Assert.Equal("all_clear", (await StatusAsync(hrConn, alertId))["state"]);
    }

    [Fact]
    public async Task UrgentDirectMessage_ReachesSomeoneWithoutADirectRoom_AndAnInviteeOfOne()
    {
        var clock = AttentionKit.Clock();
        await using var server = await TestServer.StartAsync(time: clock);
        var sec = await server.PersonAsync("dm-sec", roles: ["security_officer"]);
        var bob = await server.PersonAsync("dm-bob");
        var carol = await server.PersonAsync("dm-carol");
        await using var secConn = await sec.ConnectAsync();
        await using var bobConn = await bob.ConnectAsync();
        await using var carolConn = await carol.ConnectAsync();
        await using var bobEvents = new EventCollector(bobConn);
        await using var carolEvents = new EventCollector(carolConn);

        var toBob = await secConn.CallMapAsync("alerts.send", new() { ["user"] = bob.UserId, ["body"] = "Your laptop was reported stolen; call me" });
        Assert.Equal(1L, toBob["recipients"]);
        var ev = (await bobEvents.WaitAsync(es => es.Any(IsAlert))).Single(IsAlert);
        Assert.Equal("direct", AckOf(ev)!["scope"]);
        var rooms = await bobConn.ListRoomsAsync();
        Assert.Equal("direct", rooms.Single(r => r.RoomId == (string)toBob["room_id"]!).Kind);
        // The same room is used again.
        var again = await secConn.CallMapAsync("alerts.send", new() { ["user"] = bob.UserId, ["body"] = "still waiting", ["urgent"] = false });
        Assert.Equal(toBob["room_id"], again["room_id"]);

        // Carol was only invited to her direct room with sec: the urgent message joins her, so it reaches her.
        var start = await secConn.CallMapAsync("directory.start_dm", new() { ["user"] = carol.UserId });
        var toCarol = await secConn.CallMapAsync("alerts.send", new() { ["user"] = carol.UserId, ["body"] = "Please call security" });
        Assert.Equal(start["room_id"], toCarol["room_id"]);
        await carolEvents.WaitAsync(es => es.Any(e => IsAlert(e) && e.RoomId == (string)toCarol["room_id"]!));
        Assert.Equal(1L, toCarol["recipients"]);
        Assert.Equal(ErrorCode.UnknownUser, (await secConn.CallErrorAsync("alerts.send", new() { ["user"] = "nobody@test.local", ["body"] = "x" })).Code);
    }

    [Fact]
    public async Task UrgentSends_AreRateLimitedPerSender_AndTheRefusalIsAudited()
    {
        var clock = AttentionKit.Clock();
        await using var server = await TestServer.StartAsync(new() { ["TeamComms:Workplace:AlertsPerWindow"] = "2", ["TeamComms:Workplace:AlertWindow"] = "00:10:00" }, time: clock);
        using var admin = await server.AdminAsync();
        var hr = await server.PersonAsync("rl-hr", roles: ["hr"]);
        var other = await server.PersonAsync("rl-other", roles: ["hr"]);
        var bob = await server.PersonAsync("rl-bob");
        await using var hrConn = await hr.ConnectAsync();
        await using var otherConn = await other.ConnectAsync();
        var room = await hrConn.CreateRoomAsync("R", invite: [bob.UserId, other.UserId]);
        await otherConn.JoinAsync(room);
        var send = new Dictionary<string, object?> { ["room"] = room, ["body"] = "drill" };
        await hrConn.CallAsync("alerts.send", send);
        clock.Advance(TimeSpan.FromMinutes(1));
        await hrConn.CallAsync("alerts.send", send);
        var refused = await hrConn.CallErrorAsync("alerts.send", send);
        Assert.Equal(ErrorCode.RateLimited, refused.Code);
        Assert.Contains("retry in 540 s", refused.Message, StringComparison.Ordinal);
        await otherConn.CallAsync("alerts.send", send); // per sender
        clock.Advance(TimeSpan.FromMinutes(9));
        await hrConn.CallAsync("alerts.send", send);

        var limited = (await admin.GetAsync("/v1/admin/audit?action=alert.rate_limited"))!["entries"]!.AsArray();
        Assert.Equal(hr.UserId, Assert.Single(limited)!["actor"]!.GetValue<string>());
        Assert.Equal(4, (await admin.GetAsync("/v1/admin/audit?action=alert.send"))!["entries"]!.AsArray().Count);
    }
}
