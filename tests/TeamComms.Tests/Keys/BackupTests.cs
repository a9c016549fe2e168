using System.Formats.Tar;
using Microsoft.Extensions.Logging.Abstractions;
using TeamComms.Client;
using TeamComms.Crypto.Age;
using TeamComms.Crypto.Escrow;
using TeamComms.Server.Backups;
using TeamComms.Tests.Crypto;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Keys;

public class BackupTests
{
    private sealed class Setup : IAsyncDisposable
    {
        public required AgeIdentity Escrow { get; init; }
        public required IReadOnlyList<EscrowShare> Shares { get; init; }
        public required string Root { get; init; }
        public required TestServer Server { get; set; }
        public required TestUser User { get; init; }
        public required string Room { get; init; }
        public required string BackupPath { get; set; }

        public string Target(string name) => Path.Combine(Root, name);

        public List<(string, string)> NamedShares(params int[] indexes) => [.. indexes.Select(i => ($"share-{i}.txt", Shares[i - 1].ToString()))];

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            Escrow.Dispose();
            TempDirectory.Delete(Root);
        }
    }

    private static async Task<Setup> StartAsync(int messages = 30, AgeIdentity? recovery = null, int bodyBytes = 100)
    {
        var escrow = AgeIdentity.Generate();
        var root = TempDirectory.Create("tc-backup");
        var settings = new Dictionary<string, string?>
        {
            ["TeamComms:Keys:EscrowRecipient"] = escrow.Recipient.ToString(),
            ["TeamComms:Keys:RecoveryRecipient"] = recovery?.Recipient.ToString(),
            ["TeamComms:Backup:Directory"] = Path.Combine(root, "backups"),
        };
        var server = await TestServer.StartAsync(settings);
        var (user, room) = await KeyTestKit.SeedAsync(server, "backed up " + new string('x', bodyBytes), messages);
        using var officer = await server.SecurityOfficerAsync();
        var result = await officer.CreateBackupAsync();
        return new Setup
        {
            Escrow = escrow,
            Shares = EscrowKey.Split(escrow, 5, 3),
            Root = root,
            Server = server,
            User = user,
            Room = room,
            BackupPath = result!["path"]!.GetValue<string>(),
        };
    }

    private static RestoreResult Restore(Setup s, string target, IEnumerable<(string, string)>? shares = null, string? backup = null,
        IReadOnlyList<AgeIdentity>? identities = null, string? manifest = null) =>
        BackupRestorer.Restore(new RestoreRequest
        {
            BackupFile = backup ?? s.BackupPath,
            ManifestFile = manifest,
            DataDirectory = target,
            Shares = shares?.ToList() ?? [],
            Identities = identities ?? [],
        }, NullLogger.Instance);

    private static void AssertRefused(Setup s, string target, string expected, Func<RestoreResult> restore)
    {
        var ex = Assert.Throws<RestoreException>(restore);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.True(!Directory.Exists(target) || !Directory.EnumerateFileSystemEntries(target).Any(), "nothing may be restored");
        Assert.Empty(Directory.EnumerateDirectories(s.Root, "*.restoring-*"));
    }

    [Fact]
    public async Task Backup_WhileRunning_RestoresWithAnyThreeShares_UnderANewKek()
    {
        await using var s = await StartAsync();
        Assert.True(File.Exists(s.BackupPath + ".manifest.json"));
        var target = s.Target("restored");
        var result = Restore(s, target, s.NamedShares(1, 3, 5));
        Assert.True(File.Exists(Path.Combine(target, "kek.key")));
        Assert.NotEqual((await (await s.Server.SecurityOfficerAsync()).KeyStatusAsync())!["kek_id"]!.GetValue<string>(), result.KekId);
        await s.Server.StopAsync();
        await using var restored = await TestServer.StartAsync(dataDirectory: target);
        var bodies = await KeyTestKit.BodiesAsync(restored, s.User, s.Room);
        Assert.Equal(30, bodies.Count);
    }

    [Fact]
    public async Task RealAgeTool_DecryptsTheBackupWithTheEscrowKey()
    {
        await using var s = await StartAsync(messages: 5);
        var keyFile = Path.Combine(s.Root, "escrow.txt");
        await File.WriteAllTextAsync(keyFile, s.Escrow.ToIdentityFile(DateTimeOffset.UtcNow));
        var tarFile = Path.Combine(s.Root, "backup.tar");
        var (code, err) = await AgeTests.RunAsync("age", "-d", "-i", keyFile, "-o", tarFile, s.BackupPath);
        Assert.True(code == 0, err);
        var names = new List<string>();
        await using (var fs = File.OpenRead(tarFile))
        using (var tar = new TarReader(fs))
        {
            while (tar.GetNextEntry() is { } e)
            {
                names.Add(e.Name);
            }
        }
        Assert.Contains(BackupService.InfoEntry, names);
        Assert.Contains("db/CURRENT", names);
        Assert.Contains(names, n => n.EndsWith(".sst", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Restore_WithTheRecoveryKey_WorksWithoutShares()
    {
        using var recovery = AgeIdentity.Generate();
        await using var s = await StartAsync(messages: 5, recovery: recovery);
        var target = s.Target("restored");
        Restore(s, target, identities: [recovery]);
        await s.Server.StopAsync();
        await using var restored = await TestServer.StartAsync(dataDirectory: target);
        Assert.Equal(5, (await KeyTestKit.BodiesAsync(restored, s.User, s.Room)).Count);
    }

    [Fact]
    public async Task DamagedBackups_AreRefused_AndNothingIsRestored()
    {
        await using var s = await StartAsync(messages: 600, bodyBytes: 400);
        var original = await File.ReadAllBytesAsync(s.BackupPath);
        var payload = PayloadStart(original);
        Assert.True(original.Length - payload > 3 * 65552, "the test needs a backup of more than three chunks");
        var manifest = s.BackupPath + ".manifest.json";
        var target = s.Target("restored");

        async Task<string> Variant(string name, byte[] bytes)
        {
            var path = Path.Combine(s.Root, name);
            await File.WriteAllBytesAsync(path, bytes);
            return path;
        }

        var truncated = await Variant("truncated.age", original[..^100]);
        AssertRefused(s, target, "Nothing was restored", () => Restore(s, target, s.NamedShares(1, 2, 3), truncated, manifest: manifest));
        var cutAtChunk = await Variant("cut.age", original[..(payload + 2 * 65552)]);
        AssertRefused(s, target, "truncated", () => Restore(s, target, s.NamedShares(1, 2, 3), cutAtChunk, manifest: manifest));

        var modified = (byte[])original.Clone();
        modified[payload + 70_000] ^= 0x01;
        var modifiedPath = await Variant("modified.age", modified);
        AssertRefused(s, target, "tampered", () => Restore(s, target, s.NamedShares(1, 2, 3), modifiedPath, manifest: manifest));

        var reordered = (byte[])original.Clone();
        original.AsSpan(payload, 65552).CopyTo(reordered.AsSpan(payload + 65552));
        original.AsSpan(payload + 65552, 65552).CopyTo(reordered.AsSpan(payload));
        var reorderedPath = await Variant("reordered.age", reordered);
        AssertRefused(s, target, "reordered", () => Restore(s, target, s.NamedShares(1, 2, 3), reorderedPath, manifest: manifest));

        // The untouched file still restores.
        Restore(s, target, s.NamedShares(2, 3, 4));
    }

    [Fact]
    public async Task TamperedManifest_IsRefused()
    {
        await using var s = await StartAsync(messages: 3);
        var manifest = s.BackupPath + ".manifest.json";
        var text = await File.ReadAllTextAsync(manifest);
        var tampered = Path.Combine(s.Root, "tampered.manifest.json");
        await File.WriteAllTextAsync(tampered, text.Replace("\"server\": \"test.local\"", "\"server\": \"evil.local\"", StringComparison.Ordinal));
        Assert.NotEqual(text, await File.ReadAllTextAsync(tampered));
        var target = s.Target("restored");
        AssertRefused(s, target, "signature does not verify", () => Restore(s, target, s.NamedShares(1, 2, 3), manifest: tampered));
        // A manifest of another backup (valid signature, other hash) does not match this file.
        using (var officer = await s.Server.SecurityOfficerAsync())
        {
            var other = (await officer.CreateBackupAsync())!["manifest_path"]!.GetValue<string>();
            AssertRefused(s, target, "does not match its manifest", () => Restore(s, target, s.NamedShares(1, 2, 3), manifest: other));
        }
    }

    [Fact]
    public async Task ManifestSignedByAnotherServerKey_IsRefusedWhenTheKeyIsPinned()
    {
        await using var s = await StartAsync(messages: 2);
        var target = s.Target("restored");
        var ex = Assert.Throws<RestoreException>(() => BackupRestorer.Restore(new RestoreRequest
        {
            BackupFile = s.BackupPath,
            DataDirectory = target,
            Shares = s.NamedShares(1, 2, 3),
            ExpectSigningKey = "ed25519:AAAAAAAAAAA",
        }, NullLogger.Instance));
        Assert.Contains("not by the expected server key", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(target));
        using var officer = await s.Server.SecurityOfficerAsync();
        var signer = (await officer.KeyStatusAsync())!["signing_key_id"]!.GetValue<string>();
        BackupRestorer.Restore(new RestoreRequest
        {
            BackupFile = s.BackupPath,
            DataDirectory = target,
            Shares = s.NamedShares(1, 2, 3),
            ExpectSigningKey = signer,
        }, NullLogger.Instance);
    }

    [Fact]
    public async Task Backup_WithoutAnEscrowRecipient_IsRefusedClearly()
    {
        await using var server = await TestServer.StartAsync();
        using var officer = await server.SecurityOfficerAsync();
        var ex = await Assert.ThrowsAsync<TeamCommsException>(() => officer.CreateBackupAsync());
        Assert.Contains("no escrow recipient is configured", ex.ServerMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongOrBadShares_AreRefusedByName()
    {
        await using var s = await StartAsync(messages: 3);
        var target = s.Target("restored");
        AssertRefused(s, target, "too few shares", () => Restore(s, target, s.NamedShares(1, 2)));

        var shares = s.NamedShares(1, 2, 3);
        var (name, text) = shares[1];
        shares[1] = (name, text[..^12] + (text[^12] == '0' ? '1' : '0') + text[^11..]);
        AssertRefused(s, target, "share-2.txt is corrupted", () => Restore(s, target, shares));

        using var other = AgeIdentity.Generate();
        var otherShares = EscrowKey.Split(other, 5, 3);
        var mixed = s.NamedShares(1, 2);
        mixed.Add(("other-3.txt", otherShares[2].ToString()));
        AssertRefused(s, target, "other-3.txt belongs to escrow key", () => Restore(s, target, mixed));

        // A backup made for another recipient: a full, valid set of the other key's shares.
        AssertRefused(s, target, "this backup was made for recipient", () => Restore(s, target,
            otherShares.Take(3).Select(x => ($"other-{x.Index}", x.ToString()))));

        Directory.CreateDirectory(target);
        await File.WriteAllTextAsync(Path.Combine(target, "something"), "x");
        var ex = Assert.Throws<RestoreException>(() => Restore(s, target, s.NamedShares(1, 2, 3)));
        Assert.Contains("not empty", ex.Message, StringComparison.Ordinal);
        Assert.Equal(["something"], Directory.EnumerateFileSystemEntries(target).Select(Path.GetFileName));
    }

    [Fact]
    public async Task EscrowRotation_HeldUntilApproved_ThenNewBackupsGoToTheNewKey_OldBackupsOpenWithOldShares()
    {
        await using var s = await StartAsync(messages: 4);
        using var newEscrow = AgeIdentity.Generate();
        var newShares = EscrowKey.Split(newEscrow, 5, 3);
        var dir = s.Server.DataDirectory;
        await s.Server.StopAsync();
        s.Server = await TestServer.StartAsync(new()
        {
            ["TeamComms:Keys:EscrowRecipient"] = newEscrow.Recipient.ToString(),
            ["TeamComms:Backup:Directory"] = Path.Combine(s.Root, "backups"),
        }, dataDirectory: dir);
        using var first = await s.Server.SecurityOfficerAsync();
        using var second = await s.Server.SecurityOfficerAsync();
        // The changed configuration is held: a backup made now still goes to the old (approved) escrow key.
        var heldBackup = (await first.CreateBackupAsync())!["path"]!.GetValue<string>();
        var target = s.Target("held-with-new");
        AssertRefused(s, target, "this backup was made for recipient", () => Restore(s, target, newShares.Take(3).Select(x => ($"new-{x.Index}", x.ToString())), heldBackup));
        Restore(s, s.Target("held"), s.NamedShares(2, 4, 5), heldBackup);

        var pending = (await first.ListApprovalsAsync("pending")).Single()!.AsObject();
        Assert.Equal("config", pending["requested_by"]!.GetValue<string>());
        await first.ApproveAsync(pending["id"]!.GetValue<long>());
        var newBackup = (await second.CreateBackupAsync())!["path"]!.GetValue<string>();
        AssertRefused(s, target, "this backup was made for recipient", () => Restore(s, target, newShares.Take(3).Select(x => ($"new-{x.Index}", x.ToString()))));
        Restore(s, s.Target("old"), s.NamedShares(1, 2, 3));
        AssertRefused(s, target, "this backup was made for recipient", () => Restore(s, target, s.NamedShares(1, 2, 3), newBackup));
        Restore(s, s.Target("new"), newShares.Skip(2).Select(x => ($"new-{x.Index}", x.ToString())), newBackup);
        await s.Server.StopAsync();
        await using var restored = await TestServer.StartAsync(dataDirectory: s.Target("new"));
        Assert.Equal(4, (await KeyTestKit.BodiesAsync(restored, s.User, s.Room)).Count);
    }

    [Fact]
    public async Task RestoreCommand_OfTheServerBinary_RestoresAndReportsErrors()
    {
        await using var s = await StartAsync(messages: 3);
        var shareFiles = new List<string>();
        foreach (var (name, text) in s.NamedShares(2, 4, 5))
        {
            var path = Path.Combine(s.Root, name);
            await File.WriteAllTextAsync(path, text + "\n");
            shareFiles.Add(path);
        }
        var target = s.Target("cmd");
        var (code, err) = await AgeTests.RunAsync("dotnet", [Repo.ServerDll, "restore", "--backup", s.BackupPath, "--data", target,
            "--share", shareFiles[0], "--share", shareFiles[1]]);
        Assert.Equal(1, code);
        Assert.Contains("too few shares", err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(target));
        (code, err) = await AgeTests.RunAsync("dotnet", [Repo.ServerDll, "restore", "--backup", s.BackupPath, "--data", target,
            "--share", shareFiles[0], "--share", shareFiles[1], "--share", shareFiles[2]]);
        Assert.True(code == 0, err);
        Assert.True(File.Exists(Path.Combine(target, "db", "CURRENT")));
    }

    internal static int PayloadStart(byte[] file)
    {
        var text = System.Text.Encoding.Latin1.GetString(file, 0, Math.Min(file.Length, 4096));
        var mac = text.IndexOf("\n---", StringComparison.Ordinal);
        return text.IndexOf('\n', mac + 1) + 1 + 16;
    }
}
