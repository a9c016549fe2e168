using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Workplace;

/// <summary>Redaction, edit and delete windows, reports and the moderation queue, content rules.</summary>
public class ModerationTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private TestServer Server => shared.Server;

    [Fact]
    public async Task ModeratorRedaction_RemovesContentEverywhere_KeepsTheChain_AndIsAudited()
    {
        var alice = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        var carol = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await using var c = await carol.ConnectAsync();
        var room = await WorkplaceKit.RoomWithAsync(a, [(b, bob), (c, carol)]);
        await using var carolsEvents = new EventCollector(c);
        var bad = await b.SendTextAsync(room, "something abusive");
        var edit = await b.SendEditAsync(room, bad.EventId, "something abusive, edited");
        await a.SendTextAsync(room, "after");

        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => c.RedactAsync(room, bad.EventId))).Code);
        var create = (await c.HistoryAsync(room, forward: true, limit: 1)).Events[0];
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => a.RedactAsync(room, create.Id))).Code);
        await a.RedactAsync(room, bad.EventId, "harassment");
        Assert.Equal(ErrorCode.Conflict, (await Assert.ThrowsAsync<TeamCommsException>(() => a.RedactAsync(room, bad.EventId))).Code);

        // Clients are told, live, which event to drop.
        var live = await carolsEvents.WaitForTypeAsync(room, WorkplaceEventTypes.Redaction);
        var redaction = live.Single(e => e.Type == WorkplaceEventTypes.Redaction);
        Assert.True(Relations.TryRead(redaction.ContentMap, out var rel));
        Assert.Equal((Relations.Redaction, bad.EventId), (rel.Type, rel.Event));
        Assert.Equal("harassment", redaction.ContentMap["reason"]);
        Assert.Equal(alice.UserId, redaction.Sender);

        // History (for every member) has the event without content, and the edit too; the chain still verifies.
        var history = (await c.HistoryAsync(room, forward: true, limit: 100)).Events;
        Assert.Equal(-1, EventCodec.VerifyChain(history, null, 0));
        var gone = history.Single(e => e.Seq == bad.Seq);
        Assert.Null(gone.Content);
        Assert.Equal(bad.EventId, gone.Id);
        Assert.Null(history.Single(e => e.Seq == edit.Seq).Content);

        // A device resuming from before the redaction replays the stored (redacted) event.
        await using var fresh = await TeamCommsConnection.ConnectAsync(Server.WebSocketUrl, carol.Token, new ClientOptions());
        var page = await fresh.HistoryAsync(room, bad.Seq, forward: true, limit: 1);
        Assert.Null(page.Events[0].Content);

        var audit = await AuditReader.EntriesAsync(Server, "message.redact", room);
        var entry = Assert.Single(audit);
        Assert.Equal(alice.UserId, entry["actor"]!.GetValue<string>());
        Assert.Equal(bob.UserId, entry["details"]!["sender"]!.GetValue<string>());
        Assert.Equal("harassment", entry["details"]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task CompanyModerator_RedactsInAnyRoomHostedHere_OverHttp()
    {
        var alice = await Server.CreateUserAsync();
        var mod = await Server.CreateUserAsync();
        await WorkplaceKit.SetRolesAsync(Server, mod, "moderator");
        await using var a = await alice.ConnectAsync();
        var room = await a.CreateRoomAsync("private");
        var msg = await a.SendTextAsync(room, "leaked password hunter2");
        using var modHttp = mod.Http();
        await modHttp.PostAsync($"/v1/admin/moderation/rooms/{Uri.EscapeDataString(room)}/redact",
            new JsonObject { ["event_id"] = msg.EventId.ToString(), ["reason"] = "secret" });
        Assert.Null((await WorkplaceKit.EventAsync(a, room, msg.Seq)).Content);

        var plain = await Server.CreateUserAsync();
        using var plainHttp = plain.Http();
        var refused = await Assert.ThrowsAsync<TeamCommsException>(() => plainHttp.PostAsync($"/v1/admin/moderation/rooms/{Uri.EscapeDataString(room)}/redact",
            new JsonObject { ["event_id"] = msg.EventId.ToString() }));
        Assert.Equal(ErrorCode.Forbidden, refused.Code);
        Assert.Single(await AuditReader.EntriesAsync(Server, "message.redact", room));
    }

    [Fact]
    public async Task Reports_ReachTheRoomsModeratorsQueue_AndResolvingRedacts()
    {
        var owner = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        var carol = await Server.CreateUserAsync();
        await using var o = await owner.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await using var c = await carol.ConnectAsync();
        var room = await WorkplaceKit.RoomWithAsync(o, [(b, bob), (c, carol)]);
        var msg = await c.SendTextAsync(room, "spam spam spam");
        var id = await b.ReportAsync(room, msg.EventId, "spam");
        Assert.Equal(ErrorCode.Conflict, (await Assert.ThrowsAsync<TeamCommsException>(() => b.ReportAsync(room, msg.EventId, "again"))).Code);

        Assert.Empty(await c.ModerationQueueAsync()); // not a moderator of the room
        var queue = await o.ModerationQueueAsync();
        var report = Assert.Single(queue, r => (long)r["report_id"]! == id);
        Assert.Equal(("spam", bob.UserId, carol.UserId), ((string)report["reason"]!, (string)report["reporter"]!, (string)report["sender"]!));
        var reported = EventCodec.Read(MsgPackValue.ToBytes(report["event"]));
        Assert.Equal("spam spam spam", reported.ContentMap["body"]);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => c.ResolveReportAsync(id, "dismiss"))).Code);

        var resolved = await o.ResolveReportAsync(id, "redact", "spam is not allowed");
        Assert.Equal(("resolved", "redacted"), ((string)resolved["status"]!, (string)resolved["resolution"]!));
        Assert.Null((await WorkplaceKit.EventAsync(b, room, msg.Seq)).Content);
        Assert.Empty(await o.ModerationQueueAsync());
        Assert.Single(await o.ModerationQueueAsync("resolved"), r => (long)r["report_id"]! == id);
        Assert.Single(await AuditReader.EntriesAsync(Server, "moderation.resolve", room));

        // Company admins see every room's queue over HTTP.
        var msg2 = await c.SendTextAsync(room, "more spam");
        var id2 = await b.ReportAsync(room, msg2.EventId, "still spam");
        using var admin = await Server.AdminAsync();
        var open = await admin.ListReportsAsync();
        Assert.Contains(open!["reports"]!.AsArray(), r => r!["report_id"]!.GetValue<long>() == id2 && r["event"]!["content"]!["body"]!.GetValue<string>() == "more spam");
        await admin.ResolveReportAsync(id2, "dismiss");
        Assert.Equal("more spam", (await WorkplaceKit.EventAsync(b, room, msg2.Seq)).ContentMap["body"]);
    }

    [Fact]
    public async Task EditAndDeleteWindows_FollowTheCompanyPolicy_OnTheFakeClock()
    {
        var clock = new FakeTimeProvider(WorkplaceKit.Start);
        await using var server = await TestServer.StartAsync(time: clock);
        using (var admin = await server.AdminAsync())
        {
            var policy = await admin.UpdateContentPolicyAsync(new JsonObject { ["edit_window_minutes"] = 15, ["delete_window_minutes"] = 60 });
            Assert.Equal(15, policy!["edit_window_minutes"]!.GetValue<int>());
            var bad = await Assert.ThrowsAsync<TeamCommsException>(() => admin.UpdateContentPolicyAsync(new JsonObject { ["edit_window"] = 1 }));
            Assert.Equal(ErrorCode.BadRequest, bad.Code);
        }
        var alice = await server.CreateUserAsync();
        var bob = await server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        var room = await WorkplaceKit.RoomWithAsync(a, [(b, bob)]);
        var m1 = await b.SendTextAsync(room, "first");
        var m2 = await b.SendTextAsync(room, "second");

        clock.Advance(TimeSpan.FromMinutes(14));
        await b.SendEditAsync(room, m1.EventId, "first, fixed");
        clock.Advance(TimeSpan.FromMinutes(2));
        var late = await Assert.ThrowsAsync<TeamCommsException>(() => b.SendEditAsync(room, m1.EventId, "too late"));
        Assert.Equal(ErrorCode.EditWindowClosed, late.Code);
        Assert.Contains("15 minutes", late.ServerMessage);
        await b.RedactAsync(room, m1.EventId); // deleting is allowed for an hour

        clock.Advance(TimeSpan.FromMinutes(45));
        Assert.Equal(ErrorCode.EditWindowClosed, (await Assert.ThrowsAsync<TeamCommsException>(() => b.RedactAsync(room, m2.EventId))).Code);
        await a.RedactAsync(room, m2.EventId); // moderators have no window
        Assert.Single(await AuditReader.EntriesAsync(server, "message.delete", room));
        Assert.Single(await AuditReader.EntriesAsync(server, "message.redact", room));
        Assert.Single(await AuditReader.EntriesAsync(server, "policy.content.update"));
    }

    [Fact]
    public async Task LinkPolicy_BlockAndAllowlist_AreEnforcedWithClearErrors()
    {
        var owner = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        await using var o = await owner.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        var room = await WorkplaceKit.RoomWithAsync(o, [(b, bob)]);
        await b.SendTextAsync(room, "see https://anything.example/page");
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => b.SetContentRulesAsync(room, linkPolicy: "block"))).Code);

        await o.SetContentRulesAsync(room, linkPolicy: "block");
        var blocked = await Assert.ThrowsAsync<TeamCommsException>(() => b.SendTextAsync(room, "click www.phish.example/login now"));
        Assert.Equal(ErrorCode.LinkNotAllowed, blocked.Code);
        Assert.Contains("www.phish.example/login", blocked.ServerMessage);
        await b.SendTextAsync(room, "our wiki: https://test.local/wiki and plain words like example.com are fine");
        Assert.Equal(ErrorCode.LinkNotAllowed, (await Assert.ThrowsAsync<TeamCommsException>(() =>
            b.SendPollAsync(room, "vote", [("a", "see http://evil.example"), ("b", "B")]))).Code);

        await o.SetContentRulesAsync(room, linkPolicy: "allowlist", linkDomains: ["partner.example"]);
        await b.SendTextAsync(room, "docs at https://docs.partner.example/api");
        Assert.Equal(ErrorCode.LinkNotAllowed, (await Assert.ThrowsAsync<TeamCommsException>(() => b.SendTextAsync(room, "https://partner.example.evil.example/"))).Code);
        Assert.Equal(ErrorCode.BadField, (await Assert.ThrowsAsync<TeamCommsException>(() => o.SetContentRulesAsync(room, linkPolicy: "sometimes"))).Code);

        var rules = (Dictionary<string, object?>)(await b.RoomSettingsAsync(room))["content_rules"]!;
        var links = (Dictionary<string, object?>)rules["links"]!;
        Assert.Equal("allowlist", links["policy"]);
        // The two changes that applied are audited; the refused ones are not.
        var changes = await AuditReader.EntriesAsync(Server, "room.content_rules", room);
        Assert.Equal(2, changes.Count);
        Assert.All(changes, e => Assert.Equal(owner.UserId, e["actor"]!.GetValue<string>()));
    }
}
