using System.Text.Json.Nodes;
using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.CompanyDirectory;

public class ArchiveTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private TestServer Server => shared.Server;

    [Fact]
    public async Task Archive_ReadOnlyHiddenFromTheActiveList_ReadableByMembersAndComplianceOfficers()
    {
        var owner = await Server.CreateProfiledUserAsync("arch-owner");
        var member = await Server.CreateProfiledUserAsync("arch-member");
        var officer = await Server.CreateProfiledUserAsync("arch-officer");
        using var admin = await Server.AdminAsync();
        await admin.PutAsync($"/v1/admin/users/{officer.UserId}/roles", new JsonObject { ["roles"] = new JsonArray("compliance_officer") });
        await using var o = await owner.ConnectAsync();
        await using var m = await member.ConnectAsync();
        var room = await o.CreateRoomAsync("Project Apollo", invite: [member.UserId]);
        await m.JoinAsync(room);
        await m.SendTextAsync(room, "launch checklist");
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => m.CallAsync("rooms.archive", new Dictionary<string, object?> { ["room"] = room }))).Code);

        using var officerHttp = officer.Http();
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => officerHttp.GetAsync($"/v1/compliance/rooms/{DirectoryHelpers.Room(room)}/history"))).Code);

        await o.CallAsync("rooms.archive", new Dictionary<string, object?> { ["room"] = room });
        var archivedBy = await admin.GetAsync($"/v1/admin/audit?action=room.archive&target={Uri.EscapeDataString(room)}");
        Assert.Equal((owner.UserId, "127.0.0.1"), (archivedBy!["entries"]![0]!["actor"]!.GetValue<string>(), archivedBy["entries"]![0]!["address"]!.GetValue<string>()));
        Assert.Equal(ErrorCode.RoomArchived, (await Assert.ThrowsAsync<TeamCommsException>(() => m.SendTextAsync(room, "more"))).Code);
        Assert.DoesNotContain(await m.ListRoomsAsync(), r => r.RoomId == room);
        var archived = (List<object?>)(await m.CallAsync("rooms.list", new Dictionary<string, object?> { ["archived"] = true }))!;
        Assert.Contains(archived, r => (string)((Dictionary<string, object?>)r!)["room_id"]! == room);
        var history = await m.HistoryAsync(room, forward: true, limit: 50);
        Assert.Contains(history.Events, e => e.Type == EventTypes.Message && (string)e.ContentMap["body"]! == "launch checklist");
        Assert.Equal(EventTypes.Archived, history.Events[^1].Type);

        var read = await officerHttp.GetAsync($"/v1/compliance/rooms/{DirectoryHelpers.Room(room)}/history");
        Assert.Contains(read!["events"]!.AsArray(), e => e!["content"]?["body"]?.GetValue<string>() == "launch checklist");
        Assert.Contains((await officerHttp.GetAsync("/v1/compliance/rooms"))!["rooms"]!.AsArray(), r => r!["room_id"]!.GetValue<string>() == room);
        using var memberHttp = member.Http();
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => memberHttp.GetAsync($"/v1/compliance/rooms/{DirectoryHelpers.Room(room)}/history"))).Code);
        var audit = await admin.GetAsync($"/v1/admin/audit?action=compliance.read&target={Uri.EscapeDataString(room)}");
        Assert.Equal(officer.UserId, audit!["entries"]![0]!["actor"]!.GetValue<string>());

        // A company admin can unarchive (and archive) any room.
        await admin.PostAsync($"/v1/admin/rooms/{DirectoryHelpers.Room(room)}/unarchive");
        await m.SendTextAsync(room, "back in business");
        Assert.Equal(ErrorCode.Conflict, (await Assert.ThrowsAsync<TeamCommsException>(() => admin.PostAsync($"/v1/admin/rooms/{DirectoryHelpers.Room(room)}/unarchive"))).Code);
    }
}

public class PolicyTests
{
    [Fact]
    public async Task RoomCreation_AdminsOnlyOrChosenRoles_ClearError()
    {
        await using var server = await TestServer.StartAsync();
        using var admin = await server.AdminAsync();
        var user = await server.CreateProfiledUserAsync("creator");
        await using var u = await user.ConnectAsync();
        await admin.PutAsync("/v1/admin/policies", new JsonObject { ["room_creation"] = "admins" });
        var refused = await Assert.ThrowsAsync<TeamCommsException>(() => u.CreateRoomAsync("Mine"));
        Assert.Equal((ErrorCode.PolicyViolation, "company policy: only admins may create rooms"), (refused.Code, refused.ServerMessage));
        await using var a = await TeamCommsConnection.ConnectAsync(server.WebSocketUrl, admin.AccessToken!);
        await a.CreateRoomAsync("Admin room");

        await admin.PostAsync("/v1/admin/roles", new JsonObject { ["name"] = "team_lead", ["description"] = "leads a team" });
        await admin.PutAsync("/v1/admin/policies", new JsonObject { ["room_creation"] = "roles", ["room_creation_roles"] = new JsonArray("team_lead") });
        Assert.Contains("team_lead", (await Assert.ThrowsAsync<TeamCommsException>(() => u.CreateRoomAsync("Mine"))).ServerMessage, StringComparison.Ordinal);
        await admin.PutAsync($"/v1/admin/users/{user.UserId}/roles", new JsonObject { ["roles"] = new JsonArray("team_lead") });
        await u.CreateRoomAsync("Mine");

        var bad = await Assert.ThrowsAsync<TeamCommsException>(() => admin.PutAsync("/v1/admin/policies", new JsonObject { ["room_creation"] = "nobody" }));
        Assert.Equal(ErrorCode.BadRequest, bad.Code);
        Assert.Equal(ErrorCode.BadRequest, (await Assert.ThrowsAsync<TeamCommsException>(() => admin.PutAsync("/v1/admin/policies", new JsonObject { ["room_creation_roles"] = new JsonArray("wizard") }))).Code);
        Assert.Equal("roles", (await admin.GetAsync("/v1/admin/policies"))!["room_creation"]!.GetValue<string>());
        var audit = await admin.GetAsync("/v1/admin/audit?action=policy.update");
        Assert.Equal(2, audit!["entries"]!.AsArray().Count); // refused changes are not applied, so not recorded
    }

