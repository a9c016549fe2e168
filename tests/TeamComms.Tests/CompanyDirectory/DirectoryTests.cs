using System.Text.Json.Nodes;
using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.CompanyDirectory;

public class DirectoryTests
{
    [Fact]
    public async Task Search_CaseInsensitivePrefixOverNameDepartmentTitle_PagedWithoutRepeats()
    {
        await using var server = await TestServer.StartAsync();
        var people = new (string User, string Name, string Dept, string Title)[]
        {
            ("anna", "Anna Maria Lopez", "Sales", "Account Executive"),
            ("annabel", "Annabel Lee", "Sales", "Sales Engineer"),
            ("bert", "Bert Anders", "Engineering", "Staff Engineer"),
            ("carla", "Carla Smith", "Salesforce Admin", "Administrator"),
            ("dan", "Dan Annan", "Support", "Support Lead"),
            ("eve", "Eve Ng", "Engineering", "Engineering Manager"),
        };
        foreach (var (user, name, dept, title) in people)
        {
            await server.CreateProfiledUserAsync(user, new JsonObject { ["display_name"] = name, ["department"] = dept, ["title"] = title });
        }
        using var http = (await server.CreateUserAsync("searcher")).Http();

        async Task<List<string>> All(string query, string field, int limit)
        {
            var found = new List<string>();
            string? cursor = null;
            do
            {
                var page = await http.GetAsync($"/v1/directory/search?q={Uri.EscapeDataString(query)}&field={field}&limit={limit}" + (cursor is null ? "" : "&cursor=" + cursor));
                var users = page!["users"]!.AsArray();
                Assert.True(users.Count <= limit);
                found.AddRange(users.Select(u => u!["username"]!.GetValue<string>()));
                cursor = page["next"]?.GetValue<string>();
            }
            while (cursor is not null);
            return found;
        }

        // "ann" matches first names and later words (Annan, Anders is not "ann"), each person once, across pages of 1.
        Assert.Equal(["anna", "annabel", "dan"], (await All("ANN", "name", 1)).Order(StringComparer.Ordinal));
        Assert.Equal(["anna"], await All("maria lo", "name", 10));
        Assert.Equal(["carla"], await All("smi", "name", 10));
        Assert.Equal(["anna", "annabel", "carla"], (await All("sales", "department", 2)).Order(StringComparer.Ordinal));
        Assert.Equal(["bert", "eve"], (await All("ENGINEERING", "department", 5)).Order(StringComparer.Ordinal));
        Assert.Equal(["eve"], await All("engineering m", "title", 5));
        // Browsing a field: everyone with one, in order of the field.
        var byDepartment = await All("", "department", 4);
        Assert.Equal(["bert", "eve", "anna", "annabel", "carla", "dan"], byDepartment);

        var bad = await Assert.ThrowsAsync<TeamCommsException>(() => http.GetAsync("/v1/directory/search?q=a&field=salary"));
        Assert.Equal(ErrorCode.BadField, bad.Code);
        var badCursor = await Assert.ThrowsAsync<TeamCommsException>(() => http.GetAsync("/v1/directory/search?q=a&cursor=AAAA"));
        Assert.Equal(ErrorCode.BadField, badCursor.Code);

        // The same search over the WebSocket.
        var searcher = await server.CreateUserAsync();
        await using var conn = await searcher.ConnectAsync();
        var result = (Dictionary<string, object?>)(await conn.CallAsync("directory.search", new Dictionary<string, object?> { ["query"] = "carla", ["field"] = "name" }))!;
        var found = Assert.Single((List<object?>)result["users"]!);
        Assert.Equal("Salesforce Admin", ((Dictionary<string, object?>)found!)["department"]);
    }

    [Fact]
    public async Task Search_UsesTheIndexNotAScan()
    {
        await using var server = await TestServer.StartAsync();
        await server.CreateProfiledUserAsync("zed", new JsonObject { ["display_name"] = "Zed Zulu", ["department"] = "Zoology" });
        // The index holds the name, its later words, the department and the title, lower-cased, under the user's key.
        var store = server.Services.GetRocksStore();
        var keys = store.ScanPrefix(store.Family("directory_index"), [(byte)'d']).Select(kv => System.Text.Encoding.UTF8.GetString(kv.Key.AsSpan(1, kv.Key.Length - 10))).ToList();
        Assert.Contains("zoology", keys);
        var names = store.ScanPrefix(store.Family("directory_index"), [(byte)'n']).Select(kv => System.Text.Encoding.UTF8.GetString(kv.Key.AsSpan(1, kv.Key.Length - 10))).ToList();
        Assert.Contains("zed zulu", names);
        Assert.Contains("zulu", names);
    }

