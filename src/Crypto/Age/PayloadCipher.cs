using System.Security.Cryptography;
using NSec.Cryptography;

namespace TeamComms.Crypto.Age;

/// <summary>
/// ChaCha20-Poly1305 for the 64 KiB payload chunks. It uses .NET's implementation (OpenSSL's vectorized code) when
/// the platform has it, because backups stream gigabytes through it: measured on this machine at 2.2 GB/s against
/// 0.8 GB/s for libsodium's portable code through NSec (docs/benchmarks.md). Both are RFC 8439; NSec remains the
/// fallback and is used for everything else (key wrapping, X25519, HKDF).
/// </summary>
internal sealed class PayloadCipher : IDisposable
{
    private readonly System.Security.Cryptography.ChaCha20Poly1305? _native;
    private readonly Key? _nsec;

    public PayloadCipher(ReadOnlySpan<byte> key)
    {
        if (System.Security.Cryptography.ChaCha20Poly1305.IsSupported)
        {
            _native = new System.Security.Cryptography.ChaCha20Poly1305(key);
        }
        else
        {
            _nsec = AgeCrypto.ChaChaKey(key);
        }
    }

    /// <summary>Encrypts <paramref name="plaintext"/> into <paramref name="sealedChunk"/> (ciphertext then the 16-byte tag).</summary>
    public void Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> sealedChunk)
    {
        if (_native is not null)
        {
            _native.Encrypt(nonce, plaintext, sealedChunk[..plaintext.Length], sealedChunk.Slice(plaintext.Length, AgeCrypto.TagSize));
            return;
        }
        AeadAlgorithm.ChaCha20Poly1305.Encrypt(_nsec!, nonce, default, plaintext, sealedChunk);
    }

    /// <summary>Decrypts and authenticates; false when the chunk does not authenticate under this nonce.</summary>
    public bool TryOpen(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> sealedChunk, Span<byte> plaintext)
    {
        if (_native is not null)
        {
            try
            {
                _native.Decrypt(nonce, sealedChunk[..plaintext.Length], sealedChunk.Slice(plaintext.Length, AgeCrypto.TagSize), plaintext);
                return true;
            }
            catch (AuthenticationTagMismatchException)
            {
                return false;
            }
        }
        return AeadAlgorithm.ChaCha20Poly1305.Decrypt(_nsec!, nonce, default, sealedChunk, plaintext);
    }

    public void Dispose()
    {
        _native?.Dispose();
        _nsec?.Dispose();
    }
}
