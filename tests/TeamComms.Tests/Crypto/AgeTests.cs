using System.Diagnostics;
using System.Security.Cryptography;
using TeamComms.Crypto.Age;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Crypto;

public class AgeTests
{
    // Sizes around the 64 KiB chunk boundary: empty, short, exactly one chunk, one chunk + 1, exactly three chunks.
    public static TheoryData<int> Sizes => new() { 0, 1, 1000, 65536, 65537, 3 * 65536, 200_001 };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void EncryptDecrypt_RoundTripsAnySize(int size)
    {
        using var id = AgeIdentity.Generate();
        var data = RandomNumberGenerator.GetBytes(size);
        var file = AgeFile.Encrypt(data, [id.Recipient]);
        Assert.Equal(data, AgeFile.Decrypt(file, [id]));
    }

    [Fact]
    public void Bech32_KnownVectorFromTheSpec_RoundTrips()
    {
        // From C2SP age.md: the identity whose 32 bytes are repeated "GFPYYSJZ" decodes and re-encodes unchanged.
        const string Identity = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
        Assert.True(AgeIdentity.TryParse(Identity, out var id));
        Assert.Equal(Identity, id.ToSecretString());
        Assert.StartsWith("age1", id.Recipient.ToString(), StringComparison.Ordinal);
        Assert.True(AgeRecipient.TryParse(id.Recipient.ToString(), out var r));
        Assert.Equal(id.Recipient, r);
        Assert.False(AgeRecipient.TryParse("age1" + new string('q', 58), out _));
        Assert.False(AgeIdentity.TryParse(Identity[..^1] + "Y", out _)); // checksum
    }

    [Fact]
    public void MultipleRecipients_EachCanDecrypt_OthersCannot()
    {
        using var a = AgeIdentity.Generate();
        using var b = AgeIdentity.Generate();
        using var c = AgeIdentity.Generate();
        var file = AgeFile.Encrypt("hello"u8, [a.Recipient, b.Recipient]);
        Assert.Equal("hello"u8.ToArray(), AgeFile.Decrypt(file, [a]));
        Assert.Equal("hello"u8.ToArray(), AgeFile.Decrypt(file, [b]));
        var ex = Assert.Throws<AgeException>(() => AgeFile.Decrypt(file, [c]));
        Assert.Equal(AgeError.NoMatchingIdentity, ex.Error);
    }