    [Fact]
    public async Task Profiles_AdminsEditEverything_UsersOnlyWhatPolicyAllows()
    {
        await using var server = await TestServer.StartAsync();
        var boss = await server.CreateProfiledUserAsync("boss", new JsonObject { ["display_name"] = "The Boss" });
        var worker = await server.CreateProfiledUserAsync("worker", new JsonObject
        {
            ["display_name"] = "Wanda Worker",
            ["email"] = "wanda@acme.example",
            ["title"] = "Analyst",
            ["department"] = "Finance",
            ["team"] = "Reporting",
            ["location"] = "Berlin",
            ["manager"] = boss.UserId,
            ["phone"] = "+49 30 555 0101",
            ["employment_status"] = "active",
            ["time_zone"] = "Europe/Berlin",
            ["working_hours"] = "mon-fri 09:00-17:30",
        });
        using var admin = await server.AdminAsync();
        var profile = await admin.GetAsync($"/v1/directory/users/{worker.UserId}");
        Assert.Equal(("Reporting", "Berlin", boss.UserId, "Europe/Berlin"),
            (profile!["team"]!.GetValue<string>(), profile["location"]!.GetValue<string>(), profile["manager"]!.GetValue<string>(), profile["time_zone"]!.GetValue<string>()));
        Assert.Equal(["mon", "tue", "wed", "thu", "fri"], profile["working_hours"]!["days"]!.AsArray().Select(d => d!.GetValue<string>()));

        using var self = worker.Http();
        // Allowed by default: phone, time zone, working hours.
        var edited = await self.PatchAsync("/v1/directory/me", new JsonObject { ["phone"] = "+49 30 555 0199", ["time_zone"] = "America/New_York" });
        Assert.Equal("+49 30 555 0199", edited!["phone"]!.GetValue<string>());
        var refused = await Assert.ThrowsAsync<TeamCommsException>(() => self.PatchAsync("/v1/directory/me", new JsonObject { ["phone"] = "+1 555", ["title"] = "CEO" }));
        Assert.Equal(ErrorCode.Forbidden, refused.Code);
        Assert.Contains("title", refused.ServerMessage, StringComparison.Ordinal);
        Assert.Equal("+49 30 555 0199", (await admin.GetAsync($"/v1/directory/users/{worker.UserId}"))!["phone"]!.GetValue<string>());
        // The company widens what users may edit.
        await admin.PutAsync("/v1/admin/policies", new JsonObject { ["self_editable"] = new JsonArray("phone", "title") });
        Assert.Equal("Senior Analyst", (await self.PatchAsync("/v1/directory/me", new JsonObject { ["title"] = "Senior Analyst" }))!["title"]!.GetValue<string>());
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => self.PatchAsync("/v1/directory/me", new JsonObject { ["time_zone"] = "UTC" }))).Code);

        // Validation: clear errors, nothing stored.
        foreach (var (field, value) in new (string, string)[] { ("time_zone", "Mars/Olympus"), ("email", "not-an-email"), ("working_hours", "weekdays"), ("manager", "ghost@test.local"), ("shoe_size", "44") })
        {
            var ex = await Assert.ThrowsAsync<TeamCommsException>(() => admin.PatchAsync($"/v1/admin/users/{worker.UserId}", new JsonObject { [field] = value }));
            Assert.Equal(ErrorCode.BadRequest, ex.Code);
            Assert.Contains(field, ex.ServerMessage, StringComparison.Ordinal);
        }
        Assert.Equal("Senior Analyst", (await admin.GetAsync($"/v1/directory/users/{worker.UserId}"))!["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task StartDirect_FromTheDirectory_CreatesOnceThenReturnsTheSameRoom()
    {
        await using var server = await TestServer.StartAsync();
        var a = await server.CreateProfiledUserAsync("dm-a");
        var b = await server.CreateProfiledUserAsync("dm-b");
        await using var conn = await a.ConnectAsync();
        var first = (Dictionary<string, object?>)(await conn.CallAsync("directory.start_dm", new Dictionary<string, object?> { ["user"] = b.UserId }))!;
        var second = (Dictionary<string, object?>)(await conn.CallAsync("directory.start_dm", new Dictionary<string, object?> { ["user"] = b.UserId }))!;
        Assert.Equal((true, false), ((bool)first["created"]!, (bool)second["created"]!));
        Assert.Equal(first["room_id"], second["room_id"]);
        var room = server.Services.GetRoomRegistry().Find((string)first["room_id"]!)!.View.State;
        Assert.Equal(("direct", "joined", "invite"), (room.Kind, room.HistoryVisibility, room.Member(b.UserId)!.Membership));
        var self = await Assert.ThrowsAsync<TeamCommsException>(() => conn.CallAsync("directory.start_dm", new Dictionary<string, object?> { ["user"] = a.UserId }));
        Assert.Equal(ErrorCode.BadRequest, self.Code);
    }

    [Fact]
    public async Task Restart_KeepsProfilesGroupsRulesAndBindings()
    {
        var server = await TestServer.StartAsync();
        try
        {
            await server.CreateProfiledUserAsync("persist", new JsonObject { ["department"] = "Legal", ["title"] = "Counsel" });
            using (var admin = await server.AdminAsync())
            {
                await admin.PostAsync("/v1/admin/groups", new JsonObject { ["display_name"] = "Lawyers", ["members"] = new JsonArray("persist") });
                await admin.PostAsync("/v1/admin/rules", new JsonObject { ["name"] = "legal", ["expression"] = "group = Lawyers" });
                await admin.PostAsync("/v1/admin/rooms", new JsonObject { ["name"] = "Legal", ["rules"] = new JsonArray("legal") });
            }
            server = await server.RestartAsync();
            using var again = await server.AdminAsync();
            var rule = await again.GetAsync("/v1/admin/rules/legal");
            Assert.Equal(1, rule!["matches"]!.GetValue<int>());
            Assert.Single(rule["rooms"]!.AsArray());
            var search = await again.GetAsync("/v1/directory/search?q=leg&field=department");
            Assert.Equal("persist", Assert.Single(search!["users"]!.AsArray())!["username"]!.GetValue<string>());
            // The first admin, created before the directory loaded, was backfilled into the index.
            Assert.Single((await again.GetAsync("/v1/directory/search?q=administrator"))!["users"]!.AsArray());
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
