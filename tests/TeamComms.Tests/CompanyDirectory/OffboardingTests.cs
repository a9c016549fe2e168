using System.Text.Json.Nodes;
using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.CompanyDirectory;

public class OffboardingTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private TestServer Server => shared.Server;

    [Fact]
    public async Task Deactivate_LiveUser_IsWipedRemovedEverywhereAndReceivesNothingAfterTheCallReturns()
    {
        var alice = await Server.CreateProfiledUserAsync("off-alice", new JsonObject { ["department"] = "Sales" });
        var leaver = await Server.CreateProfiledUserAsync("off-vp", new JsonObject { ["department"] = "Sales", ["title"] = "VP Sales" });
        using var admin = await Server.AdminAsync();
        // A rule-bound room and a room the leaver joined by invitation.
        await admin.PostAsync("/v1/admin/rules", new JsonObject { ["name"] = "off-sales", ["expression"] = "department = Sales and username in (off-alice, off-vp)" });
        var ruleRoom = (await admin.PostAsync("/v1/admin/rooms", new JsonObject { ["name"] = "Sales", ["rules"] = new JsonArray("off-sales") }))!["room_id"]!.GetValue<string>();
        await using var a = await alice.ConnectAsync();
        await using var aliceEvents = new EventCollector(a);
        var deals = await a.CreateRoomAsync("Deals", invite: [leaver.UserId]);
        using var laptopHttp = Server.Http();
        var laptop = await laptopHttp.LoginAsync(leaver.Username, "password-" + leaver.Username, "laptop");
        await using var phone = await leaver.ConnectAsync(new ClientOptions { AutoReconnect = false });
        await using var leaverEvents = new EventCollector(phone);
        await phone.JoinAsync(deals);
        await phone.SendTextAsync(deals, "pipeline for Q3");
        await phone.SendTextAsync(ruleRoom, "hello sales");
        await leaverEvents.WaitForMessagesAsync(ruleRoom, 1);

        var result = await admin.PostAsync($"/v1/admin/users/{leaver.UserId}/deactivate", new JsonObject { ["reason"] = "left the company" });
        var receivedAtReturn = leaverEvents.Snapshot().Count;

        // Before the call returned, the server closed every connection of the user.
        var leaverKey = Server.Services.GetAccountStore().FindUserKey(leaver.UserId)!.Value;
        Assert.All(Server.Services.GetConnectionRegistry().ForUser(leaverKey), c => Assert.True(c.IsClosing));
        Assert.Equal(2, result!["membership_events"]!.GetValue<int>());
        await phone.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(CloseCode.Wiped, phone.CloseCode);
        Assert.Equal("left the company", phone.WipeReason);

        // The rooms go on; nothing reaches the leaver.
        await a.SendTextAsync(deals, "confidential: new pricing");
        await a.SendTextAsync(ruleRoom, "confidential: targets");
        await aliceEvents.WaitAsync(es => es.Count(e => e.Type == EventTypes.Message && ((string?)e.ContentMap.GetValueOrDefault("body"))?.StartsWith("confidential", StringComparison.Ordinal) == true) == 2);
        Assert.Equal(receivedAtReturn, leaverEvents.Snapshot().Count);
        Assert.DoesNotContain(leaverEvents.Snapshot(), e => e.Type == EventTypes.Message && ((string?)e.ContentMap.GetValueOrDefault("body"))?.StartsWith("confidential", StringComparison.Ordinal) == true);

        // Removed from every room, rule-bound and manual, by member events in the logs.
        foreach (var room in new[] { deals, ruleRoom })
        {
            var state = Server.Services.GetRoomRegistry().Find(room)!.View.State;
            Assert.Equal(Membership.Leave, state.Member(leaver.UserId)!.Membership);
        }
        var page = await a.HistoryAsync(deals, forward: true, limit: 100);
        var leave = Assert.Single(page.Events, e => e.Type == EventTypes.Member && (string)e.ContentMap["user"]! == leaver.UserId && (string)e.ContentMap["membership"]! == "leave");
        Assert.Equal(("_system@test.local", "deactivated", "admin@test.local"), (leave.Sender, (string)leave.ContentMap["reason"]!, (string)leave.ContentMap["by"]!));
        // What they wrote stays with the company.
        Assert.Contains(page.Events, e => e.Sender == leaver.UserId && (string?)e.ContentMap.GetValueOrDefault("body") == "pipeline for Q3");

        // The other device comes back later with its revoked token: it is told to wipe.
        var laptopError = await Assert.ThrowsAsync<TeamCommsException>(() => TeamCommsConnection.ConnectAsync(Server.WebSocketUrl, laptop.AccessToken,
            new ClientOptions { AutoReconnect = false }));
        Assert.Equal(ErrorCode.SessionRevoked, laptopError.Code);
        await using var raw = await RawClient.ConnectAsync(Server);
        await raw.SendAsync(b => TeamComms.Protocol.Frames.ClientFrameWriter.WriteHello(b, [1], laptop.AccessToken, default, null, "raw"));
        var frames = await raw.ReceiveAsync();
        Assert.Equal("left the company", Assert.Single(frames.OfType<TeamComms.Protocol.Frames.WipeFrame>()).Reason);
        Assert.Equal(CloseCode.Wiped, await raw.ReceiveCloseAsync());
        // Every token stops working, and so does the password.
        Assert.Equal(ErrorCode.SessionRevoked, (await Assert.ThrowsAsync<TeamCommsException>(() => laptopHttp.MeAsync())).Code);
        using var login = Server.Http();
        Assert.Equal(ErrorCode.AccountDisabled, (await Assert.ThrowsAsync<TeamCommsException>(() => login.LoginAsync(leaver.Username, "password-" + leaver.Username))).Code);

        // Audited: who, what, when, from where.
        var audit = await admin.GetAsync($"/v1/admin/audit?action=user.deactivate&target={Uri.EscapeDataString(leaver.UserId)}");
        var entry = audit!["entries"]![0]!;
        Assert.Equal(("admin@test.local", "127.0.0.1", "left the company"),
            (entry["actor"]!.GetValue<string>(), entry["address"]!.GetValue<string>(), entry["details"]!["reason"]!.GetValue<string>()));
        // The leaver is gone from the directory.
        var search = await admin.GetAsync("/v1/directory/search?q=OFF-VP");
        Assert.Empty(search!["users"]!.AsArray());
    }

    [Fact]
    public async Task WipeSession_LostDevice_OnlyThatDeviceIsWipedAndTheUserStays()
    {
        var owner = await Server.CreateProfiledUserAsync("lost-owner");
        var user = await Server.CreateProfiledUserAsync("lost-user");
        using var phoneHttp = Server.Http();
        var phoneLogin = await phoneHttp.LoginAsync(user.Username, "password-" + user.Username, "lost phone");
        await using var o = await owner.ConnectAsync();
        var room = await o.CreateRoomAsync("Team", invite: [user.UserId]);
        await using var laptop = await user.ConnectAsync();
        await using var laptopEvents = new EventCollector(laptop);
        await laptop.JoinAsync(room);
        await using var phone = await TeamCommsConnection.ConnectAsync(Server.WebSocketUrl, phoneLogin.AccessToken, new ClientOptions { AutoReconnect = false });

        using var admin = await Server.AdminAsync();
        await admin.PostAsync($"/v1/admin/sessions/{phoneLogin.SessionId}/wipe", new JsonObject { ["reason"] = "phone lost in taxi" });
        await phone.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((CloseCode.Wiped, "phone lost in taxi"), (phone.CloseCode, phone.WipeReason));

        await o.SendTextAsync(room, "still here?");
        await laptopEvents.WaitForMessagesAsync(room, 1);
        Assert.True(Server.Services.GetRoomRegistry().Find(room)!.View.State.IsJoined(user.UserId));
        Assert.Equal(ErrorCode.SessionRevoked, (await Assert.ThrowsAsync<TeamCommsException>(() => phoneHttp.MeAsync())).Code);
        var audit = await admin.GetAsync("/v1/admin/audit?action=session.wipe");
        Assert.Contains(audit!["entries"]!.AsArray(), e => e!["details"]!["session"]!.GetValue<string>() == phoneLogin.SessionId);
    }

    [Fact]
    public async Task Reactivate_RestoresRuleMembershipButNotOldSessions()
    {
        var user = await Server.CreateProfiledUserAsync("comeback", new JsonObject { ["department"] = "Returners" });
        using var admin = await Server.AdminAsync();
        await admin.PostAsync("/v1/admin/rules", new JsonObject { ["name"] = "returners", ["expression"] = "department = Returners" });
        var room = (await admin.PostAsync("/v1/admin/rooms", new JsonObject { ["name"] = "Returners", ["rules"] = new JsonArray("returners") }))!["room_id"]!.GetValue<string>();
        Assert.True(Server.Services.GetRoomRegistry().Find(room)!.View.State.IsJoined(user.UserId));
        await admin.PostAsync($"/v1/admin/users/{user.UserId}/deactivate");
        Assert.False(Server.Services.GetRoomRegistry().Find(room)!.View.State.IsJoined(user.UserId));
        await admin.PostAsync($"/v1/admin/users/{user.UserId}/reactivate");
        Assert.True(Server.Services.GetRoomRegistry().Find(room)!.View.State.Member(user.UserId) is { Membership: "join", Managed: true });
        using var old = user.Http();
        Assert.Equal(ErrorCode.SessionRevoked, (await Assert.ThrowsAsync<TeamCommsException>(() => old.MeAsync())).Code);
        using var fresh = Server.Http();
        await fresh.LoginAsync(user.Username, "password-" + user.Username);
    }
}