    [Fact]
    public void TruncatedAtChunkBoundary_IsRejected()
    {
        using var id = AgeIdentity.Generate();
        var file = AgeFile.Encrypt(new byte[3 * 65536 + 10], [id.Recipient]);
        var cut = file.AsSpan(0, file.Length - (10 + 16)).ToArray(); // drop the final chunk exactly
        var ex = Assert.Throws<AgeException>(() => AgeFile.Decrypt(cut, [id]));
        Assert.Equal(AgeError.Truncated, ex.Error);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedInsideAChunk_IsRejected()
    {
        using var id = AgeIdentity.Generate();
        var file = AgeFile.Encrypt(new byte[100_000], [id.Recipient]);
        var ex = Assert.Throws<AgeException>(() => AgeFile.Decrypt(file.AsSpan(0, file.Length - 100), [id]));
        Assert.True(ex.Error is AgeError.PayloadModified or AgeError.Truncated, ex.Message);
        Assert.Throws<AgeException>(() => AgeFile.Decrypt(file.AsSpan(0, 40), [id]));
    }

    [Fact]
    public void ReorderedChunks_AreRejected()
    {
        using var id = AgeIdentity.Generate();
        var data = RandomNumberGenerator.GetBytes(3 * 65536 + 5);
        var file = AgeFile.Encrypt(data, [id.Recipient]);
        var payloadStart = file.Length - (3 * 65552 + 5 + 16);
        var swapped = (byte[])file.Clone();
        file.AsSpan(payloadStart, 65552).CopyTo(swapped.AsSpan(payloadStart + 65552));
        file.AsSpan(payloadStart + 65552, 65552).CopyTo(swapped.AsSpan(payloadStart));
        var ex = Assert.Throws<AgeException>(() => AgeFile.Decrypt(swapped, [id]));
        Assert.Equal(AgeError.PayloadModified, ex.Error);
        Assert.Contains("chunk 0", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ModifiedPayloadByte_IsRejected()
    {
        using var id = AgeIdentity.Generate();
        var file = AgeFile.Encrypt(new byte[150_000], [id.Recipient]);
        file[^70_000] ^= 1;
        var ex = Assert.Throws<AgeException>(() => AgeFile.Decrypt(file, [id]));
        Assert.Equal(AgeError.PayloadModified, ex.Error);
    }

    [Fact]
    public void ModifiedHeader_IsRejected()
    {
        using var id = AgeIdentity.Generate();
        using var other = AgeIdentity.Generate();
        var file = AgeFile.Encrypt("x"u8, [id.Recipient]);
        // Add a second stanza without knowing the file key: the MAC no longer verifies.
        var text = System.Text.Encoding.ASCII.GetString(file);
        var extra = other.Recipient.Wrap(new byte[16]);
        var injected = text.Replace("\n---", $"\n-> X25519 {extra.Arguments[0]}\n{Convert.ToBase64String(extra.Body).TrimEnd('=')}\n---", StringComparison.Ordinal);
        var ex = Assert.Throws<AgeException>(() => AgeFile.Decrypt(System.Text.Encoding.Latin1.GetBytes(injected), [id]));
        Assert.Equal(AgeError.HeaderModified, ex.Error);
    }

    [Fact]
    public void TrailingData_IsRejected()
    {
        using var id = AgeIdentity.Generate();
        var file = AgeFile.Encrypt(new byte[65536 * 2], [id.Recipient]);
        var ex = Assert.Throws<AgeException>(() => AgeFile.Decrypt([.. file, .. new byte[65552]], [id]));
        Assert.Equal(AgeError.TrailingData, ex.Error);
    }

    [Fact]
    public void NotAnAgeFile_IsMalformed()
    {
        using var id = AgeIdentity.Generate();
        Assert.Equal(AgeError.Malformed, Assert.Throws<AgeException>(() => AgeFile.Decrypt("hello world\n"u8, [id])).Error);
        Assert.Equal(AgeError.Malformed, Assert.Throws<AgeException>(() => AgeFile.Decrypt([], [id])).Error);
    }

    [Fact]
    public void EncryptStream_DisposedWithoutComplete_LeavesAnUnreadableFile()
    {
        using var id = AgeIdentity.Generate();
        using var ms = new MemoryStream();
        using (var age = new AgeEncryptStream(ms, [id.Recipient], leaveOpen: true))
        {
            age.Write(new byte[70_000]);
        }
        var ex = Assert.Throws<AgeException>(() => AgeFile.Decrypt(ms.ToArray(), [id]));
        Assert.Equal(AgeError.Truncated, ex.Error);
    }

    [Fact]
    public void Armor_RoundTrips()
    {
        using var id = AgeIdentity.Generate();
        var file = AgeFile.Encrypt("armored"u8, [id.Recipient]);
        var armored = AgeFile.Armor(file);
        Assert.Equal("armored"u8.ToArray(), AgeFile.Decrypt(System.Text.Encoding.ASCII.GetBytes(armored), [id]));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    [InlineData(300_000)]
    public async Task RealAgeTool_DecryptsOurFiles(int size)
    {
        var dir = TempDirectory.Create("tc-age");
        try
        {
            using var id = AgeIdentity.Generate();
            var keyFile = Path.Combine(dir, "key.txt");
            await File.WriteAllTextAsync(keyFile, id.ToIdentityFile(DateTimeOffset.UtcNow));
            File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var data = RandomNumberGenerator.GetBytes(size);
            var encrypted = Path.Combine(dir, "data.age");
            await using (var fs = File.Create(encrypted))
            using (var age = new AgeEncryptStream(fs, [id.Recipient]))
            {
                age.Write(data);
                age.Complete();
            }
            var output = Path.Combine(dir, "out.bin");
            var (code, err) = await RunAsync("age", "-d", "-i", keyFile, "-o", output, encrypted);
            Assert.True(code == 0, err);
            // age creates its output lazily: an empty plaintext leaves no file.
            Assert.Equal(data, File.Exists(output) ? await File.ReadAllBytesAsync(output) : []);
        }
        finally
        {
            TempDirectory.Delete(dir);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    [InlineData(300_000)]
    public async Task WeDecrypt_FilesTheRealAgeToolMade(int size)
    {
        var dir = TempDirectory.Create("tc-age");
        try
        {
            var keyFile = Path.Combine(dir, "key.txt");
            var (kc, kerr) = await RunAsync("age-keygen", "-o", keyFile);
            Assert.True(kc == 0, kerr);
            var identities = AgeIdentity.ParseFile(await File.ReadAllTextAsync(keyFile));
            using var other = AgeIdentity.Generate();
            var data = RandomNumberGenerator.GetBytes(size);
            var input = Path.Combine(dir, "in.bin");
            await File.WriteAllBytesAsync(input, data);
            var encrypted = Path.Combine(dir, "in.age");
            // Two recipients, ours second, so stanza matching is exercised.
            var (code, err) = await RunAsync("age", "-r", other.Recipient.ToString(), "-r", identities[0].Recipient.ToString(), "-o", encrypted, input);
            Assert.True(code == 0, err);
            await using var fs = File.OpenRead(encrypted);
            using var age = new AgeDecryptStream(fs, identities);
            using var ms = new MemoryStream();
            age.CopyTo(ms);
            Assert.Equal(data, ms.ToArray());
            var armored = Path.Combine(dir, "in.age.asc");
            (code, err) = await RunAsync("age", "-a", "-r", identities[0].Recipient.ToString(), "-o", armored, input);
            Assert.True(code == 0, err);
            Assert.Equal(data, AgeFile.Decrypt(await File.ReadAllBytesAsync(armored), identities));
        }
        finally
        {
            TempDirectory.Delete(dir);
        }
    }

    [Fact]
    public async Task RealAgeTool_RejectsOurTruncatedFile()
    {
        var dir = TempDirectory.Create("tc-age");
        try
        {
            using var id = AgeIdentity.Generate();
            var keyFile = Path.Combine(dir, "key.txt");
            await File.WriteAllTextAsync(keyFile, id.ToIdentityFile(DateTimeOffset.UtcNow));
            var file = AgeFile.Encrypt(new byte[65536 * 2 + 3], [id.Recipient]);
            var encrypted = Path.Combine(dir, "cut.age");
            await File.WriteAllBytesAsync(encrypted, file.AsSpan(0, file.Length - 19).ToArray());
            var (code, _) = await RunAsync("age", "-d", "-i", keyFile, "-o", Path.Combine(dir, "out"), encrypted);
            Assert.NotEqual(0, code);
        }
        finally
        {
            TempDirectory.Delete(dir);
        }
    }

    internal static async Task<(int Code, string Error)> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await err);
    }
}
