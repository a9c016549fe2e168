using NSec.Cryptography;

namespace TeamComms.Crypto;

/// <summary>An Ed25519 key pair (the server's identity key). Signing costs tens of microseconds, so sign checkpoints, not events.</summary>
public sealed class SigningKey : IDisposable
{
    private static readonly SignatureAlgorithm s_algorithm = SignatureAlgorithm.Ed25519;
    private readonly Key _key;

    private SigningKey(Key key) => _key = key;

    /// <summary>The 32-byte public key.</summary>
    public byte[] PublicKey => _key.PublicKey.Export(KeyBlobFormat.RawPublicKey);

    /// <summary>A short id for the key: the first 8 bytes of SHA-256 of the public key, base64url.</summary>
    public string KeyId => KeyIdOf(PublicKey);

    /// <summary>Creates a new random key pair.</summary>
    public static SigningKey Generate() =>
        new(Key.Create(s_algorithm, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    /// <summary>Imports a 32-byte raw private key (seed).</summary>
    public static SigningKey Import(ReadOnlySpan<byte> seed) =>
        new(Key.Import(s_algorithm, seed, KeyBlobFormat.RawPrivateKey, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    /// <summary>Exports the 32-byte raw private key, for storage under the server's protection.</summary>
    public byte[] ExportPrivate() => _key.Export(KeyBlobFormat.RawPrivateKey);

    /// <summary>Signs <paramref name="data"/>; 64-byte signature.</summary>
    public byte[] Sign(ReadOnlySpan<byte> data) => s_algorithm.Sign(_key, data);

    /// <summary>Verifies a signature against a raw 32-byte public key. A bad signature or key is <c>false</c>, never an exception.</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (!NSec.Cryptography.PublicKey.TryImport(s_algorithm, publicKey, KeyBlobFormat.RawPublicKey, out var key) || key is null)
        {
            return false;
        }
        return s_algorithm.Verify(key, data, signature);
    }

    /// <summary>The key id of a raw public key.</summary>
    public static string KeyIdOf(ReadOnlySpan<byte> publicKey)
    {
        Span<byte> hash = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(publicKey, hash);
        return "ed25519:" + System.Buffers.Text.Base64Url.EncodeToString(hash[..8]);
    }

    /// <inheritdoc/>
    public void Dispose() => _key.Dispose();
}
