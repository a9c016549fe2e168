using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using TeamComms.Client;
using TeamComms.Crypto.Age;
using TeamComms.Protocol;
using TeamComms.Tests.Infrastructure;
using TeamComms.Tests.Workplace;

namespace TeamComms.Tests.AdminConsole;

/// <summary>The server features the admin console needs: last login, user filters and paging, rule preview, figures, sections.</summary>
public class AdminConsoleApiTests
{
    private static readonly DateTimeOffset s_start = DateTimeOffset.Parse("2026-11-28T09:00:00Z", CultureInfo.InvariantCulture);

    private static List<string> Ids(JsonObject? page) => [.. page!["users"]!.AsArray().Select(u => u!["user_id"]!.GetValue<string>())];

    private static JsonObject Row(JsonObject? page, string userId) =>
        page!["users"]!.AsArray().Single(u => u!["user_id"]!.GetValue<string>() == userId)!.AsObject();

    [Fact]
    public async Task LastLogin_LoginAndSessionResume_RecordedOncePerMinute_AndFiltered()
    {
        var clock = new FakeTimeProvider(s_start);
        await using var server = await TestServer.StartAsync(time: clock);
        using var admin = await server.AdminAsync();
        var created = await admin.PostAsync("/v1/admin/users", new JsonObject { ["username"] = "ll-never", ["display_name"] = "Never Seen", ["password"] = "password-never" });
        var never = created!["user"]!["user_id"]!.GetValue<string>();
        var seen = await server.CreateProfiledUserAsync("ll-seen");

        var all = await admin.GetAsync("/v1/admin/users?q=ll-");
        Assert.Null(Row(all, never)["last_login_at"]);
        Assert.Equal(s_start.ToUnixTimeMilliseconds(), Row(all, seen.UserId)["last_login_at"]!.GetValue<long>());
        Assert.Equal([never], Ids(await admin.GetAsync("/v1/admin/users?q=ll-&never_logged_in=true")));

        // A WebSocket session resume counts as signing in, at most once a minute.
        clock.Advance(TimeSpan.FromMinutes(5));
        await using (await seen.ConnectAsync())
        {
        }
        var resumedAt = s_start.AddMinutes(5).ToUnixTimeMilliseconds();
        Assert.Equal(resumedAt, Row(await admin.GetAsync("/v1/admin/users?q=ll-seen"), seen.UserId)["last_login_at"]!.GetValue<long>());
        clock.Advance(TimeSpan.FromSeconds(30));
        await using (await seen.ConnectAsync())
        {
        }
        Assert.Equal(resumedAt, Row(await admin.GetAsync("/v1/admin/users?q=ll-seen"), seen.UserId)["last_login_at"]!.GetValue<long>());
        clock.Advance(TimeSpan.FromSeconds(31));
        await using (await seen.ConnectAsync())
        {
        }
        Assert.Equal(resumedAt + 61_000, Row(await admin.GetAsync("/v1/admin/users?q=ll-seen"), seen.UserId)["last_login_at"]!.GetValue<long>());

        // "Not seen since": users whose last login is before the time, and those never seen.
        var cutoff = Uri.EscapeDataString(s_start.AddMinutes(1).ToString("O", CultureInfo.InvariantCulture));
        Assert.Equal([never], Ids(await admin.GetAsync($"/v1/admin/users?q=ll-&last_login_before={cutoff}")));
        Assert.Equal([never, seen.UserId], Ids(await admin.GetAsync($"/v1/admin/users?q=ll-&last_login_before={resumedAt + 120_000}")));

        // The first login of the never-seen user is recorded too, and the filter drops them.
        using var http = server.Http();
        await http.LoginAsync("ll-never", "password-never", "laptop");
        Assert.Empty(Ids(await admin.GetAsync("/v1/admin/users?q=ll-&never_logged_in=true")));
    }

    [Fact]
    public async Task UserList_StatusSearchAndPaging_CoverEveryoneOnce()
    {
        await using var server = await TestServer.StartAsync();
        using var admin = await server.AdminAsync();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var u = await admin.PostAsync("/v1/admin/users", new JsonObject
            {
                ["username"] = $"pg-{i}", ["display_name"] = $"Pager {i}", ["department"] = i % 2 == 0 ? "Sales" : "Support",
            });
            ids.Add(u!["user"]!["user_id"]!.GetValue<string>());
        }
        await admin.PostAsync($"/v1/admin/users/{ids[1]}/deactivate", new JsonObject { ["reason"] = "left" });

