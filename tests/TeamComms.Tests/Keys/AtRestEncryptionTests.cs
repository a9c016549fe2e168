using Microsoft.Extensions.DependencyInjection;
using TeamComms.Client;
using TeamComms.Server.Storage;
using TeamComms.Server.Storage.Encryption;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Keys;

public class AtRestEncryptionTests
{
    private static readonly Dictionary<string, string?> s_noCompression = new()
    {
        ["TeamComms:Storage:Compression"] = "false",
        // Internal, test-only: configuration cannot turn encryption off, so this must have no effect.
        ["TeamComms:Storage:DisableEncryptionForTests"] = "true",
    };

    [Fact]
    public async Task Messages_AreNotStoredInPlaintext_InAnyFileOfTheDataDirectory()
    {
        var marker = "ZQX-MARKER-" + Guid.NewGuid().ToString("N");
        await using var server = await TestServer.StartAsync(s_noCompression);
        var (user, room) = await KeyTestKit.SeedAsync(server, marker, 50);
        Assert.Equal(50, (await KeyTestKit.BodiesAsync(server, user, room)).Count(b => b.StartsWith(marker, StringComparison.Ordinal)));
        // Before the flush the events are in the WAL; after it, in SST files.
        Assert.Empty(KeyTestKit.FilesContaining(server.DataDirectory, marker));
        server.Services.GetRequiredService<RocksStore>().Flush();
        Assert.Empty(KeyTestKit.FilesContaining(server.DataDirectory, marker));
        Assert.Contains(Directory.EnumerateFiles(server.DataDirectory, "*.sst", SearchOption.AllDirectories), f => new FileInfo(f).Length > 0);
    }

    [Fact]
    public async Task NegativeControl_WithEncryptionDisabledForTests_TheScanFindsTheMarker()
    {
        var marker = "ZQX-MARKER-" + Guid.NewGuid().ToString("N");
        await using var server = await TestServer.StartAsync(s_noCompression,
            services: s => s.PostConfigure<StorageOptions>(o => o.DisableEncryptionForTests = true));
        await KeyTestKit.SeedAsync(server, marker, 50);
        Assert.NotEmpty(KeyTestKit.FilesContaining(server.DataDirectory, marker)); // in the WAL
        server.Services.GetRequiredService<RocksStore>().Flush();
        Assert.Contains(KeyTestKit.FilesContaining(server.DataDirectory, marker), f => f.EndsWith(".sst", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FirstStart_CreatesAnOwnerOnlyKeyFile_AndHistorySurvivesRestart()
    {
        var server = await TestServer.StartAsync();
        var keyFile = Path.Combine(server.DataDirectory, "kek.key");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        var (user, room) = await KeyTestKit.SeedAsync(server, "hello", 5);
        server = await server.RestartAsync();
        await using (server)
        {
            Assert.Equal(5, (await KeyTestKit.BodiesAsync(server, user, room)).Count);
        }
    }

    [Fact]
    public async Task WorldReadableKeyFile_RefusesToStart_AndChangesNothing()
    {
        var server = await TestServer.StartAsync();
        var dir = server.DataDirectory;
        var (user, room) = await KeyTestKit.SeedAsync(server, "hello", 3);
        await server.StopAsync();
        var keyFile = Path.Combine(dir, "kek.key");
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var before = KeyTestKit.Snapshot(dir, IsDataOrKey);
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(dataDirectory: dir));
        Assert.Contains("accessible to other users", ex.ToString(), StringComparison.Ordinal);
        Assert.Equal(before, KeyTestKit.Snapshot(dir, IsDataOrKey));
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await using var again = await TestServer.StartAsync(dataDirectory: dir);
        Assert.Equal(3, (await KeyTestKit.BodiesAsync(again, user, room)).Count);
    }

    [Fact]
    public async Task MissingKeyFile_RefusesToStart_AndDoesNotCreateANewKey()
    {
        var server = await TestServer.StartAsync();
        var dir = server.DataDirectory;
        await KeyTestKit.SeedAsync(server, "hello", 3);
        await server.StopAsync();
        var keyFile = Path.Combine(dir, "kek.key");
        var saved = File.ReadAllBytes(keyFile);
        File.Delete(keyFile);
        var before = KeyTestKit.Snapshot(dir, IsDataOrKey);
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(dataDirectory: dir));
        Assert.Contains("does not exist", ex.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(keyFile));
        Assert.Equal(before, KeyTestKit.Snapshot(dir, IsDataOrKey));
        // A configured key file that is missing is refused the same way.
        ex = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(new() { ["TeamComms:Keys:KeyFile"] = Path.Combine(dir, "nope.key") }, dataDirectory: dir));
        Assert.Contains("does not exist", ex.ToString(), StringComparison.Ordinal);
        File.WriteAllBytes(keyFile, saved);
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await (await TestServer.StartAsync(dataDirectory: dir)).DisposeAsync();
    }

