using System.Text;
using System.Text.Json.Nodes;
using TeamComms.Client;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.CompanyDirectory;

public class CsvImportTests
{
    private static async Task<(int Status, JsonObject Body)> ImportAsync(TestServer server, string token, string csv, string query = "")
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseUrl, "/v1/admin/import/csv" + query));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        request.Content = new StringContent(csv, Encoding.UTF8, "text/csv");
        using var response = await http.SendAsync(request);
        return ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }

    [Fact]
    public async Task DryRun_ListsEveryChange_ThenTheRealRunAppliesIt()
    {
        await using var server = await TestServer.StartAsync();
        using var admin = await server.AdminAsync();
        await admin.PostAsync("/v1/admin/rules", new JsonObject { ["name"] = "sales", ["expression"] = "department = Sales" });
        var room = (await admin.PostAsync("/v1/admin/rooms", new JsonObject { ["name"] = "All Sales", ["rules"] = new JsonArray("sales") }))!["room_id"]!.GetValue<string>();
        const string csv = """
            username,display_name,email,title,department,location,manager,groups,time_zone,working_hours,custom.cost_center
            ana,"Ana Ruiz, MBA",ana@acme.example,VP Sales,Sales,Madrid,,Leadership;Sales EMEA,Europe/Madrid,mon-fri 09:00-18:00,4711
            ben,"Ben ""The Closer"" Ode",ben@acme.example,Account Executive,Sales,Berlin,ana,Sales EMEA,Europe/Berlin,,4712
            cy,Cy Park,cy@acme.example,Engineer,Engineering,Seoul,dee,,Asia/Seoul,,
            dee,Dee Lee,dee@acme.example,Engineering Manager,Engineering,Seoul,,,Asia/Seoul,,
            """;
        var (status, plan) = await ImportAsync(server, admin.AccessToken!, csv, "?dry_run=true");
        Assert.Equal(200, status);
        Assert.True(plan["dry_run"]!.GetValue<bool>());
        Assert.Equal(["ana@test.local", "ben@test.local", "cy@test.local", "dee@test.local"], plan["created"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(["Leadership", "Sales EMEA"], plan["groups_created"]!.AsArray().Select(n => n!.GetValue<string>()));
        var joins = plan["memberships"]!.AsArray().Select(m => (m!["room_name"]!.GetValue<string>(), m["user_id"]!.GetValue<string>(), m["change"]!.GetValue<string>())).ToList();
        Assert.Equal([("All Sales", "ana@test.local", "join"), ("All Sales", "ben@test.local", "join")], joins);
        // Nothing was applied.
        Assert.Null(server.Services.GetAccountStore().FindUser("ana@test.local"));
        Assert.Equal(1, server.Services.GetRoomRegistry().Find(room)!.View.State.JoinedCount);
        Assert.Empty((await admin.GetAsync("/v1/admin/groups"))!["groups"]!.AsArray());

        var (applied, result) = await ImportAsync(server, admin.AccessToken!, csv, "?setup_links=true");
        Assert.Equal(200, applied);
        Assert.Equal(2, result["membership_events"]!.GetValue<int>());
        var ben = await admin.GetAsync("/v1/directory/users/ben");
        Assert.Equal(("Ben \"The Closer\" Ode", "ana@test.local", "4712"),
            (ben!["display_name"]!.GetValue<string>(), ben["manager"]!.GetValue<string>(), ben["custom"]!["cost_center"]!.GetValue<string>()));
        Assert.Equal("dee@test.local", (await admin.GetAsync("/v1/directory/users/cy"))!["manager"]!.GetValue<string>());
        Assert.True(server.Services.GetRoomRegistry().Find(room)!.View.State.IsJoined("ben@test.local"));
        // Each new person got a one-time setup link.
        var links = result["setup_links"]!.AsArray();
        Assert.Equal(4, links.Count);
        var benLink = links.First(l => l!["user_id"]!.GetValue<string>() == "ben@test.local")!["setup_link"]!.GetValue<string>();
        using var http = server.Http();
        await http.CompleteSetupAsync(benLink[(benLink.IndexOf("#token=", StringComparison.Ordinal) + 7)..], "ben-password-1");
        await http.LoginAsync("ben", "ben-password-1");

        // A second import updates only what changed, and deactivates with active=false.
        var (_, update) = await ImportAsync(server, admin.AccessToken!, "username,department,active\nben,Marketing,\ncy,Engineering,false\n");
        Assert.Equal(["ben@test.local"], update["updated"]!.AsArray().Select(u => u!["user_id"]!.GetValue<string>()));
        Assert.Equal(["cy@test.local"], update["deactivated"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.False(server.Services.GetRoomRegistry().Find(room)!.View.State.IsJoined("ben@test.local"));
        Assert.False(server.Services.GetAccountStore().FindUser("cy@test.local")!.Active);
        Assert.Equal("Engineer", (await admin.GetAsync("/v1/directory/users/cy"))!["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task BadRows_AreListedByLine_AndNothingIsApplied()
    {
        await using var server = await TestServer.StartAsync();
        using var admin = await server.AdminAsync();
        var (status, body) = await ImportAsync(server, admin.AccessToken!, "username,display_name,salary\nx,X,100\n");
        Assert.Equal(400, status);
        Assert.Equal("bad_request", body["error"]!["code"]!.GetValue<string>());
        Assert.Equal(1, body["errors"]![0]!["line"]!.GetValue<int>());
        Assert.Contains("salary", body["errors"]![0]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        const string csv = """
            username,display_name,email,time_zone,active
            good,Good Person,good@acme.example,Europe/Paris,true
            bademail,Bad Email,not-an-email,,
            noname,,,,
            good,Good Again,,,
            weird,Weird,,Atlantis/Nowhere,maybe
            Bad Name,Bad Name,,,
            short,Short
            """;
        (status, body) = await ImportAsync(server, admin.AccessToken!, csv);
        Assert.Equal(400, status);
        var errors = body["errors"]!.AsArray().Select(e => (e!["line"]!.GetValue<int>(), e["message"]!.GetValue<string>())).ToList();
        Assert.Equal([3, 4, 5, 6, 7, 8], errors.Select(e => e.Item1));
        Assert.Contains("email", errors[0].Item2, StringComparison.Ordinal);
        Assert.Contains("display_name is required", errors[1].Item2, StringComparison.Ordinal);
        Assert.Contains("earlier line", errors[2].Item2, StringComparison.Ordinal);
        Assert.Contains("has 2 fields", errors[5].Item2, StringComparison.Ordinal);
        Assert.Null(server.Services.GetAccountStore().FindUser("good@test.local"));

        (status, body) = await ImportAsync(server, admin.AccessToken!, "username,display_name\n\"unclosed,X\n");
        Assert.Equal(400, status);
        Assert.Contains("not closed", body["errors"]![0]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        // HR imports people but not roles.
        var hr = await server.CreateProfiledUserAsync("hr-importer");
        await admin.PutAsync($"/v1/admin/users/{hr.UserId}/roles", new JsonObject { ["roles"] = new JsonArray("hr") });
        (status, body) = await ImportAsync(server, hr.Token, "username,display_name,roles\nsneaky,Sneaky,admin\n");
        Assert.Equal(400, status);
        Assert.Contains("roles", body["errors"]![0]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        (status, _) = await ImportAsync(server, hr.Token, "username,display_name\nhired,Newly Hired\n");
        Assert.Equal(200, status);
        var plain = await server.CreateUserAsync();
        using var client = new HttpClient();
        (status, body) = await ImportAsync(server, plain.Token, "username,display_name\nx,X\n");
        Assert.Equal((403, "forbidden"), (status, body["error"]!["code"]!.GetValue<string>()));
    }

    [Fact]
    public async Task DeactivateMissing_OffboardsEveryoneNotInTheFile()
    {
        await using var server = await TestServer.StartAsync();
        using var admin = await server.AdminAsync();
        var stays = await server.CreateProfiledUserAsync("stays");
        var leaves = await server.CreateProfiledUserAsync("leaves");
        await using var conn = await leaves.ConnectAsync(new ClientOptions { AutoReconnect = false });
        var (status, body) = await ImportAsync(server, admin.AccessToken!, "username,display_name\nstays,Stays\n", "?deactivate_missing=true");
        Assert.Equal(200, status);
        Assert.Equal(["leaves@test.local"], body["deactivated"]!.AsArray().Select(n => n!.GetValue<string>()));
        await conn.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(TeamComms.Protocol.CloseCode.Wiped, conn.CloseCode);
        Assert.True(server.Services.GetAccountStore().FindUser(stays.UserId)!.Active);
        Assert.True(server.Services.GetAccountStore().FindUser("admin@test.local")!.Active);
    }
}