        var pages = new List<List<string>>();
        string? next = null;
        do
        {
            var page = await admin.GetAsync($"/v1/admin/users?q=pager&limit=2{(next is null ? "" : "&after=" + next)}");
            pages.Add(Ids(page));
            next = page!["next"]?.ToString();
        }
        while (next is not null);
        Assert.Equal([2, 2, 1], pages.Select(p => p.Count));
        Assert.Equal(ids, pages.SelectMany(p => p));

        Assert.Equal([ids[1]], Ids(await admin.GetAsync("/v1/admin/users?q=pager&status=deactivated")));
        var deactivated = Row(await admin.GetAsync("/v1/admin/users?status=deactivated"), ids[1]);
        Assert.False(deactivated["active"]!.GetValue<bool>());
        Assert.NotNull(deactivated["deactivated_at"]);
        Assert.Equal([ids[0], ids[2], ids[3], ids[4]], Ids(await admin.GetAsync("/v1/admin/users?q=pager&status=active")));
        // Search reaches the directory profile (department), case-insensitively.
        Assert.Equal([ids[1], ids[3]], Ids(await admin.GetAsync("/v1/admin/users?q=SUPPORT")));
        Assert.Equal("Support", Row(await admin.GetAsync("/v1/admin/users?q=pg-3"), ids[3])["department"]!.GetValue<string>());

        var bad = await Assert.ThrowsAsync<TeamCommsException>(() => admin.GetAsync("/v1/admin/users?status=sleeping"));
        Assert.Equal((ErrorCode.BadRequest, 400), (bad.Code, bad.HttpStatus));
        Assert.Equal(ErrorCode.BadRequest, (await Assert.ThrowsAsync<TeamCommsException>(() => admin.GetAsync("/v1/admin/users?last_login_before=yesterday"))).Code);

