using Microsoft.Extensions.Logging.Abstractions;
using TeamComms.Client;
using TeamComms.Crypto.Age;
using TeamComms.Crypto.Escrow;
using TeamComms.Protocol.Events;
using TeamComms.Server.Backups;
using TeamComms.Server.Storage;
using TeamComms.Server.Storage.Encryption;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Keys;

/// <summary>
/// Each rotation is killed (SIGKILL, through the test-only TEAMCOMMS_TEST_FAULT hook) part-way, and the next start
/// must leave every message readable and the rotation finished.
/// </summary>
[Collection("processes")]
public class RotationCrashTests
{
    private const string Password = "admin-password-1";
    // More rooms than one rewrap batch (16), so the kill lands between batches.
    private const int Rooms = 40;

    private static Dictionary<string, string> Env(string? fault = null, string? escrow = null, string? backups = null)
    {
        var env = new Dictionary<string, string> { ["TEAMCOMMS__ACCOUNTS__BOOTSTRAPPASSWORD"] = Password };
        if (fault is not null)
        {
            env["TEAMCOMMS_TEST_FAULT"] = fault;
        }
        if (escrow is not null)
        {
            env["TEAMCOMMS__KEYS__ESCROWRECIPIENT"] = escrow;
        }
        if (backups is not null)
        {
            env["TEAMCOMMS__BACKUP__DIRECTORY"] = backups;
        }
        return env;
    }

    /// <summary>Seeds rooms (as the admin) and returns a security officer's client (key operations are theirs).</summary>
    private static async Task<(TeamCommsHttpClient Officer, List<string> Rooms)> SeedAsync(ServerProcess server, int rooms)
    {
        using var admin = new TeamCommsHttpClient(server.BaseUrl);
        await admin.LoginAsync("admin", Password);
        var list = new List<string>();
        await using (var conn = await TeamCommsConnection.ConnectAsync(admin.WebSocketUrl, admin.AccessToken!))
        {
            for (var i = 0; i < rooms; i++)
            {
                var room = await conn.CreateRoomAsync($"room {i}");
                await conn.SendTextAsync(room, $"message in room {i}");
                list.Add(room);
            }
        }
        return (await OfficerHelpers.CreateOfficerAsync(server.BaseUrl, Password, OfficerHelpers.SecurityOfficer, "sec"), list);
    }

    /// <summary>Logs the security officer made by <see cref="SeedAsync"/> in again (after a restart).</summary>
    private static async Task<TeamCommsHttpClient> OfficerAsync(ServerProcess server)
    {
        var officer = new TeamCommsHttpClient(server.BaseUrl);
        await officer.LoginAsync("sec", "password-sec");
        return officer;
    }

    private static async Task AssertAllReadableAsync(ServerProcess server, IReadOnlyList<string> rooms, int perRoom = 1)
    {
        using var admin = new TeamCommsHttpClient(server.BaseUrl);
        await admin.LoginAsync("admin", Password);
        await using var conn = await TeamCommsConnection.ConnectAsync(admin.WebSocketUrl, admin.AccessToken!);
        foreach (var room in rooms)
        {
            var page = await conn.HistoryAsync(room, null, false, 100);
            Assert.Equal(perRoom, page.Events.Count(e => e.Type == EventTypes.Message));
        }
    }

    [Fact]
    public async Task KekRotation_KilledMidway_IsFinishedByTheNextStart()
    {
        var data = TempDirectory.Create("tc-crash-kek");
        try
        {
            List<string> rooms;
            string before;
            await using (var server = await ServerProcess.StartAsync(data, Env(fault: "kek-rotation:1")))
            {
                var (officer, r) = await SeedAsync(server, Rooms);
                rooms = r;
                before = (await officer.KeyStatusAsync())!["kek_id"]!.GetValue<string>();
                await Assert.ThrowsAnyAsync<Exception>(() => officer.RotateKekAsync());
                await server.KillAsync();
                Assert.Contains(server.Output, l => l.Contains("killing the process at kek-rotation", StringComparison.Ordinal));
                officer.Dispose();
            }
            Assert.True(File.Exists(Path.Combine(data, "kek.key.next")), "the crash must land mid-rotation");
            await using (var server = await ServerProcess.StartAsync(data, Env()))
            {
                using var officer = await OfficerAsync(server);
                var status = (await officer.KeyStatusAsync())!;
                Assert.False(status["kek_rotation_pending"]!.GetValue<bool>());
                Assert.NotEqual(before, status["kek_id"]!.GetValue<string>());
                await AssertAllReadableAsync(server, rooms);
            }
            Assert.False(File.Exists(Path.Combine(data, "kek.key.next")));
        }
        finally
        {
            TempDirectory.Delete(data);
        }
    }

    [Fact]
    public async Task KekRotation_KilledAfterCommitBeforeTheKeyFileRename_IsFinishedByTheNextStart()
    {
        var data = TempDirectory.Create("tc-crash-kek2");
        try
        {
            List<string> rooms;
            await using (var server = await ServerProcess.StartAsync(data, Env(fault: "kek-rotation-commit:1")))
            {
                var (officer, r) = await SeedAsync(server, 3);
                rooms = r;
                await Assert.ThrowsAnyAsync<Exception>(() => officer.RotateKekAsync());
                await server.KillAsync();
                officer.Dispose();
            }
            Assert.True(File.Exists(Path.Combine(data, "kek.key.next")));
            await using (var server = await ServerProcess.StartAsync(data, Env()))
            {
                await AssertAllReadableAsync(server, rooms);
            }
            Assert.False(File.Exists(Path.Combine(data, "kek.key.next")));
        }
        finally
        {
            TempDirectory.Delete(data);
        }
    }

