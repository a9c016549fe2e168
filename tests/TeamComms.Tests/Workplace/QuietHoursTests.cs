using System.Text.Json.Nodes;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Workplace;

/// <summary>Quiet hours, snooze and summaries against the real server, on a fake clock that starts on a Monday at noon UTC.</summary>
public class QuietHoursTests
{
    [Fact]
    public async Task Notify_OrdinaryMessagesAreSilentOutsideWorkingHours_UrgentAlwaysNotifies()
    {
        var clock = AttentionKit.Clock();
        await using var server = await TestServer.StartAsync(time: clock);
        var hr = await server.PersonAsync("qh-hr", roles: ["hr"]);
        var bob = await server.PersonAsync("qh-bob");
        // Carol works in Tokyo: Monday 12:00 UTC is 21:00 there.
        var carol = await server.PersonAsync("qh-carol", extra: new JsonObject
        {
            ["time_zone"] = "Asia/Tokyo",
            ["working_hours"] = new JsonObject { ["days"] = new JsonArray("mon", "tue", "wed", "thu", "fri"), ["start"] = "09:00", ["end"] = "18:00" },
        });
        await using var hrConn = await hr.ConnectAsync();
        var room = await hrConn.CreateRoomAsync("Ops", invite: [bob.UserId, carol.UserId]);
        await using var bobConn = await bob.ConnectAsync();
        await using var carolConn = await carol.ConnectAsync();
        await bobConn.JoinAsync(room);
        await carolConn.JoinAsync(room);
        await using var bobEvents = new EventCollector(bobConn);
        await using var bobNotify = new NotifyCollector(bobConn);
        await using var carolEvents = new EventCollector(carolConn);
        await using var carolNotify = new NotifyCollector(carolConn);
        await using var hrNotify = new NotifyCollector(hrConn);

        var noon = await hrConn.SendTextAsync(room, "noon");
        await bobEvents.WaitAsync(es => es.Any(e => e.RoomId == room && e.Seq == noon.Seq));
        await carolEvents.WaitAsync(es => es.Any(e => e.RoomId == room && e.Seq == noon.Seq));
        Assert.DoesNotContain(bobNotify.Snapshot(), n => n.Seq == noon.Seq); // working hours: the default, no frame
        var carolQuiet = Assert.Single(carolNotify.Snapshot(), n => n.Seq == noon.Seq);
        Assert.Equal((room, false, NotifyReasons.QuietHours), (carolQuiet.RoomId, carolQuiet.Notify, carolQuiet.Reason));

        clock.Advance(TimeSpan.FromHours(6)); // 18:00 UTC: bob's day is over too
        var evening = await hrConn.SendTextAsync(room, "evening");
        await bobEvents.WaitAsync(es => es.Any(e => e.RoomId == room && e.Seq == evening.Seq));
        var quiet = Assert.Single(bobNotify.Snapshot(), n => n.Seq == evening.Seq);
        Assert.Equal((false, NotifyReasons.QuietHours), (quiet.Notify, quiet.Reason));

        var alert = await hrConn.CallMapAsync("alerts.send", new() { ["room"] = room, ["body"] = "Fire drill in 5 minutes" });
        var alertSeq = (long)alert["seq"]!;
        await bobEvents.WaitAsync(es => es.Any(e => e.Seq == alertSeq && AlertTests.IsAlert(e)));
        var urgent = Assert.Single(bobNotify.Snapshot(), n => n.Seq == alertSeq);
        Assert.Equal((true, NotifyReasons.Urgent), (urgent.Notify, urgent.Reason));
        await carolNotify.WaitAsync(n => n.Seq == alertSeq && n.Reason == NotifyReasons.Urgent);
        // The sender is never told about their own messages.
        Assert.DoesNotContain(hrNotify.Snapshot(), n => n.Reason != NotifyReasons.Reminder);

        clock.Advance(TimeSpan.FromHours(7)); // Tuesday 01:00 UTC = 10:00 in Tokyo: carol is working, bob is not
        var late = await hrConn.SendTextAsync(room, "night shift");
        await carolEvents.WaitAsync(es => es.Any(e => e.Seq == late.Seq));
        await bobEvents.WaitAsync(es => es.Any(e => e.Seq == late.Seq));
        Assert.DoesNotContain(carolNotify.Snapshot(), n => n.Seq == late.Seq);
        Assert.Contains(bobNotify.Snapshot(), n => n.Seq == late.Seq && n.Reason == NotifyReasons.QuietHours);

        var state = await bobConn.CallMapAsync("notifications.get", []);
        Assert.Equal(false, state["in_working_hours"]);
        Assert.Equal("UTC", state["time_zone"]);
        Assert.Equal(AttentionKit.MondayNoon.AddHours(21).ToUnixTimeMilliseconds(), state["next_change"]); // Tuesday 09:00 UTC
        Assert.Equal("Asia/Tokyo", (await carolConn.CallMapAsync("notifications.get", []))["time_zone"]);
    }