        var detail = await admin.GetAsync($"/v1/admin/users/{ids[3]}");
        Assert.Equal("Pager 3", detail!["display_name"]!.GetValue<string>());
        Assert.Equal("Support", detail["profile"]!["department"]!.GetValue<string>());
    }

    [Fact]
    public async Task Roles_UserListFiguresAndSections_FollowTheCallersRole()
    {
        await using var server = await TestServer.StartAsync();
        using var admin = await server.AdminAsync();
        var hr = await server.CreateProfiledUserAsync("role-hr");
        var officer = await server.CreateProfiledUserAsync("role-sec");
        var auditor = await server.CreateProfiledUserAsync("role-comp");
        var plain = await server.CreateProfiledUserAsync("role-plain");
        await admin.PutAsync($"/v1/admin/users/{hr.UserId}/roles", new JsonObject { ["roles"] = new JsonArray("hr") });
        await admin.PutAsync($"/v1/admin/users/{officer.UserId}/roles", new JsonObject { ["roles"] = new JsonArray("security_officer") });
        await admin.PutAsync($"/v1/admin/users/{auditor.UserId}/roles", new JsonObject { ["roles"] = new JsonArray("compliance_officer") });

        using var hrHttp = hr.Http();
        using var secHttp = officer.Http();
        using var compHttp = auditor.Http();
        using var plainHttp = plain.Http();
        Assert.Contains(plain.UserId, Ids(await hrHttp.GetAsync("/v1/admin/users?q=role-plain")));
        Assert.Contains(plain.UserId, Ids(await secHttp.GetAsync("/v1/admin/users?q=role-plain")));
        Assert.NotEmpty((await secHttp.GetAsync($"/v1/admin/users/{plain.UserId}/sessions"))!["sessions"]!.AsArray());
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => hrHttp.GetAsync($"/v1/admin/users/{plain.UserId}/sessions"))).Code);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => compHttp.GetAsync("/v1/admin/users"))).Code);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => plainHttp.GetAsync("/v1/admin/users"))).Code);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => hrHttp.GetAsync("/v1/admin/figures"))).Code);
        Assert.NotNull((await secHttp.GetAsync("/v1/admin/figures"))!["connections"]);
        Assert.Equal(ErrorCode.Unauthenticated, (await Assert.ThrowsAsync<TeamCommsException>(() => server.Http().GetAsync("/v1/admin/console"))).Code);

        static List<string> Sections(JsonObject? console) => [.. console!["sections"]!.AsArray().Select(s => s!.GetValue<string>())];
        Assert.Equal(["users", "users.edit", "users.import", "roles", "incidents"], Sections(await hrHttp.GetAsync("/v1/admin/console")));
        Assert.Equal(["users", "users.devices", "audit", "approvals", "incidents.unseal", "figures"], Sections(await secHttp.GetAsync("/v1/admin/console")));
        Assert.Equal(["audit", "retention", "approvals", "exports"], Sections(await compHttp.GetAsync("/v1/admin/console")));
        Assert.Empty(Sections(await plainHttp.GetAsync("/v1/admin/console")));
        var adminSections = Sections(await admin.GetAsync("/v1/admin/console"));
        Assert.Contains("users.roles", adminSections);
        Assert.Contains("scim", adminSections);
        Assert.Contains("partners", adminSections);
    }

    [Fact]
    public async Task RulePreview_ListsMatchingPeople_WithoutSavingTheRule()
    {
        await using var server = await TestServer.StartAsync();
        using var admin = await server.AdminAsync();
        await server.CreateProfiledUserAsync("pv-ann", new JsonObject { ["display_name"] = "Ann", ["department"] = "Nursing", ["location"] = "Ward 3" });
        await server.CreateProfiledUserAsync("pv-bob", new JsonObject { ["display_name"] = "Bob", ["department"] = "Nursing", ["location"] = "Ward 5" });
        await server.CreateProfiledUserAsync("pv-cid", new JsonObject { ["display_name"] = "Cid", ["department"] = "Kitchen", ["location"] = "Ward 3" });

        var preview = await admin.PostAsync("/v1/admin/rules/preview", new JsonObject { ["expression"] = "department = \"Nursing\"" });
        Assert.Equal(2, preview!["count"]!.GetValue<int>());
        Assert.Equal(["Ann", "Bob"], preview["people"]!.AsArray().Select(p => p!["display_name"]!.GetValue<string>()));
        Assert.Equal(["department"], preview["attributes"]!.AsArray().Select(a => a!.GetValue<string>()));
        var limited = await admin.PostAsync("/v1/admin/rules/preview", new JsonObject { ["expression"] = "department = \"Nursing\" or location = \"Ward 3\"", ["limit"] = 1 });
        Assert.Equal((3, 1), (limited!["count"]!.GetValue<int>(), limited["people"]!.AsArray().Count));
        Assert.Empty((await admin.GetAsync("/v1/admin/rules"))!["rules"]!.AsArray());

        var invalid = await Assert.ThrowsAsync<TeamCommsException>(() => admin.PostAsync("/v1/admin/rules/preview", new JsonObject { ["expression"] = "department = " }));
        Assert.Equal(ErrorCode.InvalidRule, invalid.Code);
        var hr = await server.CreateProfiledUserAsync("pv-hr");
        await admin.PutAsync($"/v1/admin/users/{hr.UserId}/roles", new JsonObject { ["roles"] = new JsonArray("hr") });
        using var hrHttp = hr.Http();
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => hrHttp.PostAsync("/v1/admin/rules/preview", new JsonObject { ["expression"] = "department = \"Nursing\"" }))).Code);
    }

    [Fact]
    public async Task Figures_CountTheServer_AndShowBackupAndEscrowWithoutSecrets()
    {
        var clock = new FakeTimeProvider(s_start);
        using var escrow = AgeIdentity.Generate();
        var root = TempDirectory.Create("tc-figures");
        try
        {
            await using var server = await TestServer.StartAsync(new()
            {
                ["TeamComms:Keys:EscrowRecipient"] = escrow.Recipient.ToString(),
                ["TeamComms:Backup:Directory"] = Path.Combine(root, "backups"),
            }, clock);
            using var admin = await server.AdminAsync();
            var before = await admin.GetAsync("/v1/admin/figures");
            Assert.Equal(0, before!["backups"]!["count"]!.GetValue<int>());
            Assert.True(before["escrow"]!["configured"]!.GetValue<bool>());

            var user = await server.CreateUserAsync("fig-user");
            await using var conn = await user.ConnectAsync();
            var room = await conn.CreateRoomAsync("figures");
            for (var i = 0; i < 30; i++)
            {
                await conn.SendTextAsync(room, $"m{i}");
            }
            using var officer = await server.SecurityOfficerAsync(); // backups are a security officer's (issue 5b)
            await officer.CreateBackupAsync();
            clock.Advance(TimeSpan.FromSeconds(90));

            var figures = await admin.GetAsync("/v1/admin/figures");
            Assert.Equal(90, figures!["uptime_seconds"]!.GetValue<long>());
            Assert.Equal(1, figures["connections"]!.GetValue<int>());
            Assert.True(figures["rooms"]!["total"]!.GetValue<long>() >= 1);
            Assert.Equal(3, figures["users"]!["active"]!.GetValue<int>()); // the admin, the officer and fig-user
            var sent = figures["messages"]!["total"]!.GetValue<long>() - before["messages"]!["total"]!.GetValue<long>();
            Assert.True(sent >= 30, $"{sent} events appended");
            // The rate is over the last minute of samples: the first sample is 90 s old, so 60 s to 90 s are covered.
            Assert.InRange(figures["messages"]!["per_second"]!.GetValue<double>(), sent / 90.0 - 0.01, sent / 60.0 + 0.01);
            Assert.True(figures["storage"]!["database_bytes"]!.GetValue<long>() > 0);
            Assert.Equal(0, figures["queues"]!["evictions"]!.GetValue<long>());
            var last = figures["backups"]!["last"]!;
            Assert.Equal(1, figures["backups"]!["count"]!.GetValue<int>());
            Assert.EndsWith(".age", last["file"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal([escrow.Recipient.KeyId], figures["escrow"]!["recipients"]!.AsArray().Select(r => r!.GetValue<string>()));

            // Never a secret: not the escrow identity, the at-rest key file, the admin's token or a path to a key.
            var text = figures.ToJsonString();
            Assert.DoesNotContain(escrow.ToSecretString(), text, StringComparison.Ordinal);
            Assert.DoesNotContain("AGE-SECRET-KEY", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(admin.AccessToken!, text, StringComparison.Ordinal);
            Assert.DoesNotContain(server.DataDirectory, text, StringComparison.Ordinal);
            Assert.DoesNotContain("key_file", text, StringComparison.Ordinal);
        }
        finally
        {
            TempDirectory.Delete(root);
        }
    }

    [Fact]
    public async Task AdminAlerts_ListEveryAlert_ForAdminsOnly()
    {
        await using var server = await TestServer.StartAsync();
        using var admin = await server.AdminAsync();
        var hr = await server.CreateProfiledUserAsync("al-hr");
        var member = await server.CreateProfiledUserAsync("al-member");
        await admin.PutAsync($"/v1/admin/users/{hr.UserId}/roles", new JsonObject { ["roles"] = new JsonArray("hr") });
        await using var hrConn = await hr.ConnectAsync();
        await using var memberConn = await member.ConnectAsync();
        var room = await hrConn.CreateRoomAsync("Floor 3", invite: [member.UserId]);
        await memberConn.JoinAsync(room);
        var sent = await hrConn.CallMapAsync("alerts.send", new() { ["room"] = room, ["body"] = "Water leak on floor 3" });

        // GET /v1/alerts shows an admin only their own alerts; the console's dashboard shows every alert.
        var alerts = (await admin.GetAsync("/v1/admin/alerts"))!["alerts"]!.AsArray();
        var alert = Assert.Single(alerts)!;
        Assert.Equal(((string)sent["alert_id"]!, hr.UserId, room), (alert["alert_id"]!.GetValue<string>(), alert["sender"]!.GetValue<string>(), alert["room_id"]!.GetValue<string>()));
        var status = await admin.GetAsync($"/v1/alerts/{Uri.EscapeDataString((string)sent["alert_id"]!)}");
        Assert.Equal(1, status!["counts"]!["recipients"]!.GetValue<int>());
        using var hrHttp = hr.Http();
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => hrHttp.GetAsync("/v1/admin/alerts"))).Code);
        Assert.Contains("acks", (await admin.GetAsync("/v1/admin/console"))!["sections"]!.AsArray().Select(n => n!.GetValue<string>()));
    }
}
