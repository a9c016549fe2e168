using System.Security.Cryptography;
using TeamComms.Crypto.Age;

namespace TeamComms.Crypto.Escrow;

/// <summary>
/// The company escrow key: an age X25519 key pair whose private half exists whole only during the ceremony that
/// creates it and the recovery that uses it. It is split with Shamir's secret sharing over GF(256): any
/// <c>threshold</c> of the <c>count</c> shares recombine it, fewer reveal nothing about it.
/// </summary>
public static class EscrowKey
{
    /// <summary>The default split: 5 shares, any 3 recombine.</summary>
    public const int DefaultShares = 5;

    /// <inheritdoc cref="DefaultShares"/>
    public const int DefaultThreshold = 3;

    /// <summary>Splits <paramref name="identity"/>'s private key into <paramref name="count"/> shares, any <paramref name="threshold"/> of which recombine it.</summary>
    public static IReadOnlyList<EscrowShare> Split(AgeIdentity identity, int count, int threshold)
    {
        if (threshold < 2 || threshold > count || count > 255)
        {
            throw new ArgumentException($"need 2 <= threshold <= shares <= 255 (got {threshold} of {count})");
        }
        var secret = identity.ExportPrivateKey();
        var coefficients = new byte[threshold];
        var ys = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            ys[i] = new byte[secret.Length];
        }
        try
        {
            for (var b = 0; b < secret.Length; b++)
            {
                coefficients[0] = secret[b];
                RandomNumberGenerator.Fill(coefficients.AsSpan(1));
                for (var i = 0; i < count; i++)
                {
                    ys[i][b] = Gf256.Evaluate(coefficients, (byte)(i + 1));
                }
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
            CryptographicOperations.ZeroMemory(coefficients);
        }
        var keyId = identity.Recipient.KeyId;
        return [.. Enumerable.Range(0, count).Select(i => new EscrowShare(keyId, threshold, count, i + 1, ys[i]))];
    }

    /// <summary>
    /// Recombines the escrow identity from named shares. Every failure names its cause: a share of another key, a
    /// duplicate, too few shares, or a share that does not lie on the others' polynomial (checked against the key id).
    /// </summary>
    public static AgeIdentity Combine(IReadOnlyList<(string Name, EscrowShare Share)> shares)
    {
        if (shares.Count == 0)
        {
            throw new EscrowShareException("no shares given");
        }
        var first = shares[0];
        foreach (var (name, share) in shares.Skip(1))
        {
            if (share.KeyId != first.Share.KeyId)
            {
                throw new EscrowShareException(name,
                    $"belongs to escrow key {share.KeyId}, but {first.Name} belongs to {first.Share.KeyId}: shares of two different keys cannot be combined");
            }
            if (share.Threshold != first.Share.Threshold || share.Count != first.Share.Count)
            {
                throw new EscrowShareException(name,
                    $"says {share.Threshold} of {share.Count}, but {first.Name} says {first.Share.Threshold} of {first.Share.Count}");
            }
        }
        var distinct = new Dictionary<int, (string Name, EscrowShare Share)>();
        foreach (var s in shares)
        {
            if (distinct.TryGetValue(s.Share.Index, out var other))
            {
                if (!s.Share.Data.AsSpan().SequenceEqual(other.Share.Data))
                {
                    throw new EscrowShareException(s.Name, $"and {other.Name} both claim to be share {s.Share.Index} but differ: one of them is wrong");
                }
                continue;
            }
            distinct[s.Share.Index] = s;
        }
        var threshold = first.Share.Threshold;
        if (distinct.Count < threshold)
        {
            throw new EscrowShareException(
                $"too few shares: {distinct.Count} distinct share(s) given, escrow key {first.Share.KeyId} needs {threshold} of {first.Share.Count}");
        }
        var all = distinct.Values.OrderBy(s => s.Share.Index).ToList();
        // Try the first threshold-sized subsets until one reconstructs the key named by the key id; shares off that
        // polynomial are then named. Checksums catch damage; this catches a share with a valid checksum but wrong data.
        foreach (var subset in Subsets(all.Count, threshold))
        {
            var chosen = subset.Select(i => all[i]).ToList();
            var identity = Reconstruct(chosen.Select(c => c.Share).ToList(), 0);
            if (identity is not null && identity.Recipient.KeyId == first.Share.KeyId)
            {
                var bad = all.Where(s => !chosen.Contains(s) && !LiesOn(chosen.Select(c => c.Share).ToList(), s.Share)).ToList();
                if (bad.Count > 0)
                {
                    identity.Dispose();
                    throw new EscrowShareException(bad[0].Name, "does not fit the other shares of this key: it is wrong or damaged");
                }
                return identity;
            }
            identity?.Dispose();
        }
        throw new EscrowShareException(all.Count == threshold
            ? $"the {threshold} shares do not reconstruct escrow key {first.Share.KeyId}: at least one of them is wrong (give another share to find which)"
            : $"no {threshold} of the {all.Count} shares reconstruct escrow key {first.Share.KeyId}: too many of them are wrong");
    }

    private static AgeIdentity? Reconstruct(List<EscrowShare> shares, byte at)
    {
        var xs = shares.Select(s => (byte)s.Index).ToArray();
        var secret = new byte[32];
        var ys = new byte[shares.Count];
        try
        {
            for (var b = 0; b < secret.Length; b++)
            {
                for (var i = 0; i < shares.Count; i++)
                {
                    ys[i] = shares[i].Data[b];
                }
                secret[b] = Gf256.Interpolate(xs, ys, at);
            }
            return AgeIdentity.FromPrivateKey(secret);
        }
        catch (CryptographicException)
        {
            return null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    private static bool LiesOn(List<EscrowShare> basis, EscrowShare candidate)
    {
        var xs = basis.Select(s => (byte)s.Index).ToArray();
        var ys = new byte[basis.Count];
        for (var b = 0; b < 32; b++)
        {
            for (var i = 0; i < basis.Count; i++)
            {
                ys[i] = basis[i].Data[b];
            }
            if (Gf256.Interpolate(xs, ys, (byte)candidate.Index) != candidate.Data[b])
            {
                return false;
            }
        }
        return true;
    }

    private static IEnumerable<int[]> Subsets(int n, int k)
    {
        var idx = Enumerable.Range(0, k).ToArray();
        while (true)
        {
            yield return [.. idx];
            var i = k - 1;
            while (i >= 0 && idx[i] == n - k + i)
            {
                i--;
            }
            if (i < 0)
            {
                yield break;
            }
            idx[i]++;
            for (var j = i + 1; j < k; j++)
            {
                idx[j] = idx[j - 1] + 1;
            }
        }
    }
}
