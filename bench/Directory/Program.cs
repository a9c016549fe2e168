using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TeamComms.Client;
using TeamComms.Server.Hosting;

// The two provisioning workloads of docs/benchmarks.md, against the real server (in this process, real HTTP,
// real RocksDB with synced writes):
//   1. a CSV import of N employees (default 10,000) into a directory with R rule-bound rooms (default 200);
//   2. a department change of M of them (default 1,000), recomputed incrementally.
// Usage: dotnet run -c Release --project bench/Directory [-- --employees 10000 --rooms 200 --movers 1000]
var employees = Arg("--employees", 10_000);
var roomCount = Arg("--rooms", 200);
var movers = Arg("--movers", 1_000);
const int Locations = 4;
var departments = roomCount / Locations;

var data = Path.Combine(Path.GetTempPath(), "tc-dirbench-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(data);
var app = TeamCommsApp.Build(
[
    "--urls", "http://127.0.0.1:0", "--data", data,
    "--TeamComms:ServerName=bench.local",
    "--TeamComms:Accounts:BootstrapPassword=bench-admin-password",
    "--TeamComms:Storage:MinFreeBytes=0",
], b => b.Logging.ClearProviders());
await app.StartAsync();
try
{
    var baseUrl = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    using var httpClient = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
    using var admin = new TeamCommsHttpClient(baseUrl, httpClient);
    await admin.LoginAsync("admin", "bench-admin-password", "bench");

    // 200 rooms, each bound to a rule "department = Dxx and location = Ly": every employee belongs to exactly one.
    var setup = Stopwatch.StartNew();
    for (var d = 0; d < departments; d++)
    {
        for (var l = 0; l < Locations; l++)
        {
            var rule = $"r-d{d}-l{l}";
            await admin.SendAsync(HttpMethod.Post, "/v1/admin/rules", new JsonObject { ["name"] = rule, ["expression"] = $"department = D{d} and location = L{l}" });
            await admin.SendAsync(HttpMethod.Post, "/v1/admin/rooms", new JsonObject { ["name"] = $"D{d} L{l}", ["rules"] = new JsonArray(rule) });
        }
    }
    Console.WriteLine($"setup: {departments * Locations} rules and rule-bound rooms in {setup.Elapsed.TotalSeconds:F1} s");

    var csv = new StringBuilder("username,display_name,email,title,department,location\n");
    for (var i = 0; i < employees; i++)
    {
        csv.Append(CultureInfo.InvariantCulture, $"e{i},Employee {i},e{i}@bench.example,Engineer {i % 7},D{i % departments},L{i / departments % Locations}\n");
    }
    var text = csv.ToString();

    await admin.ImportCsvAsync(text, dryRun: true); // warm-up: the first run of this code path is JIT-compiled
    var dry = await Timed(() => admin.ImportCsvAsync(text, dryRun: true));
    Report($"CSV import dry run, {employees} employees", dry.Result, dry.Elapsed);
    var import = await Timed(() => admin.ImportCsvAsync(text, dryRun: false));
    Report($"CSV import, {employees} employees, {departments * Locations} rule-bound rooms", import.Result, import.Elapsed);

    // M employees change department: each leaves one room and joins another.
    var move = new StringBuilder("username,department\n");
    for (var i = 0; i < movers; i++)
    {
        move.Append(CultureInfo.InvariantCulture, $"e{i},D{(i + 1) % departments}\n");
    }
    var change = await Timed(() => admin.ImportCsvAsync(move.ToString(), dryRun: false));
    Report($"department change of {movers} employees", change.Result, change.Elapsed);
    Console.WriteLine($"a full rebuild would evaluate every rule for everyone: {employees} x {departments * Locations} = {(long)employees * departments * Locations:N0} evaluations");
}
finally
{
    await app.StopAsync();
    await app.DisposeAsync();
    Directory.Delete(data, recursive: true);
}

static void Report(string what, JsonObject result, TimeSpan elapsed)
{
    var stats = result["stats"]!;
    Console.WriteLine($"{what}: {elapsed.TotalMilliseconds:F0} ms end to end (server {stats["elapsed_ms"]} ms); " +
        $"created {result["created"]!.AsArray().Count}, updated {result["updated"]!.AsArray().Count}, " +
        $"membership events {result["membership_events"]}{(result["memberships"] is JsonArray m ? $" (previewed {m.Count})" : "")}, " +
        $"rule evaluations {stats["rule_evaluations"]:N0}, rooms touched {stats["rooms_touched"]}");
}

static async Task<(T Result, TimeSpan Elapsed)> Timed<T>(Func<Task<T>> action)
{
    var watch = Stopwatch.StartNew();
    var result = await action();
    return (result, watch.Elapsed);
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
