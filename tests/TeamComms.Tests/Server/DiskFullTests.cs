using System.Diagnostics;
using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Server;

/// <summary>
/// A real full disk: the data directory lives on a small tmpfs, a ballast file fills it, sends fail with
/// storage_full, nothing acknowledged is lost, and sends work again once the ballast is gone. Mounting needs root
/// (the CI and ./test.sh run as root).
/// </summary>
[Collection("processes")]
public class DiskFullTests
{
    [Fact]
    public async Task FullDisk_SendsFailCleanly_AndRecoverWhenSpaceReturns()
    {
        var mount = TempDirectory.Create("tc-tmpfs");
        Run("mount", $"-t tmpfs -o size=256m tmpfs {mount}");
        try
        {
            var data = Path.Combine(mount, "data");
            var ballast = Path.Combine(mount, "ballast");
            var server = await TestServer.StartAsync(new() { ["TeamComms:Storage:MinFreeBytes"] = (48L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture) }, dataDirectory: data);
            var alice = await server.CreateUserAsync("alice");
            string room;
            var acked = new List<string>();
            await using (var a = await alice.ConnectAsync())
            {
                room = await a.CreateRoomAsync("disk");
                for (var i = 0; i < 10; i++)
                {
                    await a.SendTextAsync(room, $"before {i}");
                    acked.Add($"before {i}");
                }
                // Fill the volume until less than the reserve is free.
                await using (var fs = new FileStream(ballast, FileMode.Create))
                {
                    var chunk = new byte[1 << 20];
                    Random.Shared.NextBytes(chunk);
                    while (new DriveInfo(mount).AvailableFreeSpace > 40L << 20)
                    {
                        fs.Write(chunk);
                    }
                    fs.Flush(true);
                }
                var ex = await Assert.ThrowsAsync<TeamCommsException>(() => a.SendTextAsync(room, "while full"));
                Assert.Equal(ErrorCode.StorageFull, ex.Code);
                var ex2 = await Assert.ThrowsAsync<TeamCommsException>(() => a.CreateRoomAsync("while full"));
                Assert.Equal(ErrorCode.StorageFull, ex2.Code);
                // Reads keep working.
                Assert.Equal(10, (await a.HistoryAsync(room, limit: 100)).Events.Count(e => e.Type == EventTypes.Message));

                File.Delete(ballast);
                await a.SendTextAsync(room, "after space returned");
                acked.Add("after space returned");
            }
            server = await server.RestartAsync();
            await using (server)
            {
                await using var a2 = await TeamCommsConnection.ConnectAsync(server.WebSocketUrl, alice.Token);
                var page = await a2.HistoryAsync(room, forward: true, limit: 100);
                Assert.Equal(acked, page.Events.Where(e => e.Type == EventTypes.Message).Select(e => (string)e.ContentMap["body"]!));
                Assert.Equal(-1, EventCodec.VerifyChain(page.Events, null, 0));
            }
        }
        finally
        {
            Run("umount", $"-l {mount}", check: false);
            TempDirectory.Delete(mount);
        }
    }

    private static void Run(string file, string args, bool check = true)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        p.WaitForExit();
        if (check && p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {args} failed ({p.ExitCode}): {p.StandardError.ReadToEnd()} — this test needs root to mount a tmpfs");
        }
    }
}
