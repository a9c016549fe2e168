using System.Security.Cryptography;
using NSec.Cryptography;

namespace TeamComms.Crypto.Keys;

/// <summary>
/// A 256-bit XChaCha20-Poly1305 key that seals small records: a random 24-byte nonce, then the ciphertext and the
/// 16-byte tag. Random nonces are safe at any volume with XChaCha's 192-bit nonce. The key material lives in
/// libsodium's guarded memory.
/// </summary>
public sealed class SealingKey : IDisposable
{
    /// <summary>Key length in bytes.</summary>
    public const int KeySize = 32;

    /// <summary>Nonce length in bytes.</summary>
    public const int NonceSize = 24;

    /// <summary>Tag length in bytes.</summary>
    public const int TagSize = 16;

    /// <summary>Bytes a sealed record adds to its plaintext: nonce plus tag.</summary>
    public const int Overhead = NonceSize + TagSize;

    private static readonly AeadAlgorithm s_aead = AeadAlgorithm.XChaCha20Poly1305;
    private readonly Key _key;

    private SealingKey(Key key) => _key = key;

    /// <summary>Creates a random key and returns its raw bytes too (to be wrapped for storage; zero them after).</summary>
    public static SealingKey Generate(out byte[] raw)
    {
        raw = RandomNumberGenerator.GetBytes(KeySize);
        return Import(raw);
    }

    /// <summary>Imports 32 raw key bytes.</summary>
    public static SealingKey Import(ReadOnlySpan<byte> raw)
    {
        if (raw.Length != KeySize)
        {
            throw new ArgumentException("a sealing key is 32 bytes");
        }
        return new(Key.Import(s_aead, raw, KeyBlobFormat.RawSymmetricKey));
    }

    /// <summary>Seals <paramref name="plaintext"/> into <paramref name="destination"/>, which must be <see cref="Overhead"/> bytes longer.</summary>
    public void Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        if (destination.Length != plaintext.Length + Overhead)
        {
            throw new ArgumentException("destination must be plaintext length + Overhead");
        }
        var nonce = destination[..NonceSize];
        RandomNumberGenerator.Fill(nonce);
        s_aead.Encrypt(_key, nonce, associatedData, plaintext, destination[NonceSize..]);
    }

    /// <summary>Seals <paramref name="plaintext"/> into a new array.</summary>
    public byte[] Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        var result = new byte[plaintext.Length + Overhead];
        Seal(plaintext, associatedData, result);
        return result;
    }

    /// <summary>Opens a sealed record into <paramref name="plaintext"/> (sealed length minus <see cref="Overhead"/>); false if it does not authenticate.</summary>
    public bool TryOpen(ReadOnlySpan<byte> sealedRecord, ReadOnlySpan<byte> associatedData, Span<byte> plaintext)
    {
        if (sealedRecord.Length < Overhead || plaintext.Length != sealedRecord.Length - Overhead)
        {
            return false;
        }
        return s_aead.Decrypt(_key, sealedRecord[..NonceSize], associatedData, sealedRecord[NonceSize..], plaintext);
    }

    /// <summary>Opens a sealed record into a new array, or null if it does not authenticate.</summary>
    public byte[]? Open(ReadOnlySpan<byte> sealedRecord, ReadOnlySpan<byte> associatedData)
    {
        if (sealedRecord.Length < Overhead)
        {
            return null;
        }
        var plaintext = new byte[sealedRecord.Length - Overhead];
        return TryOpen(sealedRecord, associatedData, plaintext) ? plaintext : null;
    }

    /// <inheritdoc/>
    public void Dispose() => _key.Dispose();
}
