using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Metrics;

// OpenTelemetry's MeterProvider listens to every Meter named "TeamComms.Server" in the process, so other test servers
// running in parallel in this process could show up in this server's /metrics and make the exact values flaky. These
// tests run alone, after the parallel ones.
[Collection("metrics")]
public class MetricsEndpointTests
{
    [Fact]
    public async Task Metrics_AfterTraffic_ServesEveryOperatorMetricInPrometheusText()
    {
        await using var server = await TestServer.StartAsync();
        var alice = await server.CreateUserAsync();
        var bob = await server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await using var collector = new EventCollector(b);
        var room = await a.CreateRoomAsync("metrics", invite: [bob.UserId]);
        await b.JoinAsync(room);
        // Two messages, each awaited at the receiver: the writer records a write's durable->written time before it
        // makes its next write, so by the time the second arrives the first has been recorded.
        await a.SendTextAsync(room, "one");
        await collector.WaitForMessagesAsync(room, 1);
        await a.SendTextAsync(room, "two");
        await collector.WaitForMessagesAsync(room, 2);

        using var http = new HttpClient { BaseAddress = server.BaseUrl };
        using var response = await http.GetAsync("/metrics");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        var text = await response.Content.ReadAsStringAsync();

        foreach (var name in new[]
        {
            "teamcomms_connections",
            "teamcomms_messages_in_total",
            "teamcomms_deliveries_total",
            "teamcomms_evictions_total",
            "teamcomms_socket_writes_total",
            "teamcomms_commit_batch_size_bucket",
            "teamcomms_commit_duration_milliseconds_bucket",
            "teamcomms_connection_queue_bytes_bucket",
            "teamcomms_send_to_durable_milliseconds_bucket",
            "teamcomms_durable_to_written_milliseconds_bucket",
        })
        {
            Assert.Contains("\n" + name, text, StringComparison.Ordinal);
        }
        Assert.Matches(@"\nteamcomms_connections(\{[^}]*\})? 2(\.0+)?\b", text);
        Assert.Matches(@"\nteamcomms_evictions_total(\{[^}]*\})? 0\b", text);
        // Two messages plus the room's own events (create, joins, name): at least 2 appended, at least 4 delivered.
        Assert.True(Value(text, "teamcomms_messages_in_total") >= 2);
        Assert.True(Value(text, "teamcomms_deliveries_total") >= 4);
        Assert.Equal(EventTypes.Message, collector.InRoom(room)[^1].Type);
    }

    [Fact]
    public async Task Metrics_Disabled_NotServed()
    {
        await using var server = await TestServer.StartAsync(new() { ["TeamComms:Metrics:Enabled"] = "false" });
        using var http = new HttpClient { BaseAddress = server.BaseUrl };
        using var response = await http.GetAsync("/metrics");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
    }

    private static double Value(string text, string name)
    {
        var m = System.Text.RegularExpressions.Regex.Match(text, @"\n" + name + @"(\{[^}]*\})? ([0-9.eE+-]+)");
        Assert.True(m.Success, name + " has no sample");
        return double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}

[CollectionDefinition("metrics", DisableParallelization = true)]
public sealed class MetricsCollection;