    [Fact]
    public async Task Snooze_SilencesOrdinaryMessagesUntilItEnds_ThenSummarizesThem()
    {
        var clock = AttentionKit.Clock();
        await using var server = await TestServer.StartAsync(time: clock);
        var alice = await server.PersonAsync("sn-alice");
        var bob = await server.PersonAsync("sn-bob");
        await using var aliceConn = await alice.ConnectAsync();
        var room = await aliceConn.CreateRoomAsync("Team", invite: [bob.UserId]);
        await using var bobConn = await bob.ConnectAsync();
        await bobConn.JoinAsync(room);
        await using var bobEvents = new EventCollector(bobConn);
        await using var bobNotify = new NotifyCollector(bobConn);

        var snoozed = await bobConn.CallMapAsync("notifications.snooze", new() { ["minutes"] = 30L });
        Assert.Equal(AttentionKit.MondayNoon.AddMinutes(30).ToUnixTimeMilliseconds(), snoozed["snoozed_until"]);
        var first = await aliceConn.SendTextAsync(room, "one");
        var second = await aliceConn.SendTextAsync(room, "two");
        await bobEvents.WaitAsync(es => es.Any(e => e.Seq == second.Seq));
        Assert.All(bobNotify.Snapshot().Where(n => n.Seq == first.Seq || n.Seq == second.Seq),
            n => Assert.Equal((false, NotifyReasons.Snoozed), (n.Notify, n.Reason)));
        Assert.Equal(2, bobNotify.Snapshot().Count(n => n.Reason == NotifyReasons.Snoozed));

        Assert.Equal(ErrorCode.BadField, (await bobConn.CallErrorAsync("notifications.snooze", new() { ["minutes"] = 60L * 24 * 8 })).Code);

        clock.Advance(TimeSpan.FromMinutes(31));
        var summary = await bobNotify.WaitAsync(n => n.Reason == NotifyReasons.Summary);
        Assert.Equal((room, second.Seq, true, 2L), (summary.RoomId, summary.Seq, summary.Notify, summary.Count));

        var after = await aliceConn.SendTextAsync(room, "three");
        await bobEvents.WaitAsync(es => es.Any(e => e.Seq == after.Seq));
        Assert.DoesNotContain(bobNotify.Snapshot(), n => n.Seq == after.Seq);
    }

    [Fact]
    public async Task Summary_ArrivesAtTheStartOfTheNextWorkingPeriod_CountingUnreadQuietMessages()
    {
        var clock = AttentionKit.Clock();
        await using var server = await TestServer.StartAsync(time: clock);
        var alice = await server.PersonAsync("sum-alice");
        var bob = await server.PersonAsync("sum-bob");
        await using var aliceConn = await alice.ConnectAsync();
        var room = await aliceConn.CreateRoomAsync("Team", invite: [bob.UserId]);
        var quietRoom = await aliceConn.CreateRoomAsync("Nothing happens here", invite: [bob.UserId]);
        await using var bobConn = await bob.ConnectAsync();
        await bobConn.JoinAsync(room);
        await bobConn.JoinAsync(quietRoom);
        await using var bobEvents = new EventCollector(bobConn);
        await using var bobNotify = new NotifyCollector(bobConn);
        await aliceConn.SendTextAsync(room, "during the day");

        clock.Advance(TimeSpan.FromHours(7)); // Monday 19:00 UTC
        var first = await aliceConn.SendTextAsync(room, "1");
        await aliceConn.SendTextAsync(room, "2");
        var last = await aliceConn.SendTextAsync(room, "3");
        await bobEvents.WaitAsync(es => es.Any(e => e.Seq == last.Seq));
        await bobConn.MarkReadAsync(room, first.Seq); // read one of them in the evening anyway
        var pending = await bobConn.CallMapAsync("notifications.summary", []);
        var pendingRoom = Assert.Single((List<object?>)pending["rooms"]!);
        Assert.Equal(2L, ((Dictionary<string, object?>)pendingRoom!)["count"]);

        clock.Advance(TimeSpan.FromHours(13)); // Tuesday 08:00: still quiet
        Assert.DoesNotContain(bobNotify.Snapshot(), n => n.Reason == NotifyReasons.Summary);
        clock.Advance(TimeSpan.FromHours(1)); // Tuesday 09:00
        var summary = await bobNotify.WaitAsync(n => n.Reason == NotifyReasons.Summary);
        Assert.Equal((room, last.Seq, 2L), (summary.RoomId, summary.Seq, summary.Count));
        Assert.Single(bobNotify.Snapshot(), n => n.Reason == NotifyReasons.Summary); // the quiet room had nothing
    }
}
