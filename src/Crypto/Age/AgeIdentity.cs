using System.Security.Cryptography;
using NSec.Cryptography;

namespace TeamComms.Crypto.Age;

/// <summary>
/// An age X25519 identity (a private key), written <c>AGE-SECRET-KEY-1…</c>. It opens files encrypted to its
/// <see cref="Recipient"/>. The key lives in libsodium's guarded memory; dispose it when done.
/// </summary>
public sealed class AgeIdentity : IDisposable
{
    internal const string Hrp = "age-secret-key-";
    private readonly Key _key;

    private AgeIdentity(Key key)
    {
        _key = key;
        Recipient = AgeRecipient.FromPublicKey(key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
    }

    /// <summary>The matching recipient (public key).</summary>
    public AgeRecipient Recipient { get; }

    /// <summary>Creates a new random identity.</summary>
    public static AgeIdentity Generate() => new(Key.Create(KeyAgreementAlgorithm.X25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    /// <summary>An identity from 32 raw private-key bytes.</summary>
    public static AgeIdentity FromPrivateKey(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != 32)
        {
            throw new ArgumentException("an X25519 private key is 32 bytes");
        }
        return new(Key.Import(KeyAgreementAlgorithm.X25519, privateKey, KeyBlobFormat.RawPrivateKey, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));
    }

    /// <summary>Parses <c>AGE-SECRET-KEY-1…</c>; false for anything else.</summary>
    public static bool TryParse(string? text, out AgeIdentity identity)
    {
        identity = null!;
        text = text?.Trim();
        if (text is null || !Bech32.TryDecode(text, out var hrp, out var data) || hrp != Hrp || data.Length != 32)
        {
            return false;
        }
        try
        {
            identity = FromPrivateKey(data);
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(data);
        }
    }

    /// <summary>
    /// Reads identities from the text of an identity file as <c>age-keygen</c> writes it: one
    /// <c>AGE-SECRET-KEY-1…</c> per line, <c>#</c> comments and blank lines ignored.
    /// </summary>
    public static IReadOnlyList<AgeIdentity> ParseFile(string text, string name = "identity file")
    {
        var result = new List<AgeIdentity>();
        var lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            if (!TryParse(line, out var id))
            {
                throw new FormatException($"{name}, line {lineNo}: not an age identity (AGE-SECRET-KEY-1…)");
            }
            result.Add(id);
        }
        if (result.Count == 0)
        {
            throw new FormatException($"{name} holds no age identity");
        }
        return result;
    }

    /// <summary>The 32 raw private-key bytes. Handle with care.</summary>
    public byte[] ExportPrivateKey() => _key.Export(KeyBlobFormat.RawPrivateKey);

    /// <summary>The <c>AGE-SECRET-KEY-1…</c> form. Handle with care.</summary>
    public string ToSecretString()
    {
        var raw = ExportPrivateKey();
        try
        {
            return Bech32.Encode(Hrp, raw).ToUpperInvariant();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(raw);
        }
    }

    /// <summary>An identity file in <c>age-keygen</c>'s format.</summary>
    public string ToIdentityFile(DateTimeOffset created) =>
        $"# created: {created.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}\n# public key: {Recipient}\n{ToSecretString()}\n";

    /// <summary>
    /// Unwraps the file key from an <c>X25519</c> stanza addressed to this identity. Returns null when the stanza is
    /// not an X25519 stanza or not for this identity; throws <see cref="AgeException"/> for a malformed X25519 stanza.
    /// </summary>
    public byte[]? Unwrap(AgeStanza stanza, int fileKeyLength = AgeCrypto.FileKeySize)
    {
        if (stanza.Type != "X25519")
        {
            return null;
        }
        if (stanza.Arguments.Count != 1 || !AgeBase64.TryDecode(stanza.Arguments[0], out var share) || share.Length != 32)
        {
            throw new AgeException(AgeError.Malformed, "malformed X25519 stanza: it needs one argument, a 32-byte share");
        }
        if (stanza.Body.Length != fileKeyLength + AgeCrypto.TagSize)
        {
            throw new AgeException(AgeError.Malformed, "malformed X25519 stanza: wrong body length");
        }
        var x25519 = KeyAgreementAlgorithm.X25519;
        if (!NSec.Cryptography.PublicKey.TryImport(x25519, share, KeyBlobFormat.RawPublicKey, out var theirs) || theirs is null)
        {
            throw new AgeException(AgeError.Malformed, "malformed X25519 stanza: bad share");
        }
        using var shared = x25519.Agree(_key, theirs);
        if (shared is null)
        {
            throw new AgeException(AgeError.Malformed, "X25519 stanza with a low-order share (all-zero shared secret)");
        }
        var salt = new byte[64];
        share.CopyTo(salt, 0);
        Recipient.PublicKey.CopyTo(salt.AsSpan(32));
        var wrapKey = KeyDerivationAlgorithm.HkdfSha256.DeriveBytes(shared, salt, AgeRecipient.X25519Info, 32);
        try
        {
            return AgeCrypto.OpenZeroNonce(wrapKey, stanza.Body);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(wrapKey);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _key.Dispose();
}
