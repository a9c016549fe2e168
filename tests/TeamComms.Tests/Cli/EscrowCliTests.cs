using TeamComms.Crypto.Age;
using TeamComms.Tests.Crypto;
using TeamComms.Tests.Infrastructure;
using TeamComms.Tests.Keys;

namespace TeamComms.Tests.Cli;

/// <summary>The escrow ceremony and backups through the real <c>teamcomms</c> executable.</summary>
public class EscrowCliTests
{
    private static Task<(int Code, string Out, string Err)> RunAsync(string? stdin, params string[] args) => CliRunner.RunAsync(null, stdin, args);

    [Fact]
    public async Task EscrowInit_WritesSharesAndPublicKeyOnly_AndAnyThreeCombine()
    {
        var dir = TempDirectory.Create("tc-escrow");
        try
        {
            var outDir = Path.Combine(dir, "ceremony");
            var init = await RunAsync(null, "escrow", "init", "--shares", "5", "--threshold", "3", "--out", outDir);
            Assert.True(init.Code == 0, init.Err);
            var recipient = (await File.ReadAllTextAsync(Path.Combine(outDir, "escrow-public-key.txt"))).Trim();
            Assert.Contains(recipient, init.Out, StringComparison.Ordinal);
            Assert.True(AgeRecipient.TryParse(recipient, out var parsed));
            // Nothing on disk holds the private key: only the public key and five shares.
            Assert.Equal(6, Directory.GetFiles(outDir).Length);
            Assert.DoesNotContain(Directory.GetFiles(outDir), f => File.ReadAllText(f).Contains("AGE-SECRET-KEY", StringComparison.Ordinal));
            var shares = Enumerable.Range(1, 5).Select(i => Path.Combine(outDir, $"share-{i}-of-5.txt")).ToArray();
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(shares[0]));

            var combined = await RunAsync(null, "escrow", "combine", shares[4], shares[0], shares[2], "--reveal");
            Assert.True(combined.Code == 0, combined.Err);
            Assert.Contains(parsed.KeyId, combined.Err, StringComparison.Ordinal);
            var identity = AgeIdentity.ParseFile(combined.Out)[0];
            Assert.Equal(parsed, identity.Recipient);

            var few = await RunAsync(null, "escrow", "combine", shares[0], shares[1]);
            Assert.Equal(1, few.Code);
            Assert.Contains("too few shares", few.Err, StringComparison.Ordinal);

            var verify = await RunAsync(null, "escrow", "verify-share", shares[1], "--recipient", recipient);
            Assert.True(verify.Code == 0, verify.Err);
            Assert.Contains("share 2 of 5 (threshold 3)", verify.Out, StringComparison.Ordinal);

            // A damaged share is named, by combine and by verify-share.
            var text = await File.ReadAllTextAsync(shares[3]);
            var damaged = Path.Combine(dir, "damaged-share.txt");
            await File.WriteAllTextAsync(damaged, text[..20] + (text[20] == 'a' ? 'b' : 'a') + text[21..]);
            var bad = await RunAsync(null, "escrow", "combine", shares[0], damaged, shares[2]);
            Assert.Equal(1, bad.Code);
            Assert.Contains("damaged-share.txt", bad.Err, StringComparison.Ordinal);
            Assert.Contains("corrupted", bad.Err, StringComparison.Ordinal);
            Assert.Equal(1, (await RunAsync(null, "escrow", "verify-share", damaged)).Code);

            // Shares of another key are refused by name.
            var other = Path.Combine(dir, "other");
            Assert.Equal(0, (await RunAsync(null, "escrow", "init", "--out", other)).Code);
            var mixed = await RunAsync(null, "escrow", "combine", shares[0], shares[1], Path.Combine(other, "share-3-of-5.txt"));
            Assert.Equal(1, mixed.Code);
            Assert.Contains("share-3-of-5.txt belongs to escrow key", mixed.Err, StringComparison.Ordinal);
            var wrongKey = await RunAsync(null, "escrow", "verify-share", Path.Combine(other, "share-1-of-5.txt"), "--recipient", recipient);
            Assert.Equal(1, wrongKey.Code);
        }
        finally
        {
            TempDirectory.Delete(dir);
        }
    }

    [Fact]
    public async Task EscrowInit_WithHolderRecipients_EncryptsEachShareToItsHolder()
    {
        var dir = TempDirectory.Create("tc-escrow");
        try
        {
            var holders = new List<string>();
            for (var i = 1; i <= 3; i++)
            {
                var key = Path.Combine(dir, $"holder{i}.txt");
                var (code, err) = await AgeTests.RunAsync("age-keygen", "-o", key);
                Assert.True(code == 0, err);
                holders.Add(key);
            }
            var recipients = holders.Select(h => AgeIdentity.ParseFile(File.ReadAllText(h))[0].Recipient.ToString()).ToList();
            var outDir = Path.Combine(dir, "ceremony");
            var init = await RunAsync(null, ["escrow", "init", "--shares", "3", "--threshold", "2", "--out", outDir,
                .. recipients.SelectMany(r => new[] { "--holder-recipient", r })]);
            Assert.True(init.Code == 0, init.Err);
            var share2 = Path.Combine(outDir, "share-2-of-3.age");
            Assert.StartsWith("-----BEGIN AGE ENCRYPTED FILE-----", await File.ReadAllTextAsync(share2), StringComparison.Ordinal);
            // The holder opens their share with the real age tool; another holder's key does not open it.
            var plain = Path.Combine(dir, "share2.txt");
            var (ok, okErr) = await AgeTests.RunAsync("age", "-d", "-i", holders[1], "-o", plain, share2);
            Assert.True(ok == 0, okErr);
            Assert.StartsWith("tcescrow1-", await File.ReadAllTextAsync(plain), StringComparison.Ordinal);
            Assert.NotEqual(0, (await AgeTests.RunAsync("age", "-d", "-i", holders[0], "-o", Path.Combine(dir, "x"), share2)).Code);

            var noKey = await RunAsync(null, "escrow", "combine", Path.Combine(outDir, "share-1-of-3.age"), share2);
            Assert.Equal(1, noKey.Code);
            Assert.Contains("--identity", noKey.Err, StringComparison.Ordinal);
            var combined = await RunAsync(null, "escrow", "combine", Path.Combine(outDir, "share-1-of-3.age"), share2,
                "--identity", holders[0], "--identity", holders[1]);
            Assert.True(combined.Code == 0, combined.Err);
        }
        finally
        {
            TempDirectory.Delete(dir);
        }
    }

    [Fact]
    public async Task SecurityOfficerBackup_Download_ProducesAFileTheEscrowKeyOpens()
    {
        var dir = TempDirectory.Create("tc-escrow");
        try
        {
            var outDir = Path.Combine(dir, "ceremony");
            Assert.Equal(0, (await RunAsync(null, "escrow", "init", "--out", outDir)).Code);
            var recipient = (await File.ReadAllTextAsync(Path.Combine(outDir, "escrow-public-key.txt"))).Trim();
            await using var server = await TestServer.StartAsync(new()
            {
                ["TeamComms:Keys:EscrowRecipient"] = recipient,
                ["TeamComms:Backup:Directory"] = Path.Combine(dir, "server-backups"),
            });
            await KeyTestKit.SeedAsync(server, "cli backup", 3);
            var config = Path.Combine(dir, "officer.json");
            (await server.SecurityOfficerAsync("secofficer")).Dispose();
            Assert.Equal(0, (await RunAsync("password-secofficer", "--config", config, "login", "--server", server.BaseUrl.ToString(), "--user", "secofficer", "--password-stdin")).Code);
            var download = Path.Combine(dir, "downloaded");
            var backup = await RunAsync(null, "--config", config, "admin", "backup", "--download", download);
            Assert.True(backup.Code == 0, backup.Err);
            Assert.Contains("signed by ed25519:", backup.Out, StringComparison.Ordinal);
            var file = Directory.GetFiles(download, "*.age").Single();
            Assert.True(File.Exists(file + ".manifest.json"));
            var reveal = await RunAsync(null, "escrow", "combine", "--reveal",
                Path.Combine(outDir, "share-1-of-5.txt"), Path.Combine(outDir, "share-2-of-5.txt"), Path.Combine(outDir, "share-3-of-5.txt"));
            var keyFile = Path.Combine(dir, "escrow.key");
            await File.WriteAllTextAsync(keyFile, reveal.Out + "\n");
            var (code, err) = await AgeTests.RunAsync("age", "-d", "-i", keyFile, "-o", Path.Combine(dir, "backup.tar"), file);
            Assert.True(code == 0, err);
        }
        finally
        {
            TempDirectory.Delete(dir);
        }
    }
}
