using System.Text.Json.Nodes;
using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Protocol.Frames;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Workplace;

/// <summary>
/// Emergency broadcasts to a directory rule and to the whole company, announcements that require acknowledgement
/// (the same flag, tracking and reminders as urgent messages), and reminders that survive a restart.
/// </summary>
public class BroadcastAndAnnouncementAckTests
{
    [Fact]
    public async Task Broadcast_ToARuleAndToTheCompany_ReachesTheDirectoryMembers_OnlyWithTheBroadcastRole()
    {
        var clock = AttentionKit.Clock();
        await using var server = await TestServer.StartAsync(time: clock);
        using var admin = await server.AdminAsync();
        var sec = await server.PersonAsync("bc-sec", roles: ["security_officer"]);
        var hr = await server.PersonAsync("bc-hr", roles: ["hr"]);
        var ann = await server.PersonAsync("bc-ann", department: "Plant");
        var ben = await server.PersonAsync("bc-ben", department: "Plant");
        var cat = await server.PersonAsync("bc-cat", department: "Office");
        await admin.PostAsync("/v1/admin/rules", new JsonObject { ["name"] = "plant", ["expression"] = "department = Plant" });
        await using var secConn = await sec.ConnectAsync();
        await using var hrConn = await hr.ConnectAsync();
        await using var annConn = await ann.ConnectAsync();
        await using var catConn = await cat.ConnectAsync();
        await using var annEvents = new EventCollector(annConn);
        await using var annNotify = new NotifyCollector(annConn);
        await using var catEvents = new EventCollector(catConn);

        // hr may send urgent messages but not broadcasts; unknown rules and two targets are refused; nothing is stored.
        Assert.Equal(ErrorCode.Forbidden, (await hrConn.CallErrorAsync("alerts.send", new() { ["rule"] = "plant", ["body"] = "x" })).Code);
        Assert.Equal(ErrorCode.NotFound, (await secConn.CallErrorAsync("alerts.send", new() { ["rule"] = "nope", ["body"] = "x" })).Code);
        Assert.Equal(ErrorCode.BadField, (await secConn.CallErrorAsync("alerts.send", new() { ["rule"] = "plant", ["company"] = true, ["body"] = "x" })).Code);
        Assert.Empty((List<object?>)(await secConn.CallMapAsync("alerts.list", []))["sent"]!);

        clock.Advance(TimeSpan.FromHours(10)); // 22:00: everyone is off work; a broadcast still notifies
        var plant = await secConn.CallMapAsync("alerts.send", new() { ["rule"] = "plant", ["body"] = "Chlorine leak at the plant: evacuate to assembly point B" });
        Assert.Equal(2L, plant["recipients"]); // ann and ben, not cat
        var ev = (await annEvents.WaitAsync(es => es.Any(e => e.Seq == (long)plant["seq"]! && e.RoomId == (string)plant["room_id"]!))).Single(e => e.Seq == (long)plant["seq"]!);
        Assert.Equal(("broadcast", "rule:plant", true), ((string)AlertTests.AckOf(ev)!["scope"]!, (string)AlertTests.AckOf(ev)!["target"]!, (bool)AlertTests.AckOf(ev)!["urgent"]!));
        await annNotify.WaitAsync(n => n.Seq == ev.Seq && n.Reason == NotifyReasons.Urgent);
        Assert.DoesNotContain(await catConn.ListRoomsAsync(), r => r.RoomId == (string)plant["room_id"]!);
        var room = (await annConn.ListRoomsAsync()).Single(r => r.RoomId == (string)plant["room_id"]!);
        Assert.Equal("announcement", room.Kind);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamComms.Client.TeamCommsException>(() => annConn.SendTextAsync(room.RoomId, "ok"))).Code);

        // The same rule reuses its room.
        var again = await secConn.CallMapAsync("alerts.send", new() { ["rule"] = "plant", ["body"] = "Second update" });
        Assert.Equal(plant["room_id"], again["room_id"]);

        var everyone = await secConn.CallMapAsync("alerts.send", new() { ["company"] = true, ["body"] = "Fire alarm test at 10:00 tomorrow" });
        Assert.Equal(5L, everyone["recipients"]); // the bootstrap admin, hr, ann, ben and cat: everyone but the sender
        await catEvents.WaitAsync(es => es.Any(e => e.RoomId == (string)everyone["room_id"]! && AlertTests.IsAlert(e)));
    }

    [Fact]
    public async Task AnnouncementRequiringAcknowledgement_GetsTheSameTrackingRemindersAndEscalation()
    {
        var clock = AttentionKit.Clock();
        await using var server = await TestServer.StartAsync(time: clock);
        using var admin = await server.AdminAsync();
        var owner = await server.PersonAsync("an-owner");
        var comms = await server.PersonAsync("an-comms"); // no urgent role: posting in the announcement room is enough
        var boss = await server.PersonAsync("an-boss");
        var rita = await server.PersonAsync("an-rita", manager: boss.UserId);
        var sam = await server.PersonAsync("an-sam", manager: boss.UserId);
        await using var ownerConn = await owner.ConnectAsync();
        var news = await ownerConn.CreateRoomAsync("Company news", invite: [comms.UserId, rita.UserId, sam.UserId], kind: "announcement");
        await using var commsConn = await comms.ConnectAsync();
        await using var ritaConn = await rita.ConnectAsync();
        await using var samConn = await sam.ConnectAsync();
        await using var bossConn = await boss.ConnectAsync();
        foreach (var c in new[] { commsConn, ritaConn, samConn })
        {
            await c.JoinAsync(news);
        }
        await ownerConn.CallAsync("rooms.set_role", new Dictionary<string, object?> { ["room"] = news, ["user"] = comms.UserId, ["role"] = "poster" });
        await using var ritaNotify = new NotifyCollector(ritaConn);
        await using var samNotify = new NotifyCollector(samConn);
        await using var samEvents = new EventCollector(samConn);
        await using var bossEvents = new EventCollector(bossConn);

        // Readers cannot ask for acknowledgement; a poster can, without urgency; urgency still needs the company role.
        Assert.Equal(ErrorCode.Forbidden, (await ritaConn.CallErrorAsync("alerts.send", new() { ["room"] = news, ["body"] = "x", ["urgent"] = false })).Code);
        Assert.Equal(ErrorCode.Forbidden, (await commsConn.CallErrorAsync("alerts.send", new() { ["room"] = news, ["body"] = "x" })).Code);
        var post = await commsConn.CallMapAsync("alerts.send", new() { ["room"] = news, ["body"] = "New travel policy: please read and acknowledge", ["urgent"] = false });
        var alertId = (string)post["alert_id"]!;
        Assert.Equal(3L, post["recipients"]); // owner, rita and sam: every joined member but the poster
        var ev = (await samEvents.WaitAsync(es => es.Any(e => e.Seq == (long)post["seq"]!))).Single(e => e.Seq == (long)post["seq"]!);
        Assert.Equal((false, "room"), ((bool)AlertTests.AckOf(ev)!["urgent"]!, (string)AlertTests.AckOf(ev)!["scope"]!));
        Assert.DoesNotContain(samNotify.Snapshot(), n => n.Seq == ev.Seq); // not urgent: working hours, an ordinary notification

        await ritaConn.CallAsync("alerts.ack", new Dictionary<string, object?> { ["alert"] = alertId });
        clock.Advance(TimeSpan.FromMinutes(2));
        await samNotify.WaitAsync(n => n.Reason == NotifyReasons.Reminder && n.Seq == ev.Seq);
        Assert.DoesNotContain(ritaNotify.Snapshot(), n => n.Reason == NotifyReasons.Reminder);

        var view = await commsConn.CallMapAsync("alerts.status", new() { ["alert"] = alertId });
        var rows = ((List<object?>)view["recipients"]!).Cast<Dictionary<string, object?>>().ToList();
        Assert.Equal("acknowledged", rows.Single(r => (string)r["user"]! == rita.UserId)["status"]);
        Assert.Equal(1L, rows.Single(r => (string)r["user"]! == sam.UserId)["reminders"]);

        for (var i = 0; i < 9; i++)
        {
            clock.Advance(TimeSpan.FromMinutes(2));
        }
        var escalation = (await bossEvents.WaitAsync(es => es.Any(AlertTests.IsAlert))).Single(AlertTests.IsAlert);
        var users = AttentionKit.Strings(((Dictionary<string, object?>)AlertTests.AckOf(escalation)!["escalation"]!)["users"]);
        Assert.Contains(sam.UserId, users);
        Assert.DoesNotContain(rita.UserId, users);
    }

    [Fact]
    public async Task AnnouncementRoom_PostingRolePinsAndThreads_ApplyToPostsThatRequireAcknowledgement()
    {
        var clock = AttentionKit.Clock();
        await using var server = await TestServer.StartAsync(time: clock);
        var owner = await server.PersonAsync("an7-owner");
        var poster = await server.PersonAsync("an7-poster");
        var mod = await server.PersonAsync("an7-mod");
        var reader = await server.PersonAsync("an7-reader");
        await using var ownerConn = await owner.ConnectAsync();
        var news = await ownerConn.CreateRoomAsync("All hands", invite: [poster.UserId, mod.UserId, reader.UserId], kind: "announcement");
        await using var posterConn = await poster.ConnectAsync();
        await using var modConn = await mod.ConnectAsync();
        await using var readerConn = await reader.ConnectAsync();
        foreach (var c in new[] { posterConn, modConn, readerConn })
        {
            await c.JoinAsync(news);
        }
        await ownerConn.CallAsync("rooms.set_role", new Dictionary<string, object?> { ["room"] = news, ["user"] = poster.UserId, ["role"] = "poster" });
        await ownerConn.CallAsync("rooms.set_role", new Dictionary<string, object?> { ["room"] = news, ["user"] = mod.UserId, ["role"] = "moderator" });
        await using var readerNotify = new NotifyCollector(readerConn);

        // The room's posting role (issue 7a) decides who may post a message that requires acknowledgement.
        await ownerConn.SetPostingRoleAsync(news, "moderator");
        var refused = await posterConn.CallErrorAsync("alerts.send", new() { ["room"] = news, ["body"] = "read this", ["urgent"] = false });
        Assert.Equal(ErrorCode.Forbidden, refused.Code);
        Assert.Contains("moderator", refused.Message, StringComparison.Ordinal);
        Assert.Empty((List<object?>)(await posterConn.CallMapAsync("alerts.list", []))["sent"]!); // nothing stored

        var sent = await modConn.CallMapAsync("alerts.send", new() { ["room"] = news, ["body"] = "Office move on Monday: acknowledge, please", ["urgent"] = false });
        var alertId = (string)sent["alert_id"]!;
        var postId = new TeamComms.Protocol.Events.EventId((byte[])sent["event_id"]!);
        await modConn.PinAsync(news, postId); // pinned like any post
        await readerConn.ReactAsync(news, postId, "👍"); // a reaction is not an acknowledgement
        clock.Advance(TimeSpan.FromMinutes(2));
        await readerNotify.WaitAsync(n => n.Reason == NotifyReasons.Reminder && n.Seq == (long)sent["seq"]!);
        await readerConn.CallAsync("alerts.ack", new Dictionary<string, object?> { ["alert"] = alertId });

        // The all-clear is a reply in the post's thread, found like any thread reply.
        await modConn.CallAsync("alerts.all_clear", new Dictionary<string, object?> { ["alert"] = alertId, ["body"] = "The move went fine" });
        var thread = await readerConn.RelationsAsync(news, postId, "thread");
        Assert.Equal(TeamComms.Protocol.Events.AttentionEventTypes.AlertAllClear, Assert.Single(thread).Type);
        var view = await modConn.CallMapAsync("alerts.status", new() { ["alert"] = alertId });
        Assert.Equal("all_clear", view["state"]);
    }

    [Fact]
    public async Task Reminders_ContinueAfterARestart_FromTheStoredAlert()
    {
        var clock = AttentionKit.Clock();
        var server = await TestServer.StartAsync(time: clock);
        try
        {
            var hr = await server.PersonAsync("rs-hr", roles: ["hr"]);
            var bob = await server.PersonAsync("rs-bob");
            string room, alertId;
            await using (var hrConn = await hr.ConnectAsync())
            {
                room = await hrConn.CreateRoomAsync("Shift", invite: [bob.UserId]);
                await using (var bobConn = await bob.ConnectAsync())
                {
                    await bobConn.JoinAsync(room);
                }
                alertId = (string)(await hrConn.CallMapAsync("alerts.send", new() { ["room"] = room, ["body"] = "Call in, please" }))["alert_id"]!;
            }
            clock.Advance(TimeSpan.FromMinutes(2));
            server = await server.RestartAsync(time: clock);
            bob = bob with { Server = server };
            hr = hr with { Server = server };

            await using var bobAgain = await bob.ConnectAsync();
            await using var notify = new NotifyCollector(bobAgain);
            clock.Advance(TimeSpan.FromMinutes(2));
            var reminder = await notify.WaitAsync(n => n.Reason == NotifyReasons.Reminder);
            Assert.Equal(room, reminder.RoomId);
            await using var hrAgain = await hr.ConnectAsync();
            Assert.True((long)((List<object?>)(await hrAgain.CallMapAsync("alerts.status", new() { ["alert"] = alertId }))["recipients"]!)
                .Cast<Dictionary<string, object?>>().Single()["reminders"]! >= 2);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