    [Fact]
    public async Task DirectMessages_SameDepartmentOrAllowlist_Enforced()
    {
        await using var server = await TestServer.StartAsync();
        using var admin = await server.AdminAsync();
        var seller = await server.CreateProfiledUserAsync("seller", new JsonObject { ["department"] = "Sales" });
        var seller2 = await server.CreateProfiledUserAsync("seller2", new JsonObject { ["department"] = "sales" });
        var seller3 = await server.CreateProfiledUserAsync("seller3", new JsonObject { ["department"] = "Sales" });
        var support = await server.CreateProfiledUserAsync("supporter", new JsonObject { ["department"] = "Support" });
        var engineer = await server.CreateProfiledUserAsync("engineer", new JsonObject { ["department"] = "Engineering" });
        await admin.PutAsync("/v1/admin/policies", new JsonObject { ["direct_messages"] = "same_department" });
        await using var s = await seller.ConnectAsync();
        Task<object?> Dm(TeamCommsConnection c, string user) => c.CallAsync("directory.start_dm", new Dictionary<string, object?> { ["user"] = user });
        await Dm(s, seller2.UserId);
        var refused = await Assert.ThrowsAsync<TeamCommsException>(() => Dm(s, engineer.UserId));
        Assert.Equal(ErrorCode.PolicyViolation, refused.Code);
        Assert.Contains("within your department", refused.ServerMessage, StringComparison.Ordinal);
        // The same rule holds for a direct room created by hand, and for inviting someone into it.
        Assert.Equal(ErrorCode.PolicyViolation, (await Assert.ThrowsAsync<TeamCommsException>(() => s.CreateRoomAsync("", invite: [engineer.UserId], kind: "direct"))).Code);

        await admin.PutAsync("/v1/admin/policies", new JsonObject
        {
            ["direct_messages"] = "allowlist",
            ["direct_allowlist"] = new JsonArray(new JsonObject { ["from"] = "department:Sales", ["to"] = "department:Support" }),
        });
        await Dm(s, support.UserId);
        // A conversation that exists goes on; starting a new one follows the new policy.
        await Dm(s, seller2.UserId);
        Assert.Equal(ErrorCode.PolicyViolation, (await Assert.ThrowsAsync<TeamCommsException>(() => Dm(s, seller3.UserId))).Code);
        await using var sup = await support.ConnectAsync();
        Assert.Equal(ErrorCode.PolicyViolation, (await Assert.ThrowsAsync<TeamCommsException>(() => Dm(sup, engineer.UserId))).Code);
        // Admins are exempt by default.
        await using var a = await TeamCommsConnection.ConnectAsync(server.WebSocketUrl, admin.AccessToken!);
        await Dm(a, engineer.UserId);
        Assert.Equal(ErrorCode.BadRequest, (await Assert.ThrowsAsync<TeamCommsException>(() => admin.PutAsync("/v1/admin/policies", new JsonObject
        {
            ["direct_allowlist"] = new JsonArray(new JsonObject { ["from"] = "planet:Mars", ["to"] = "*" }),
        }))).Code);
    }

    [Fact]
    public async Task Invites_ModeratorsOrRoles_Enforced()
    {
        await using var server = await TestServer.StartAsync();
        using var admin = await server.AdminAsync();
        var owner = await server.CreateProfiledUserAsync("inv-owner");
        var member = await server.CreateProfiledUserAsync("inv-member");
        var guest = await server.CreateProfiledUserAsync("inv-guest");
        await using var o = await owner.ConnectAsync();
        await using var m = await member.ConnectAsync();
        var room = (string)((Dictionary<string, object?>)(await o.CallAsync("rooms.create", new Dictionary<string, object?>
        {
            ["name"] = "Open",
            ["invite"] = new List<object?> { member.UserId },
            ["invite_policy"] = "members",
        }))!)["room_id"]!;
        await m.JoinAsync(room);
        // The room lets members invite; the company says only moderators may.
        await admin.PutAsync("/v1/admin/policies", new JsonObject { ["invites"] = "moderators" });
        var refused = await Assert.ThrowsAsync<TeamCommsException>(() => m.InviteAsync(room, guest.UserId));
        Assert.Equal((ErrorCode.PolicyViolation, "company policy: only room moderators and owners may invite"), (refused.Code, refused.ServerMessage));
        await o.InviteAsync(room, guest.UserId);
        await admin.PutAsync("/v1/admin/policies", new JsonObject { ["invites"] = "roles", ["invite_roles"] = new JsonArray("hr") });
        Assert.Equal(ErrorCode.PolicyViolation, (await Assert.ThrowsAsync<TeamCommsException>(() => o.CreateRoomAsync("New", invite: [member.UserId]))).Code);
        await o.CreateRoomAsync("Alone");
    }
}