    [Fact]
    public async Task WrongPassphrase_RefusesToStart_RightOneOpens()
    {
        var settings = Passphrase("correct horse battery staple");
        var server = await TestServer.StartAsync(settings);
        var dir = server.DataDirectory;
        Assert.False(File.Exists(Path.Combine(dir, "kek.key")));
        var (user, room) = await KeyTestKit.SeedAsync(server, "hello", 4);
        await server.StopAsync();
        var before = KeyTestKit.Snapshot(dir, IsDataOrKey);
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(Passphrase("wrong horse"), dataDirectory: dir));
        Assert.Contains("wrong passphrase", ex.ToString(), StringComparison.Ordinal);
        // Without any passphrase the start is refused too, and no key file is created.
        ex = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(dataDirectory: dir));
        Assert.Contains("comes from a passphrase", ex.ToString(), StringComparison.Ordinal);
        Assert.Equal(before, KeyTestKit.Snapshot(dir, IsDataOrKey));
        await using var again = await TestServer.StartAsync(settings, dataDirectory: dir);
        Assert.Equal(4, (await KeyTestKit.BodiesAsync(again, user, room)).Count);
    }

    [Fact]
    public async Task PlaintextFormat2Directory_IsEncryptedByTheMigration()
    {
        var marker = "ZQX-MIGRATE-" + Guid.NewGuid().ToString("N");
        var server = await TestServer.StartAsync(s_noCompression, services: s => s.PostConfigure<StorageOptions>(o => o.DisableEncryptionForTests = true));
        var dir = server.DataDirectory;
        var (user, room) = await KeyTestKit.SeedAsync(server, marker, 20);
        var store = server.Services.GetRequiredService<RocksStore>();
        store.Put("format_version"u8, KeyCodec.Long(2), store.Meta); // what a format-2 server left behind
        store.Flush();
        await server.StopAsync();
        Assert.NotEmpty(KeyTestKit.FilesContaining(dir, marker));

        await using var migrated = await TestServer.StartAsync(s_noCompression, dataDirectory: dir);
        Assert.Equal(RocksStore.CurrentFormatVersion, migrated.Services.GetRequiredService<RocksStore>().FormatVersion);
        Assert.Equal(20, (await KeyTestKit.BodiesAsync(migrated, user, room)).Count);
        migrated.Services.GetRequiredService<RocksStore>().Flush();
        Assert.Empty(KeyTestKit.FilesContaining(Path.Combine(dir, "db"), marker));
    }

    [Fact]
    public async Task RoomKeyRotation_NewEventsUseTheNewKey_OldOnesStayReadable()
    {
        await using var server = await TestServer.StartAsync();
        var (user, room) = await KeyTestKit.SeedAsync(server, "before", 3);
        using var officer = await server.SecurityOfficerAsync();
        var result = await officer.RotateRoomKeyAsync(room);
        Assert.Equal(2, result!["version"]!.GetValue<int>());
        await using (var conn = await user.ConnectAsync())
        {
            await conn.SendTextAsync(room, "after");
        }
        var store = server.Services.GetRequiredService<RocksStore>();
        var roomKey = server.Services.GetRequiredService<TeamComms.Server.Rooms.RoomRegistry>().Find(room)!.Key;
        var versions = store.ScanPrefix(store.Events, KeyCodec.Long(roomKey)).Select(kv => AtRestEncryption.KeyVersionOf(kv.Value)).ToList();
        Assert.Equal(1, versions[0]);
        Assert.Equal(2, versions[^1]);
        Assert.Equal(["before #0", "before #1", "before #2", "after"], await KeyTestKit.BodiesAsync(server, user, room));
    }

    [Fact]
    public async Task KekRotation_RewrapsKeys_ReplacesTheKeyFile_AndHistorySurvivesRestart()
    {
        var server = await TestServer.StartAsync();
        var (user, room) = await KeyTestKit.SeedAsync(server, "hello", 3);
        var keyFile = Path.Combine(server.DataDirectory, "kek.key");
        var oldKey = await File.ReadAllTextAsync(keyFile);
        using (var officer = await server.SecurityOfficerAsync())
        {
            var before = (await officer.KeyStatusAsync())!["kek_id"]!.GetValue<string>();
            var rotated = await officer.RotateKekAsync();
            Assert.Equal(before, rotated!["from"]!.GetValue<string>());
            Assert.NotEqual(before, rotated["to"]!.GetValue<string>());
        }
        Assert.NotEqual(oldKey, await File.ReadAllTextAsync(keyFile));
        Assert.False(File.Exists(keyFile + ".next"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        server = await server.RestartAsync();
        await using (server)
        {
            Assert.Equal(3, (await KeyTestKit.BodiesAsync(server, user, room)).Count);
        }
    }

    [Fact]
    public async Task KekRotation_FromPassphraseToNewPassphrase_OldOneIsThenWrong()
    {
        var server = await TestServer.StartAsync(Passphrase("first passphrase"));
        var dir = server.DataDirectory;
        var (user, room) = await KeyTestKit.SeedAsync(server, "hello", 2);
        using (var officer = await server.SecurityOfficerAsync())
        {
            await Assert.ThrowsAsync<TeamCommsException>(() => officer.RotateKekAsync()); // a passphrase KEK needs the new one
            await officer.RotateKekAsync("second passphrase");
        }
        await server.StopAsync();
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(Passphrase("first passphrase"), dataDirectory: dir));
        Assert.Contains("wrong passphrase", ex.ToString(), StringComparison.Ordinal);
        await using var again = await TestServer.StartAsync(Passphrase("second passphrase"), dataDirectory: dir);
        Assert.Equal(2, (await KeyTestKit.BodiesAsync(again, user, room)).Count);
    }

    [Fact]
    public async Task InvalidKeySettings_RefuseToStart()
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(new()
        {
            ["TeamComms:Keys:KeyFile"] = "/tmp/x.key",
            ["TeamComms:Keys:Passphrase"] = "p",
        }));
        Assert.Contains("only one of KeyFile, Passphrase and PassphraseFile", ex.ToString(), StringComparison.Ordinal);
        ex = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(new() { ["TeamComms:Keys:EscrowRecipient"] = "age1notakey" }));
        Assert.Contains("EscrowRecipient", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PassphraseFile_ReadableByOthers_IsRefused()
    {
        var dir = TempDirectory.Create("tc-pass");
        try
        {
            var file = Path.Combine(dir, "passphrase");
            await File.WriteAllTextAsync(file, "a passphrase\n");
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
            var settings = new Dictionary<string, string?>
            {
                ["TeamComms:Keys:PassphraseFile"] = file,
                ["TeamComms:Keys:Argon2MemoryKiB"] = "8",
                ["TeamComms:Keys:Argon2Passes"] = "1",
            };
            var ex = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync(settings));
            Assert.Contains("accessible to other users", ex.ToString(), StringComparison.Ordinal);
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            await (await TestServer.StartAsync(settings)).DisposeAsync();
        }
        finally
        {
            TempDirectory.Delete(dir);
        }
    }

    internal static Dictionary<string, string?> Passphrase(string passphrase) => new()
    {
        ["TeamComms:Keys:Passphrase"] = passphrase,
        ["TeamComms:Keys:Argon2MemoryKiB"] = "8",
        ["TeamComms:Keys:Argon2Passes"] = "1",
    };

    /// <summary>Every file except RocksDB's informational LOG files, which even a read-only open rotates.</summary>
    internal static bool IsDataOrKey(string path) => !Path.GetFileName(path).StartsWith("LOG", StringComparison.Ordinal);
}
