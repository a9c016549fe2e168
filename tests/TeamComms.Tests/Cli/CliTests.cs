using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Cli;

/// <summary>Drives the real <c>teamcomms</c> executable against a real server, as a user would.</summary>
public class CliTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private TestServer Server => shared.Server;

    private static Task<(int Code, string Out, string Err)> RunAsync(string config, string? stdin, params string[] args) => CliRunner.RunAsync(config, stdin, args);

    [Fact]
    public async Task Cli_AdminCreatesUsers_TwoUsersChatAndTail()
    {
        var dir = TempDirectory.Create("tc-cli");
        try
        {
            var admin = Path.Combine(dir, "admin.json");
            var alice = Path.Combine(dir, "alice.json");
            var bob = Path.Combine(dir, "bob.json");
            var server = Server.BaseUrl.ToString();
            Assert.Equal(0, (await RunAsync(admin, TestServer.AdminPassword, "login", "--server", server, "--user", "admin", "--password-stdin")).Code);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(admin));
            }
            var create = await RunAsync(admin, "alice-password", "admin", "users", "create", "clialice", "--display-name", "Alice", "--password-stdin");
            Assert.Equal((0, "clialice@test.local"), (create.Code, create.Out));
            Assert.Equal(0, (await RunAsync(admin, "bob-password", "admin", "users", "create", "clibob", "--display-name", "Bob", "--password-stdin")).Code);
            var list = await RunAsync(admin, null, "admin", "users", "list");
            Assert.Contains("clibob@test.local", list.Out, StringComparison.Ordinal);

            Assert.Equal(0, (await RunAsync(alice, "alice-password", "login", "--server", server, "--user", "clialice", "--password-stdin")).Code);
            Assert.Equal(0, (await RunAsync(bob, "bob-password", "login", "--server", server, "--user", "clibob", "--password-stdin")).Code);
            var room = (await RunAsync(alice, null, "rooms", "create", "cli room", "--topic", "from the shell")).Out;
            Assert.StartsWith("!", room, StringComparison.Ordinal);
            Assert.Equal(0, (await RunAsync(alice, null, "rooms", "invite", room, "clibob@test.local")).Code);
            Assert.Contains("invite", (await RunAsync(bob, null, "rooms", "list")).Out, StringComparison.Ordinal);
            Assert.Equal(0, (await RunAsync(bob, null, "rooms", "join", room)).Code);

            // Bob tails the room live while Alice sends.
            var tail = RunAsync(bob, null, "tail", room, "--count", "2");
            var sent = false;
            for (var i = 0; i < 100 && !tail.IsCompleted; i++)
            {
                // Send until the tail has printed two messages (the tail may connect after the first send).
                var r = await RunAsync(alice, null, "send", room, $"hello from the cli {i}");
                Assert.Equal(0, r.Code);
                sent = true;
                await Task.WhenAny(tail, Task.Delay(200));
            }
            Assert.True(sent);
            var tailed = await tail;
            Assert.Equal(0, tailed.Code);
            Assert.Equal(2, tailed.Out.Split('\n').Count(l => l.Contains("clialice@test.local: hello from the cli", StringComparison.Ordinal)));

            var history = await RunAsync(bob, null, "history", room, "--limit", "50");
            Assert.Contains("hello from the cli 0", history.Out, StringComparison.Ordinal);
            var json = await RunAsync(bob, null, "send", room, "as json", "--json");
            Assert.Contains("\"seq\":", json.Out, StringComparison.Ordinal);

            var forbidden = await RunAsync(bob, "x-password", "admin", "users", "create", "mallory", "--display-name", "M", "--password-stdin");
            Assert.Equal(1, forbidden.Code);
            Assert.Contains("error: forbidden", forbidden.Err, StringComparison.Ordinal);

            Assert.Equal(0, (await RunAsync(bob, null, "logout")).Code);
            var after = await RunAsync(bob, null, "rooms", "list");
            Assert.Equal(1, after.Code);
            Assert.Contains("not logged in", after.Err, StringComparison.Ordinal);
        }
        finally
        {
            TempDirectory.Delete(dir);
        }
    }
}