public class RoleTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private TestServer Server => shared.Server;

    [Fact]
    public async Task CompanyRoles_BuiltInAndCustom_ManagedAndChecked()
    {
        using var admin = await Server.AdminAsync();
        var roles = (await admin.GetAsync("/v1/admin/roles"))!["roles"]!.AsArray().Select(r => r!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(["admin", "security_officer", "compliance_officer", "hr", "moderator"], roles.Take(5));
        await admin.PostAsync("/v1/admin/roles", new JsonObject { ["name"] = "fire_warden", ["description"] = "evacuates the floor" });
        Assert.Equal(ErrorCode.Conflict, (await Assert.ThrowsAsync<TeamCommsException>(() => admin.PostAsync("/v1/admin/roles", new JsonObject { ["name"] = "fire_warden" }))).Code);
        var user = await Server.CreateProfiledUserAsync("warden");
        var set = await admin.PutAsync($"/v1/admin/users/{user.UserId}/roles", new JsonObject { ["roles"] = new JsonArray("fire_warden", "moderator") });
        Assert.Equal(["fire_warden", "moderator"], set!["roles"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal(ErrorCode.BadRequest, (await Assert.ThrowsAsync<TeamCommsException>(() => admin.PutAsync($"/v1/admin/users/{user.UserId}/roles", new JsonObject { ["roles"] = new JsonArray("wizard") }))).Code);
        Assert.Equal(ErrorCode.Conflict, (await Assert.ThrowsAsync<TeamCommsException>(() => admin.SendAsync(HttpMethod.Delete, "/v1/admin/roles/fire_warden", null))).Code);
        // The role is stored on the account and seen by the server at once.
        using var self = user.Http();
        Assert.Contains("fire_warden", (await self.MeAsync())!["roles"]!.AsArray().Select(r => r!.GetValue<string>()));

        // HR manages people but cannot hand out roles.
        var hr = await Server.CreateProfiledUserAsync("roles-hr");
        await admin.PutAsync($"/v1/admin/users/{hr.UserId}/roles", new JsonObject { ["roles"] = new JsonArray("hr") });
        using var hrHttp = hr.Http();
        await hrHttp.PostAsync("/v1/admin/users", new JsonObject { ["username"] = "hired-by-hr", ["display_name"] = "Hired" });
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => hrHttp.PostAsync("/v1/admin/users",
            new JsonObject { ["username"] = "sneaky", ["display_name"] = "Sneaky", ["roles"] = new JsonArray("admin") }))).Code);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => hrHttp.PutAsync($"/v1/admin/users/{hr.UserId}/roles",
            new JsonObject { ["roles"] = new JsonArray("admin") }))).Code);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => hrHttp.PutAsync("/v1/admin/policies", new JsonObject { ["invites"] = "everyone" }))).Code);
    }

    [Fact]
    public async Task RoomRoles_SetThroughTheAdminApi_GovernWhoPosts()
    {
        using var admin = await Server.AdminAsync();
        var poster = await Server.CreateProfiledUserAsync("announcer", new JsonObject { ["team"] = "Comms" });
        await admin.PostAsync("/v1/admin/rules", new JsonObject { ["name"] = "comms", ["expression"] = "team = Comms" });
        var room = (await admin.PostAsync("/v1/admin/rooms", new JsonObject { ["name"] = "News", ["kind"] = "announcement", ["rules"] = new JsonArray("comms") }))!["room_id"]!.GetValue<string>();
        await using var p = await poster.ConnectAsync();
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => p.SendTextAsync(room, "hello all"))).Code);
        await admin.PutAsync($"/v1/admin/rooms/{DirectoryHelpers.Room(room)}/members/{poster.UserId}/role", new JsonObject { ["role"] = "poster" });
        var member = Server.Services.GetRoomRegistry().Find(room)!.View.State.Member(poster.UserId)!;
        Assert.Equal(("poster", true), (member.Role, member.Managed));
        await p.SendTextAsync(room, "hello all");
        Assert.Equal(ErrorCode.BadRequest, (await Assert.ThrowsAsync<TeamCommsException>(() =>
            admin.PutAsync($"/v1/admin/rooms/{DirectoryHelpers.Room(room)}/members/{poster.UserId}/role", new JsonObject { ["role"] = "emperor" }))).Code);
    }
}
