using TeamComms.Crypto;

namespace TeamComms.Server.Hosting;

/// <summary>
/// The server's Ed25519 identity key: the one encryption at rest keeps wrapped in the data directory (it also signs
/// backup manifests), or, in the test-only plaintext configuration, the one <c>Storage/ServerKeyStore</c> keeps in a file.
/// </summary>
public sealed class ServerKey(SigningKey key, bool ownsKey = true) : IDisposable
{
    public SigningKey Key { get; } = key;

    public byte[] PublicKey { get; } = key.PublicKey;

    /// <summary><c>ed25519:</c> and the first 8 bytes of SHA-256 of the public key, base64url.</summary>
    public string KeyId { get; } = key.KeyId;

    public byte[] Sign(ReadOnlySpan<byte> data) => Key.Sign(data);

    public void Dispose()
    {
        if (ownsKey)
        {
            Key.Dispose();
        }
    }
}
