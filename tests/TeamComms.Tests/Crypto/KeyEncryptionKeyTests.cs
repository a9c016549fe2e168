using TeamComms.Crypto;
using TeamComms.Crypto.Keys;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Crypto;

public class KeyEncryptionKeyTests
{
    [Fact]
    public void KeyFile_RoundTripsWithOwnerOnlyMode()
    {
        var dir = TempDirectory.Create("tc-kek");
        try
        {
            var path = Path.Combine(dir, "kek.key");
            using var kek = KeyEncryptionKey.Generate();
            kek.WriteKeyFile(path, "test");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            using var loaded = KeyEncryptionKey.LoadKeyFile(path);
            Assert.Equal(kek.Id, loaded.Id);
            var wrapped = kek.Wrap("secret"u8, "ad"u8);
            Assert.Equal("secret"u8.ToArray(), loaded.Unwrap(wrapped, "ad"u8));
            Assert.Null(loaded.Unwrap(wrapped, "other"u8));
            Assert.Throws<IOException>(() => kek.WriteKeyFile(path, "again")); // never overwrites
        }
        finally
        {
            TempDirectory.Delete(dir);
        }
    }

    [Theory]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead)]
    public void KeyFile_ReadableByOthers_IsRefused(UnixFileMode mode)
    {
        var dir = TempDirectory.Create("tc-kek");
        try
        {
            var path = Path.Combine(dir, "kek.key");
            using var kek = KeyEncryptionKey.Generate();
            kek.WriteKeyFile(path, "test");
            File.SetUnixFileMode(path, mode);
            var ex = Assert.Throws<KeySourceException>(() => KeyEncryptionKey.LoadKeyFile(path));
            Assert.Contains("accessible to other users", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            TempDirectory.Delete(dir);
        }
    }

    [Fact]
    public void MissingOrMalformedKeyFile_IsRefusedClearly()
    {
        var dir = TempDirectory.Create("tc-kek");
        try
        {
            var path = Path.Combine(dir, "kek.key");
            Assert.Contains("does not exist", Assert.Throws<KeySourceException>(() => KeyEncryptionKey.LoadKeyFile(path)).Message, StringComparison.Ordinal);
            File.WriteAllText(path, "not a key\n");
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            Assert.Contains("not a TeamComms key file", Assert.Throws<KeySourceException>(() => KeyEncryptionKey.LoadKeyFile(path)).Message, StringComparison.Ordinal);
        }
        finally
        {
            TempDirectory.Delete(dir);
        }
    }

    [Fact]
    public void Passphrase_DerivesTheSameKeyForTheSameSalt_AndAnotherForAnotherPassphrase()
    {
        var salt = new byte[16];
        using var a = KeyEncryptionKey.FromPassphrase("correct horse", salt, Argon2Cost.Minimal);
        using var b = KeyEncryptionKey.FromPassphrase("correct horse", salt, Argon2Cost.Minimal);
        using var c = KeyEncryptionKey.FromPassphrase("wrong horse", salt, Argon2Cost.Minimal);
        Assert.Equal(a.Id, b.Id);
        Assert.NotEqual(a.Id, c.Id);
        Assert.Null(c.Unwrap(a.Wrap("k"u8, default), default));
    }

    [Fact]
    public void SealingKey_BindsAssociatedData_AndDetectsTampering()
    {
        using var key = SealingKey.Generate(out _);
        var sealedRecord = key.Seal("payload"u8, "room 1 seq 2"u8);
        Assert.Equal(7 + SealingKey.Overhead, sealedRecord.Length);
        Assert.Equal("payload"u8.ToArray(), key.Open(sealedRecord, "room 1 seq 2"u8));
        Assert.Null(key.Open(sealedRecord, "room 1 seq 3"u8));
        sealedRecord[30] ^= 1;
        Assert.Null(key.Open(sealedRecord, "room 1 seq 2"u8));
    }
}
