using System.Security.Cryptography;
using System.Text;

namespace TeamComms.Crypto.Keys;

/// <summary>
/// The server's key-encryption key (KEK): a 256-bit XChaCha20-Poly1305 key that wraps the data keys stored beside
/// the data. It comes from a key file (owner-only permissions, checked) or from a passphrase (Argon2id), and is
/// named by an id that reveals nothing about it.
/// </summary>
public sealed class KeyEncryptionKey : IDisposable
{
    private const string KeyFilePrefix = "TCKEK1:";
    private readonly SealingKey _key;
    private readonly byte[] _raw;

    private KeyEncryptionKey(byte[] raw)
    {
        _raw = raw;
        _key = SealingKey.Import(raw);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData([.. "teamcomms/kek-id/v1\0"u8, .. raw], hash);
        Id = "kek-" + Convert.ToHexStringLower(hash[..8]);
    }

    /// <summary>A stable, non-secret name for this key (recorded with everything it wraps).</summary>
    public string Id { get; }

    /// <summary>Creates a random KEK.</summary>
    public static KeyEncryptionKey Generate() => new(RandomNumberGenerator.GetBytes(SealingKey.KeySize));

    /// <summary>A KEK from 32 raw bytes.</summary>
    public static KeyEncryptionKey FromBytes(ReadOnlySpan<byte> raw) =>
        raw.Length == SealingKey.KeySize ? new(raw.ToArray()) : throw new ArgumentException("a KEK is 32 bytes");

    /// <summary>Derives a KEK from a passphrase with Argon2id.</summary>
    public static KeyEncryptionKey FromPassphrase(string passphrase, ReadOnlySpan<byte> salt, Argon2Cost cost)
    {
        if (string.IsNullOrEmpty(passphrase))
        {
            throw new KeySourceException("the passphrase is empty");
        }
        var parameters = new NSec.Cryptography.Argon2Parameters
        {
            DegreeOfParallelism = 1,
            MemorySize = cost.MemoryKiB,
            NumberOfPasses = cost.Passes,
        };
        var algorithm = NSec.Cryptography.PasswordBasedKeyDerivationAlgorithm.Argon2id(in parameters);
        return new(algorithm.DeriveBytes(passphrase, salt, SealingKey.KeySize));
    }

    /// <summary>
    /// Loads a key file. Refused, with a message saying why: a missing file, a file that group or others can read or
    /// write, or one that does not hold a KEK.
    /// </summary>
    public static KeyEncryptionKey LoadKeyFile(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new KeySourceException($"the key file {full} does not exist. Restore it from where you keep it, or point TeamComms:Keys:KeyFile at it.");
        }
        CheckOwnerOnly(full);
        string text;
        try
        {
            text = File.ReadAllText(full, Encoding.ASCII);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new KeySourceException($"the key file {full} cannot be read by this user: {ex.Message}", ex);
        }
        var line = text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0 && !l.StartsWith('#'));
        byte[]? raw = null;
        if (line is not null && line.StartsWith(KeyFilePrefix, StringComparison.Ordinal))
        {
            try
            {
                raw = Convert.FromBase64String(line[KeyFilePrefix.Length..]);
            }
            catch (FormatException)
            {
            }
        }
        if (raw is not { Length: SealingKey.KeySize })
        {
            throw new KeySourceException($"the key file {full} is not a TeamComms key file (expected a line '{KeyFilePrefix}<base64 of 32 bytes>')");
        }
        return new KeyEncryptionKey(raw);
    }

    /// <summary>
    /// Refuses a key file that group or others may read or write (mode must be 0600 or 0400), the way ssh refuses
    /// an unprotected private key.
    /// </summary>
    public static void CheckOwnerOnly(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var mode = File.GetUnixFileMode(path);
        const UnixFileMode groupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        if ((mode & groupOrOther) != 0)
        {
            throw new KeySourceException(
                $"the key file {path} is accessible to other users (mode {Convert.ToString((int)mode, 8)}); refusing to use it. " +
                $"Run 'chmod 600 {path}' if no one else could have read it, otherwise rotate the key.");
        }
    }

    /// <summary>Writes this KEK to a new key file readable and writable by the owner only; refuses to overwrite.</summary>
    public void WriteKeyFile(string path, string comment)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Options = FileOptions.WriteThrough,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using var fs = new FileStream(full, options);
        var text = $"# {comment}\n{KeyFilePrefix}{Convert.ToBase64String(_raw)}\n";
        fs.Write(Encoding.ASCII.GetBytes(text));
        fs.Flush(flushToDisk: true);
    }

    /// <summary>Wraps a secret (a data key, a signing key) under this KEK, bound to <paramref name="associatedData"/>.</summary>
    public byte[] Wrap(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> associatedData) => _key.Seal(secret, associatedData);

    /// <summary>Unwraps a secret, or null when it was not wrapped by this KEK with this associated data.</summary>
    public byte[]? Unwrap(ReadOnlySpan<byte> wrapped, ReadOnlySpan<byte> associatedData) => _key.Open(wrapped, associatedData);

    /// <summary>Wraps another KEK under this one (used while rotating, so either key can finish the rotation).</summary>
    public byte[] WrapKey(KeyEncryptionKey other, ReadOnlySpan<byte> associatedData) => _key.Seal(other._raw, associatedData);

    /// <summary>Unwraps a KEK wrapped by <see cref="WrapKey"/>, or null.</summary>
    public KeyEncryptionKey? UnwrapKey(ReadOnlySpan<byte> wrapped, ReadOnlySpan<byte> associatedData) =>
        _key.Open(wrapped, associatedData) is { Length: SealingKey.KeySize } raw ? new KeyEncryptionKey(raw) : null;

    /// <inheritdoc/>
    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_raw);
        _key.Dispose();
    }
}
