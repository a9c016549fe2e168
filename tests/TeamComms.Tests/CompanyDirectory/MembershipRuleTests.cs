using System.Text;
using System.Text.Json.Nodes;
using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.CompanyDirectory;

public class MembershipRuleTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private TestServer Server => shared.Server;

    private bool Joined(string room, string user) => Server.Services.GetRoomRegistry().Find(room)!.View.State.IsJoined(user);

    private TeamComms.Server.Rooms.MemberInfo? Member(string room, string user) => Server.Services.GetRoomRegistry().Find(room)!.View.State.Member(user);

    [Fact]
    public async Task BoundRoom_FollowsAttributes_AsMemberEventsCommittedBeforeTheCallReturns()
    {
        using var admin = await Server.AdminAsync();
        await admin.PostAsync("/v1/admin/rules", new JsonObject { ["name"] = "sales-berlin", ["expression"] = "department = Sales and location = Berlin" });
        var room = (await admin.PostAsync("/v1/admin/rooms", new JsonObject { ["name"] = "Sales Berlin", ["rules"] = new JsonArray("sales-berlin") }))!["room_id"]!.GetValue<string>();

        var berlin = await Server.CreateProfiledUserAsync("sb-berlin", new JsonObject { ["department"] = "Sales", ["location"] = "Berlin" });
        var munich = await Server.CreateProfiledUserAsync("sb-munich", new JsonObject { ["department"] = "Sales", ["location"] = "Munich" });
        Assert.True(Member(room, berlin.UserId) is { Membership: "join", Managed: true });
        Assert.Null(Member(room, munich.UserId));

        // A member connected before the change sees the join live.
        await using var conn = await berlin.ConnectAsync();
        await using var events = new EventCollector(conn);
        await admin.PatchAsync($"/v1/admin/users/{munich.UserId}", new JsonObject { ["location"] = "Berlin" });
        Assert.True(Joined(room, munich.UserId));
        await admin.PatchAsync($"/v1/admin/users/{berlin.UserId}", new JsonObject { ["department"] = "Marketing" });
        Assert.False(Joined(room, berlin.UserId));
        await events.WaitAsync(es => es.Any(e => e.Type == EventTypes.Member && (string)e.ContentMap["user"]! == berlin.UserId && (string)e.ContentMap["membership"]! == "leave"));

        var log = Server.Services.GetEventStore().ReadRange(Server.Services.GetRoomRegistry().Find(room)!.Key, 1, long.MaxValue, true, 100)
            .Select(e => EventCodec.Read(e.Wire)).Where(e => e.Type == EventTypes.Member).ToList();
        var join = Assert.Single(log, e => (string)e.ContentMap["user"]! == munich.UserId);
        Assert.Equal(("_system@test.local", "rule", "admin@test.local", "directory rule"),
            (join.Sender, (string)join.ContentMap["via"]!, (string)join.ContentMap["by"]!, (string)join.ContentMap["reason"]!));
    }

    [Fact]
    public async Task ManualMembersAndExclusions_AreKeptApartFromRuleMembers_AndSurviveRuleChanges()
    {
        using var admin = await Server.AdminAsync();
        var match1 = await Server.CreateProfiledUserAsync("mx-ops1", new JsonObject { ["team"] = "Ops" });
        var match2 = await Server.CreateProfiledUserAsync("mx-ops2", new JsonObject { ["team"] = "Ops" });
        var outsider = await Server.CreateProfiledUserAsync("mx-guest", new JsonObject { ["team"] = "Legal" });
        var invited = await Server.CreateProfiledUserAsync("mx-invited", new JsonObject { ["team"] = "Legal" });
        await admin.PostAsync("/v1/admin/rules", new JsonObject { ["name"] = "mx-ops", ["expression"] = "team = Ops and username in (mx-ops1, mx-ops2)" });
        var room = (await admin.PostAsync("/v1/admin/rooms", new JsonObject { ["name"] = "Ops", ["rules"] = new JsonArray("mx-ops") }))!["room_id"]!.GetValue<string>();
        var path = $"/v1/admin/rooms/{DirectoryHelpers.Room(room)}";
        Assert.True(Joined(room, match1.UserId) && Joined(room, match2.UserId));

        await admin.PostAsync(path + "/manual", new JsonObject { ["user"] = outsider.UserId, ["action"] = "include" });
        await admin.PostAsync(path + "/manual", new JsonObject { ["user"] = match2.UserId, ["action"] = "exclude" });
        // The admin (room owner) invites someone the ordinary way.
        await using (var a = await TeamCommsConnection.ConnectAsync(Server.WebSocketUrl, admin.AccessToken!))
        {
            await a.InviteAsync(room, invited.UserId);
        }
        await using (var i = await invited.ConnectAsync())
        {
            await i.JoinAsync(room);
        }
        Assert.True(Member(room, outsider.UserId) is { Membership: "join", Managed: false });
        Assert.False(Joined(room, match2.UserId));
        var binding = await admin.GetAsync(path + "/binding");
        Assert.Equal([outsider.UserId], binding!["manual_members"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal([match2.UserId], binding["exclusions"]!.AsArray().Select(n => n!.GetValue<string>()));

        // The rule now matches nobody: its members go, the manual member and the invited member stay.
        var changed = await admin.PutAsync("/v1/admin/rules/mx-ops", new JsonObject { ["expression"] = "team = Nobody" });
        Assert.Equal(1, changed!["membership_events"]!.GetValue<int>());
        Assert.Equal((false, false, true, true), (Joined(room, match1.UserId), Joined(room, match2.UserId), Joined(room, outsider.UserId), Joined(room, invited.UserId)));
        // The rule matches everyone in Ops or Legal again: the exclusion still holds.
        await admin.PutAsync("/v1/admin/rules/mx-ops", new JsonObject { ["expression"] = "team in (Ops, Legal) and username in (mx-ops1, mx-ops2, mx-guest, mx-invited)" });
        Assert.Equal((true, false, true, true), (Joined(room, match1.UserId), Joined(room, match2.UserId), Joined(room, outsider.UserId), Joined(room, invited.UserId)));
        Assert.False(Member(room, outsider.UserId)!.Managed);
        // Clearing the exclusion lets the rule add them.
        await admin.PostAsync(path + "/manual", new JsonObject { ["user"] = match2.UserId, ["action"] = "clear" });
        Assert.True(Member(room, match2.UserId) is { Membership: "join", Managed: true });
        // Unbinding the rule removes only what the rule added.
        await admin.PutAsync(path + "/binding", new JsonObject { ["rules"] = new JsonArray() });
        Assert.Equal((false, false, true, true), (Joined(room, match1.UserId), Joined(room, match2.UserId), Joined(room, outsider.UserId), Joined(room, invited.UserId)));
    }

    [Fact]
    public async Task RuleMember_CannotLeaveOrBeKicked_TheDirectoryDecides()
    {
        using var admin = await Server.AdminAsync();
        var member = await Server.CreateProfiledUserAsync("pinned", new JsonObject { ["team"] = "Pinned" });
        await admin.PostAsync("/v1/admin/rules", new JsonObject { ["name"] = "pinned", ["expression"] = "team = Pinned" });
        var room = (await admin.PostAsync("/v1/admin/rooms", new JsonObject { ["name"] = "Pinned", ["rules"] = new JsonArray("pinned") }))!["room_id"]!.GetValue<string>();
        await using var m = await member.ConnectAsync();
        var leave = await Assert.ThrowsAsync<TeamCommsException>(() => m.LeaveAsync(room));
        Assert.Equal(ErrorCode.PolicyViolation, leave.Code);
        await using var a = await TeamCommsConnection.ConnectAsync(Server.WebSocketUrl, admin.AccessToken!);
        Assert.Equal(ErrorCode.PolicyViolation, (await Assert.ThrowsAsync<TeamCommsException>(() => a.KickAsync(room, member.UserId))).Code);
        Assert.True(Joined(room, member.UserId));
    }

    [Fact]
    public async Task DepartmentChange_IsRecomputedIncrementally_OnlyForRoomsOfRulesWhoseAnswerChanged()
    {
        using var admin = await Server.AdminAsync();
        var departments = Enumerable.Range(0, 10).Select(i => $"Inc{i}").ToList();
        var rooms = new Dictionary<string, string>();
        foreach (var d in departments)
        {
            await admin.PostAsync("/v1/admin/rules", new JsonObject { ["name"] = "inc-" + d.ToLowerInvariant(), ["expression"] = $"department = {d}" });
            rooms[d] = (await admin.PostAsync("/v1/admin/rooms", new JsonObject { ["name"] = d, ["rules"] = new JsonArray("inc-" + d.ToLowerInvariant()) }))!["room_id"]!.GetValue<string>();
        }
        var csv = new StringBuilder("username,display_name,department\n");
        for (var i = 0; i < 30; i++)
        {
            csv.Append(CultureInfo($"inc-u{i},Inc User {i},{departments[i % 10]}\n"));
        }
        var import = await ImportAsync(admin, csv.ToString(), dryRun: false);
        Assert.Equal(30, import!["created"]!.AsArray().Count);
        Assert.Equal(30, import["membership_events"]!.GetValue<int>());

        // Three people move from Inc0 to Inc1.
        var boundRules = (await admin.GetAsync("/v1/admin/rules"))!["rules"]!.AsArray().Count(r => r!["rooms"]!.AsArray().Count > 0);
        var move = "username,department\ninc-u0,Inc1\ninc-u10,Inc1\ninc-u20,Inc1\n";
        var result = await ImportAsync(admin, move, dryRun: false);
        var stats = result!["stats"]!;
        Assert.Equal(3, stats["changed_users"]!.GetValue<int>());
        Assert.Equal(2, stats["rooms_touched"]!.GetValue<int>());
        // Each changed person is checked only against the rules that could match their old or new department
        // (inc-inc0 and inc-inc1, before and after), then against the one rule of each of the two rooms whose answer
        // changed: 3 x (2 x 2) + 3 x 2 = 18, however many other rules are bound. No one else and no other room is looked at.
        Assert.True(boundRules >= 10);
        Assert.Equal(18, stats["rule_evaluations"]!.GetValue<long>());
        Assert.Equal(6, result["membership_events"]!.GetValue<int>());
        Assert.False(Joined(rooms["Inc0"], "inc-u0@test.local"));
        Assert.True(Member(rooms["Inc1"], "inc-u20@test.local") is { Membership: "join", Managed: true });
    }

    [Fact]
    public async Task InvalidRule_IsRefusedWithInvalidRule_AndNothingStored()
    {
        using var admin = await Server.AdminAsync();
        var syntax = await Assert.ThrowsAsync<TeamCommsException>(() => admin.PostAsync("/v1/admin/rules", new JsonObject { ["name"] = "broken", ["expression"] = "department = " }));
        Assert.Equal((ErrorCode.InvalidRule, 400), (syntax.Code, syntax.HttpStatus));
        var unknown = await Assert.ThrowsAsync<TeamCommsException>(() => admin.PostAsync("/v1/admin/rules", new JsonObject { ["name"] = "broken", ["expression"] = "shoe_size = 44" }));
        Assert.Equal(ErrorCode.InvalidRule, unknown.Code);
        Assert.Contains("shoe_size", unknown.ServerMessage, StringComparison.Ordinal);
        Assert.Equal(ErrorCode.NotFound, (await Assert.ThrowsAsync<TeamCommsException>(() => admin.GetAsync("/v1/admin/rules/broken"))).Code);
        var preview = await Assert.ThrowsAsync<TeamCommsException>(() => admin.PostAsync("/v1/admin/rules/preview", new JsonObject { ["expression"] = "(team = x" }));
        Assert.Equal(ErrorCode.InvalidRule, preview.Code);
    }

    [Fact]
    public async Task JoinersOfFullHistoryRooms_PageTheWholeHistory_DirectMessagesStartAtTheJoin()
    {
        using var admin = await Server.AdminAsync();
        await admin.PostAsync("/v1/admin/rules", new JsonObject { ["name"] = "hist", ["expression"] = "team = Historians" });
        var room = (await admin.PostAsync("/v1/admin/rooms", new JsonObject { ["name"] = "History", ["rules"] = new JsonArray("hist") }))!["room_id"]!.GetValue<string>();
        await using var a = await TeamCommsConnection.ConnectAsync(Server.WebSocketUrl, admin.AccessToken!);
        for (var i = 0; i < 30; i++)
        {
            await a.SendTextAsync(room, $"early {i}");
        }
        var joiner = await Server.CreateProfiledUserAsync("hist-joiner", new JsonObject { ["team"] = "Historians" });
        await using var j = await joiner.ConnectAsync();
        var all = new List<RoomEvent>();
        long? from = null;
        while (true)
        {
            var page = await j.HistoryAsync(room, from, forward: false, limit: 7);
            all.AddRange(page.Events);
            if (page.Next is null)
            {
                break;
            }
            from = page.Next;
        }
        Assert.Equal(1, all[^1].Seq);
        Assert.Equal(30, all.Count(e => e.Type == EventTypes.Message));

        // A direct conversation shows the invitee only what happens from their join.
        var other = await Server.CreateProfiledUserAsync("hist-dm");
        var dm = (string)((Dictionary<string, object?>)(await j.CallAsync("directory.start_dm", new Dictionary<string, object?> { ["user"] = other.UserId }))!)["room_id"]!;
        await j.SendTextAsync(dm, "before you joined");
        await using var o = await other.ConnectAsync();
        await o.JoinAsync(dm);
        await j.SendTextAsync(dm, "after you joined");
        var seen = await o.HistoryAsync(dm, forward: true, limit: 50);
        Assert.Equal(["after you joined"], seen.Events.Where(e => e.Type == EventTypes.Message).Select(e => (string)e.ContentMap["body"]!));
    }

    private static async Task<JsonObject?> ImportAsync(TeamCommsHttpClient admin, string csv, bool dryRun)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(admin.BaseUrl, $"/v1/admin/import/csv?dry_run={(dryRun ? "true" : "false")}"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", admin.AccessToken);
        request.Content = new StringContent(csv, Encoding.UTF8, "text/csv");
        using var response = await http.SendAsync(request);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.True(response.IsSuccessStatusCode, body.ToJsonString());
        return body;
    }

    private static string CultureInfo(FormattableString s) => FormattableString.Invariant(s);
}
