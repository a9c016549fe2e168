using Microsoft.Extensions.DependencyInjection;
using TeamComms.Server.Hosting;
using TeamComms.Server.Storage;

namespace TeamComms.Benchmarks;

/// <summary>
/// Runs the real server (the same <see cref="TeamCommsApp.Build"/> as <c>TeamComms.Server.dll</c>) with encryption
/// at rest on or off, for the load generator's with/without comparison (docs/benchmarks.md, "Durable throughput
/// for rooms of 2"). The server binary itself cannot store plaintext: the switch is internal and reachable only from
/// this benchmark assembly. Start it through the load generator:
/// <c>--server-dll …/TeamComms.Benchmarks.dll --server-setting TEAMCOMMS_BENCH_SERVE=plaintext</c> (or <c>encrypted</c>).
/// </summary>
internal static class AtRestServe
{
    public const string Variable = "TEAMCOMMS_BENCH_SERVE";

    public static async Task<int> RunAsync(string[] args, string mode)
    {
        var plaintext = mode switch
        {
            "plaintext" => true,
            "encrypted" => false,
            _ => throw new ArgumentException($"{Variable} is 'encrypted' or 'plaintext', not '{mode}'"),
        };
        var app = TeamCommsApp.Build(args, b =>
        {
            if (plaintext)
            {
                b.Services.PostConfigure<StorageOptions>(o => o.DisableEncryptionForTests = true);
            }
        });
        Console.WriteLine($"at-rest benchmark host: encryption at rest {(plaintext ? "OFF (plaintext store)" : "on")}");
        await app.RunAsync();
        return 0;
    }
}
