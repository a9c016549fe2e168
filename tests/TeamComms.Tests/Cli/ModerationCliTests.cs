using TeamComms.Client;
using TeamComms.Tests.Infrastructure;
using TeamComms.Tests.Workplace;

namespace TeamComms.Tests.Cli;

/// <summary>The moderation queue, legal hold and retention commands of the real <c>teamcomms</c> executable against a real server.</summary>
public class ModerationCliTests
{
    private static Task<(int Code, string Out, string Err)> RunAsync(string config, string? stdin, params string[] args) => CliRunner.RunAsync(config, stdin, args);

    [Fact]
    public async Task Cli_WorksThroughTheModerationQueue_HoldsAndRetention()
    {
        await using var server = await TestServer.StartAsync();
        var dir = TempDirectory.Create("tc-cli-mod");
        try
        {
            var alice = await server.CreateUserAsync();
            var bob = await server.CreateUserAsync();
            await using var a = await alice.ConnectAsync();
            await using var b = await bob.ConnectAsync();
            var room = await WorkplaceKit.RoomWithAsync(a, [(b, bob)]);
            var bad = await b.SendTextAsync(room, "rude words");
            await a.ReportAsync(room, bad.EventId, "insulting a colleague");

            var admin = Path.Combine(dir, "admin.json");
            Assert.Equal(0, (await RunAsync(admin, TestServer.AdminPassword, "login", "--server", server.BaseUrl.ToString(), "--user", "admin", "--password-stdin")).Code);
            var reports = await RunAsync(admin, null, "admin", "moderation", "reports");
            Assert.True(reports.Code == 0, reports.Err);
            var line = Assert.Single(reports.Out.Split('\n'));
            Assert.Contains("insulting a colleague", line, StringComparison.Ordinal);
            Assert.Contains("rude words", line, StringComparison.Ordinal);
            var id = line.Split('\t')[0];

            var resolved = await RunAsync(admin, null, "admin", "moderation", "resolve", id, "--action", "redact", "--note", "warned");
            Assert.True(resolved.Code == 0, resolved.Err);
            Assert.Null((await WorkplaceKit.EventAsync(a, room, bad.Seq)).Content);
            Assert.Empty((await RunAsync(admin, null, "admin", "moderation", "reports")).Out);
            var again = await RunAsync(admin, null, "admin", "moderation", "resolve", id, "--action", "dismiss");
            Assert.Equal(1, again.Code);
            Assert.Contains("conflict", again.Err, StringComparison.Ordinal);

            var refused = await RunAsync(admin, null, "admin", "legal-hold", "create", "--kind", "planet", "--target", bob.UserId, "--reason", "m");
            Assert.Equal(1, refused.Code);
            Assert.Contains("bad_request", refused.Err, StringComparison.Ordinal);
            var created = await RunAsync(admin, null, "admin", "legal-hold", "create", "--kind", "user", "--target", bob.UserId, "--reason", "matter 7");
            Assert.True(created.Code == 0, created.Err);
            var list = await RunAsync(admin, null, "admin", "legal-hold", "list");
            Assert.Contains($"user\t{bob.UserId}\tactive\tmatter 7", list.Out, StringComparison.Ordinal);
            var holdId = list.Out.Split('\t')[0];
            Assert.Equal(0, (await RunAsync(admin, null, "admin", "legal-hold", "release", holdId)).Code);
            Assert.Contains("released", (await RunAsync(admin, null, "admin", "legal-hold", "list")).Out, StringComparison.Ordinal);

            var set = await RunAsync(admin, null, "admin", "retention", "set", room, "30");
            Assert.True(set.Code == 0, set.Err);
            Assert.Equal(30L, (long)(await a.RoomSettingsAsync(room))["retention_days"]!);
            var run = await RunAsync(admin, null, "admin", "retention", "run");
            Assert.True(run.Code == 0, run.Err);
            Assert.Contains("retention run done", run.Out, StringComparison.Ordinal);
        }
        finally
        {
            TempDirectory.Delete(dir);
        }
    }
}
