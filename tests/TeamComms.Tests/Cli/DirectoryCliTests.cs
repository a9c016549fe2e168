using Microsoft.Extensions.DependencyInjection;
using TeamComms.Server.Storage;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Cli;

/// <summary>The directory, provisioning and audit commands of the real <c>teamcomms</c> executable against a real server.</summary>
public class DirectoryCliTests
{
    private static Task<(int Code, string Out, string Err)> RunAsync(string config, string? stdin, params string[] args) => CliRunner.RunAsync(config, stdin, args);

    [Fact]
    public async Task Cli_ImportSearchRulesOffboardAndVerifyTheAuditLog()
    {
        await using var server = await TestServer.StartAsync();
        var dir = TempDirectory.Create("tc-cli-dir");
        try
        {
            var admin = Path.Combine(dir, "admin.json");
            Assert.Equal(0, (await RunAsync(admin, TestServer.AdminPassword, "login", "--server", server.BaseUrl.ToString(), "--user", "admin", "--password-stdin")).Code);
            var csv = Path.Combine(dir, "people.csv");
            await File.WriteAllTextAsync(csv, "username,display_name,department,title\nola,Ola Nordmann,Sales,Account Manager\npia,Pia Berg,Support,Support Lead\n");

            var dry = await RunAsync(admin, null, "admin", "import", csv, "--dry-run");
            Assert.True(dry.Code == 0, dry.Err);
            Assert.Contains("would create 2", dry.Out, StringComparison.Ordinal);
            Assert.Null(server.Services.GetAccountStore().FindUser("ola@test.local"));

            var links = Path.Combine(dir, "links.csv");
            var applied = await RunAsync(admin, null, "admin", "import", csv, "--setup-links", links);
            Assert.True(applied.Code == 0, applied.Err);
            Assert.Equal(3, (await File.ReadAllLinesAsync(links)).Length);

            var bad = Path.Combine(dir, "bad.csv");
            await File.WriteAllTextAsync(bad, "username,display_name,email\nrex,Rex,not-an-email\n");
            var refused = await RunAsync(admin, null, "admin", "import", bad);
            Assert.Equal(1, refused.Code);
            Assert.Contains("line 2: email is not an email address", refused.Err, StringComparison.Ordinal);

            var search = await RunAsync(admin, null, "directory", "search", "SAL", "--field", "department");
            Assert.StartsWith("ola@test.local\tOla Nordmann\tAccount Manager\tSales", search.Out, StringComparison.Ordinal);

            Assert.Equal(0, (await RunAsync(admin, null, "admin", "rules", "create", "sales", "department = Sales")).Code);
            var room = await RunAsync(admin, null, "admin", "rooms", "create", "Sales", "--rule", "sales");
            Assert.True(room.Code == 0, room.Err);
            Assert.True(server.Services.GetRoomRegistry().Find(room.Out)!.View.State.IsJoined("ola@test.local"));
            var badRule = await RunAsync(admin, null, "admin", "rules", "create", "broken", "department = ");
            Assert.Equal(1, badRule.Code);
            Assert.Contains("invalid_rule: rule syntax error at column 14", badRule.Err, StringComparison.Ordinal);

            var off = await RunAsync(admin, null, "admin", "users", "deactivate", "ola", "--reason", "moved on");
            Assert.True(off.Code == 0, off.Err);
            Assert.Contains("1 room membership(s) ended", off.Out, StringComparison.Ordinal);
            var audit = await RunAsync(admin, null, "admin", "audit", "list", "--action", "user.");
            Assert.Contains("user.deactivate\tola@test.local\treason=moved on", audit.Out, StringComparison.Ordinal);

            Assert.Equal(0, (await RunAsync(admin, null, "admin", "audit", "sign")).Code);
            var ok = await RunAsync(admin, null, "admin", "audit", "verify");
            Assert.True(ok.Code == 0, ok.Out + ok.Err);
            Assert.Contains("OK: the audit log is intact", ok.Out, StringComparison.Ordinal);

            // Someone with access to the disk edits an entry: the CLI, checking on its own, notices.
            var store = server.Services.GetRequiredService<AuditStore>();
            var record = store.Get(2)!;
            store.PutRaw(2, DirectoryJson.Encode(record with { Target = "someone-else@test.local" }));
            var tampered = await RunAsync(admin, null, "admin", "audit", "verify");
            Assert.Equal(1, tampered.Code);
            Assert.Contains("PROBLEM edited at 2", tampered.Out, StringComparison.Ordinal);
            Assert.Contains("FAILED", tampered.Out, StringComparison.Ordinal);
        }
        finally
        {
            TempDirectory.Delete(dir);
        }
    }
}
