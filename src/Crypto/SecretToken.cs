using System.Security.Cryptography;

namespace TeamComms.Crypto;

/// <summary>
/// Random bearer secrets (access tokens, setup links, SCIM tokens). The secret is shown once; the server stores only
/// its SHA-256, so a stolen database does not yield working tokens.
/// </summary>
public static class SecretToken
{
    /// <summary>Creates a new secret: a short prefix naming its kind, then 32 random bytes in base64url.</summary>
    public static string Create(string prefix)
    {
        Span<byte> random = stackalloc byte[32];
        RandomNumberGenerator.Fill(random);
        return prefix + System.Buffers.Text.Base64Url.EncodeToString(random);
    }

    /// <summary>SHA-256 of the secret's UTF-8 bytes: what the server stores and looks up.</summary>
    public static byte[] Hash(string secret)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(secret);
        return SHA256.HashData(bytes);
    }
}
