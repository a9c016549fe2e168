using System.Security.Cryptography;
using NSec.Cryptography;

namespace TeamComms.Crypto;

/// <summary>Argon2id cost parameters. Memory is in KiB.</summary>
/// <param name="MemoryKiB">Memory cost in KiB (OWASP 2024 minimum for Argon2id: 19456 KiB, i.e. 19 MiB).</param>
/// <param name="Passes">Time cost (iterations); OWASP pairs 19 MiB with 2 passes.</param>
public readonly record struct Argon2Cost(long MemoryKiB, long Passes)
{
    /// <summary>OWASP Password Storage Cheat Sheet (2024): m=19 MiB, t=2, p=1.</summary>
    public static Argon2Cost Owasp => new(19 * 1024, 2);

    /// <summary>The cheapest cost libsodium accepts; for tests and bulk-provisioned throwaway accounts only.</summary>
    public static Argon2Cost Minimal => new(8, 1);
}

/// <summary>
/// Hashes and verifies passwords with Argon2id (libsodium through NSec). The stored form is the PHC string
/// <c>$argon2id$v=19$m=…,t=…,p=1$salt$hash</c>, so costs can rise later while old hashes still verify.
/// </summary>
public static class PasswordHasher
{
    private const int SaltSize = 16;
    private const int HashSize = 32;

    /// <summary>Hashes a password with a fresh random salt.</summary>
    public static string Hash(string password, Argon2Cost cost)
    {
        ArgumentNullException.ThrowIfNull(password);
        var salt = RandomNumberGenerator.GetBytes(SaltSize);
        var hash = Derive(password, salt, cost);
        return $"$argon2id$v=19$m={cost.MemoryKiB},t={cost.Passes},p=1${Convert.ToBase64String(salt).TrimEnd('=')}${Convert.ToBase64String(hash).TrimEnd('=')}";
    }

    /// <summary>True when <paramref name="password"/> matches the PHC string; false for any malformed string.</summary>
    public static bool Verify(string password, string encoded)
    {
        if (!TryParse(encoded, out var cost, out var salt, out var expected))
        {
            return false;
        }
        var actual = Derive(password, salt, cost);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>True when the stored hash was made with a cost lower than <paramref name="current"/> and should be rehashed at next login.</summary>
    public static bool NeedsRehash(string encoded, Argon2Cost current) =>
        !TryParse(encoded, out var cost, out _, out _) || cost.MemoryKiB < current.MemoryKiB || cost.Passes < current.Passes;

    private static byte[] Derive(string password, byte[] salt, Argon2Cost cost)
    {
        var parameters = new Argon2Parameters
        {
            DegreeOfParallelism = 1,
            MemorySize = cost.MemoryKiB,
            NumberOfPasses = cost.Passes,
        };
        var algorithm = PasswordBasedKeyDerivationAlgorithm.Argon2id(in parameters);
        return algorithm.DeriveBytes(password, salt, HashSize);
    }

    private static bool TryParse(string encoded, out Argon2Cost cost, out byte[] salt, out byte[] hash)
    {
        cost = default;
        salt = hash = [];
        var parts = encoded.Split('$');
        // "", "argon2id", "v=19", "m=..,t=..,p=1", salt, hash
        if (parts.Length != 6 || parts[1] != "argon2id" || parts[2] != "v=19")
        {
            return false;
        }
        long m = 0, t = 0;
        foreach (var kv in parts[3].Split(','))
        {
            var eq = kv.IndexOf('=');
            if (eq < 0 || !long.TryParse(kv.AsSpan(eq + 1), out var v))
            {
                return false;
            }
            switch (kv[..eq])
            {
                case "m": m = v; break;
                case "t": t = v; break;
                case "p" when v == 1: break;
                default: return false;
            }
        }
        try
        {
            salt = Convert.FromBase64String(Pad(parts[4]));
            hash = Convert.FromBase64String(Pad(parts[5]));
        }
        catch (FormatException)
        {
            return false;
        }
        cost = new Argon2Cost(m, t);
        return m > 0 && t > 0 && salt.Length == SaltSize && hash.Length == HashSize;
    }

    private static string Pad(string b64) => b64.PadRight(b64.Length + ((4 - (b64.Length % 4)) % 4), '=');
}
