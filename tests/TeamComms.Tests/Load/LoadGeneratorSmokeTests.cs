using System.Diagnostics;
using System.Text.Json.Nodes;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Load;

/// <summary>
/// Runs the real load generator (bench/TeamComms.Load) for a few seconds against a server it starts as a separate
/// process. Correctness only: every event is delivered exactly once and in order to every member. No timing is
/// asserted; speed is measured in bench/ and recorded in docs/benchmarks.md.
/// </summary>
public class LoadGeneratorSmokeTests
{
    [Fact]
    public async Task LoadGenerator_MaximumRate_EveryEventDeliveredExactlyOnceInOrder()
    {
        var result = await RunAsync("--room-size", "20", "--rooms", "3", "--payload", "64", "--seconds", "2", "--warmup", "0.5", "--json");
        AssertExactlyOnceInOrder(result, members: 60);
    }

    [Fact]
    public async Task LoadGenerator_OfferedRateSyncOff_EveryEventDeliveredExactlyOnceInOrder()
    {
        var result = await RunAsync("--room-size", "10", "--rooms", "5", "--payload", "1024", "--seconds", "2", "--warmup", "0.5",
            "--rate", "200", "--sync", "off", "--json");
        AssertExactlyOnceInOrder(result, members: 50);
        Assert.Equal(200, (double)result["offered_messages_per_s"]!);
    }

    [Fact]
    public async Task LoadGenerator_Resume_EveryMissedEventArrivesOnceInOrder()
    {
        var result = await RunAsync("--resume-rooms", "20", "--resume-missed", "10", "--json");
        Assert.Equal(200, (long)result["resume_events"]!);
        Assert.Equal(0, (long)result["lost"]!);
        Assert.Equal(0, (long)result["duplicated"]!);
        Assert.Equal(0, (long)result["out_of_order"]!);
    }

    private static void AssertExactlyOnceInOrder(JsonObject result, int members)
    {
        Assert.Equal(members, (int)result["connections"]!);
        Assert.True((double)result["messages_per_s"]! > 0, "nothing was sent");
        Assert.True((double)result["deliveries_per_s"]! > 0, "nothing was delivered");
        Assert.Equal(0, (long)result["send_errors"]!);
        Assert.Equal(0, (long)result["lost"]!);
        Assert.Equal(0, (long)result["duplicated"]!);
        Assert.Equal(0, (long)result["out_of_order"]!);
        Assert.Equal(0, (long)result["evicted"]!);
    }

    private static async Task<JsonObject> RunAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "TeamComms.Load.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["DOTNET_gcServer"] = "0";
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        var output = await stdout;
        Assert.True(process.ExitCode == 0, $"load generator exited {process.ExitCode}: {await stderr}\n{output}");
        var line = output.Split('\n').Last(l => l.StartsWith('{'));
        return (JsonObject)JsonNode.Parse(line)!;
    }
}
