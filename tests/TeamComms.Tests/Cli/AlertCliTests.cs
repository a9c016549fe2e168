using TeamComms.Tests.Infrastructure;
using TeamComms.Tests.Workplace;

namespace TeamComms.Tests.Cli;

/// <summary><c>teamcomms alerts …</c> of the real executable against a real server: send, the acknowledgement view, its CSV export.</summary>
public class AlertCliTests
{
    private static Task<(int Code, string Out, string Err)> RunAsync(string config, string? stdin, params string[] args) => CliRunner.RunAsync(config, stdin, args);

    [Fact]
    public async Task Cli_SendsAnUrgentMessage_ShowsTheAcknowledgementView_AndExportsCsv()
    {
        await using var server = await TestServer.StartAsync();
        var hr = await server.PersonAsync("cli-hr", roles: ["hr"]);
        var bob = await server.PersonAsync("cli-bob");
        var carol = await server.PersonAsync("cli-carol");
        await using var hrConn = await hr.ConnectAsync();
        var room = await hrConn.CreateRoomAsync("Site", invite: [bob.UserId, carol.UserId]);
        await using var bobConn = await bob.ConnectAsync();
        await using var carolConn = await carol.ConnectAsync();
        await bobConn.JoinAsync(room);
        await carolConn.JoinAsync(room);
        var dir = TempDirectory.Create("tc-cli-alerts");
        try
        {
            var config = Path.Combine(dir, "hr.json");
            var login = await RunAsync(config, "password-cli-hr", "login", "--server", server.BaseUrl.ToString(), "--user", "cli-hr", "--password-stdin");
            Assert.True(login.Code == 0, login.Err);

            var noTarget = await RunAsync(config, null, "alerts", "send", "--body", "x");
            Assert.Equal(1, noTarget.Code);
            Assert.Contains("exactly one of", noTarget.Err, StringComparison.Ordinal);

            var sent = await RunAsync(config, null, "alerts", "send", "--room", room, "--body", "Power cut: use the stairs");
            Assert.True(sent.Code == 0, sent.Err);
            var alertId = sent.Out.Split('\t')[0];
            Assert.StartsWith("a", alertId, StringComparison.Ordinal);
            Assert.EndsWith("2 recipients", sent.Out, StringComparison.Ordinal);
            await bobConn.CallAsync("alerts.ack", new Dictionary<string, object?> { ["alert"] = alertId });

            var view = await RunAsync(config, null, "alerts", "status", alertId);
            Assert.True(view.Code == 0, view.Err);
            Assert.Contains("acknowledged 1/2", view.Out, StringComparison.Ordinal);
            Assert.Contains(view.Out.Split('\n'), l => l.StartsWith(bob.UserId + "\tacknowledged", StringComparison.Ordinal));

            var csvPath = Path.Combine(dir, "ack.csv");
            var export = await RunAsync(config, null, "alerts", "status", alertId, "--csv", "--output", csvPath);
            Assert.True(export.Code == 0, export.Err);
            var lines = (await File.ReadAllLinesAsync(csvPath)).Where(l => l.Length > 0).ToList();
            Assert.Equal("user,display_name,status,acknowledged_at,read_at,delivered_at,reminders,escalated_at,escalated_to", lines[0]);
            Assert.Equal(3, lines.Count);
            Assert.Contains(lines, l => l.StartsWith($"{bob.UserId},CLI-BOB,acknowledged,", StringComparison.Ordinal));

            var missing = await RunAsync(config, null, "alerts", "status", "a999");
            Assert.Equal(1, missing.Code);
            Assert.Contains("not_found", missing.Err, StringComparison.Ordinal);
        }
        finally
        {
            TempDirectory.Delete(dir);
        }
    }
}
