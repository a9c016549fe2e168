using System.Security.Cryptography;
using NSec.Cryptography;

namespace TeamComms.Crypto.Age;

/// <summary>
/// An age X25519 recipient (a public key), written <c>age1…</c>. Encrypting to it wraps a file key that only the
/// matching <see cref="AgeIdentity"/> can unwrap.
/// </summary>
public sealed class AgeRecipient : IEquatable<AgeRecipient>
{
    internal const string Hrp = "age";
    internal static readonly byte[] X25519Info = "age-encryption.org/v1/X25519"u8.ToArray();
    private readonly byte[] _publicKey;

    private AgeRecipient(byte[] publicKey) => _publicKey = publicKey;

    /// <summary>The 32-byte X25519 public key.</summary>
    public ReadOnlySpan<byte> PublicKey => _publicKey;

    /// <summary>A short, stable name for this key: the first 8 bytes of SHA-256 of the public key, in hex.</summary>
    public string KeyId
    {
        get
        {
            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(_publicKey, hash);
            return Convert.ToHexStringLower(hash[..8]);
        }
    }

    /// <summary>Parses <c>age1…</c>; false for anything else.</summary>
    public static bool TryParse(string? text, out AgeRecipient recipient)
    {
        recipient = null!;
        text = text?.Trim();
        if (text is null || !Bech32.TryDecode(text, out var hrp, out var data) || hrp != Hrp || data.Length != 32)
        {
            return false;
        }
        if (text.Any(char.IsUpper))
        {
            return false; // age writes recipients in lower case only
        }
        recipient = new AgeRecipient(data);
        return true;
    }

    /// <summary>Parses <c>age1…</c> or throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static AgeRecipient Parse(string text) => TryParse(text, out var r)
        ? r
        : throw new FormatException($"'{Shorten(text)}' is not an age X25519 recipient (age1…)");

    /// <summary>A recipient from a raw 32-byte X25519 public key.</summary>
    public static AgeRecipient FromPublicKey(ReadOnlySpan<byte> publicKey) =>
        publicKey.Length == 32 ? new AgeRecipient(publicKey.ToArray()) : throw new ArgumentException("an X25519 public key is 32 bytes");

    /// <summary>Wraps <paramref name="fileKey"/> to this recipient as an <c>X25519</c> stanza with a fresh ephemeral key.</summary>
    public AgeStanza Wrap(ReadOnlySpan<byte> fileKey)
    {
        var x25519 = KeyAgreementAlgorithm.X25519;
        using var ephemeral = Key.Create(x25519);
        var share = ephemeral.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        var theirs = NSec.Cryptography.PublicKey.Import(x25519, _publicKey, KeyBlobFormat.RawPublicKey);
        using var shared = x25519.Agree(ephemeral, theirs)
            ?? throw new CryptographicException("the recipient's public key is a low-order point");
        var salt = new byte[64];
        share.CopyTo(salt, 0);
        _publicKey.CopyTo(salt, 32);
        var wrapKey = KeyDerivationAlgorithm.HkdfSha256.DeriveBytes(shared, salt, X25519Info, 32);
        var body = AgeCrypto.SealZeroNonce(wrapKey, fileKey);
        CryptographicOperations.ZeroMemory(wrapKey);
        return new AgeStanza("X25519", [AgeBase64.Encode(share)], body);
    }

    /// <summary>The <c>age1…</c> form.</summary>
    public override string ToString() => Bech32.Encode(Hrp, _publicKey);

    /// <inheritdoc/>
    public bool Equals(AgeRecipient? other) => other is not null && _publicKey.AsSpan().SequenceEqual(other._publicKey);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as AgeRecipient);

    /// <inheritdoc/>
    public override int GetHashCode() => BitConverter.ToInt32(_publicKey, 0);

    internal static string Shorten(string? s) => s is null ? "" : s.Length <= 24 ? s : s[..20] + "…";
}
