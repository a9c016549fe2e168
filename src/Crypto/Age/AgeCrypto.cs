using System.Security.Cryptography;
using NSec.Cryptography;

namespace TeamComms.Crypto.Age;

/// <summary>The primitives of age v1: HKDF-SHA-256, HMAC-SHA-256 and ChaCha20-Poly1305.</summary>
internal static class AgeCrypto
{
    public const int FileKeySize = 16;
    public const int TagSize = 16;
    public const int NonceSize = 16;
    public const int ChunkSize = 64 * 1024;
    public const int SealedChunkSize = ChunkSize + TagSize;

    public static byte[] Hkdf(ReadOnlySpan<byte> ikm, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> info)
    {
        using var secret = SharedSecret.Import(ikm, SharedSecretBlobFormat.RawSharedSecret);
        return KeyDerivationAlgorithm.HkdfSha256.DeriveBytes(secret, salt, info, 32);
    }

    public static Key ChaChaKey(ReadOnlySpan<byte> raw) =>
        Key.Import(AeadAlgorithm.ChaCha20Poly1305, raw, KeyBlobFormat.RawSymmetricKey);

    public static byte[] SealZeroNonce(ReadOnlySpan<byte> key, ReadOnlySpan<byte> plaintext)
    {
        using var k = ChaChaKey(key);
        Span<byte> nonce = stackalloc byte[12];
        nonce.Clear();
        return AeadAlgorithm.ChaCha20Poly1305.Encrypt(k, nonce, default, plaintext);
    }

    public static byte[]? OpenZeroNonce(ReadOnlySpan<byte> key, ReadOnlySpan<byte> ciphertext)
    {
        using var k = ChaChaKey(key);
        Span<byte> nonce = stackalloc byte[12];
        nonce.Clear();
        if (ciphertext.Length < TagSize)
        {
            return null;
        }
        var plaintext = new byte[ciphertext.Length - TagSize];
        return AeadAlgorithm.ChaCha20Poly1305.Decrypt(k, nonce, default, ciphertext, plaintext) ? plaintext : null;
    }

    public static byte[] HeaderMac(ReadOnlySpan<byte> fileKey, ReadOnlySpan<byte> headerUpToDashes)
    {
        var macKey = Hkdf(fileKey, default, "header"u8);
        try
        {
            return HMACSHA256.HashData(macKey, headerUpToDashes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(macKey);
        }
    }

    /// <summary>The STREAM nonce: an 11-byte big-endian chunk counter, then 0x01 for the final chunk, else 0x00.</summary>
    public static void ChunkNonce(Span<byte> nonce, ulong counter, bool last)
    {
        nonce.Clear();
        for (var i = 10; i >= 3; i--)
        {
            nonce[i] = (byte)counter;
            counter >>= 8;
        }
        nonce[11] = last ? (byte)1 : (byte)0;
    }
}