    [Fact]
    public async Task RoomKeyRotation_KilledAfterTheNewKeyIsWritten_NewEventsUseItAfterRestart()
    {
        var data = TempDirectory.Create("tc-crash-room");
        try
        {
            List<string> rooms;
            await using (var server = await ServerProcess.StartAsync(data, Env(fault: "room-key-rotation:1")))
            {
                var (officer, r) = await SeedAsync(server, 1);
                rooms = r;
                await Assert.ThrowsAnyAsync<Exception>(() => officer.RotateRoomKeyAsync(rooms[0]));
                await server.KillAsync();
                officer.Dispose();
            }
            await using (var server = await ServerProcess.StartAsync(data, Env()))
            {
                using var admin = new TeamCommsHttpClient(server.BaseUrl);
                await admin.LoginAsync("admin", Password);
                await using (var conn = await TeamCommsConnection.ConnectAsync(admin.WebSocketUrl, admin.AccessToken!))
                {
                    await conn.SendTextAsync(rooms[0], "after the crash");
                }
                await AssertAllReadableAsync(server, rooms, perRoom: 2);
            }
            using var store = new RocksStore(data, new StorageOptions(), NullLogger.Instance);
            var values = store.ScanPrefix(store.Events, KeyCodec.Long(1)).Select(kv => AtRestEncryption.KeyVersionOf(kv.Value)).ToList();
            Assert.Equal(1, values[0]);
            Assert.Equal(2, values[^1]);
        }
        finally
        {
            TempDirectory.Delete(data);
        }
    }

    [Fact]
    public async Task EscrowRotation_KilledMidRewrapAfterApproval_IsFinishedByTheNextStart_AndBackupsGoToTheNewKey()
    {
        var data = TempDirectory.Create("tc-crash-escrow");
        var backups = TempDirectory.Create("tc-crash-backups");
        using var oldEscrow = AgeIdentity.Generate();
        using var newEscrow = AgeIdentity.Generate();
        try
        {
            List<string> rooms;
            string oldBackup;
            await using (var server = await ServerProcess.StartAsync(data, Env(escrow: oldEscrow.Recipient.ToString(), backups: backups)))
            {
                var (officer, r) = await SeedAsync(server, Rooms);
                rooms = r;
                oldBackup = (await officer.CreateBackupAsync())!["path"]!.GetValue<string>();
                officer.Dispose();
            }
            // The new escrow key in the configuration is held; the officer's approval starts the rewrap, which dies
            // after its first batch.
            await using (var server = await ServerProcess.StartAsync(data, Env(fault: "escrow-rewrap:1", escrow: newEscrow.Recipient.ToString(), backups: backups)))
            {
                using var officer = await OfficerAsync(server);
                var request = (await officer.ListApprovalsAsync("pending")).Single()!["id"]!.GetValue<long>();
                await Assert.ThrowsAnyAsync<Exception>(() => officer.ApproveAsync(request));
                await server.KillAsync();
                Assert.Contains(server.Output, l => l.Contains("killing the process at escrow-rewrap", StringComparison.Ordinal));
            }
            string newBackup;
            await using (var server = await ServerProcess.StartAsync(data, Env(escrow: newEscrow.Recipient.ToString(), backups: backups)))
            {
                await AssertAllReadableAsync(server, rooms);
                using var officer = await OfficerAsync(server);
                var status = (await officer.KeyStatusAsync())!;
                Assert.Equal(newEscrow.Recipient.ToString(), status["approved"]!["escrow_recipient"]!.GetValue<string>());
                Assert.False(status["configured_differs_from_approved"]!.GetValue<bool>());
                newBackup = (await officer.CreateBackupAsync())!["path"]!.GetValue<string>();
            }
            // Every data key in the new backup opens with the new shares; the old backup still opens with the old ones.
            var newTarget = Path.Combine(backups, "restored-new");
            BackupRestorer.Restore(new RestoreRequest
            {
                BackupFile = newBackup,
                DataDirectory = newTarget,
                Shares = [.. EscrowKey.Split(newEscrow, 5, 3).Take(3).Select(s => ($"new-{s.Index}", s.ToString()))],
            }, NullLogger.Instance);
            BackupRestorer.Restore(new RestoreRequest
            {
                BackupFile = oldBackup,
                DataDirectory = Path.Combine(backups, "restored-old"),
                Shares = [.. EscrowKey.Split(oldEscrow, 5, 3).Skip(2).Select(s => ($"old-{s.Index}", s.ToString()))],
            }, NullLogger.Instance);
            await using (var restored = await ServerProcess.StartAsync(newTarget, Env()))
            {
                await AssertAllReadableAsync(restored, rooms);
            }
        }
        finally
        {
            TempDirectory.Delete(data);
            TempDirectory.Delete(backups);
        }
    }
}
