using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace TeamComms.Crypto.Escrow;

/// <summary>
/// One Shamir share of an escrow private key, as one line of text:
/// <c>tcescrow1-&lt;key id&gt;-&lt;t&gt;of&lt;n&gt;-&lt;index&gt;-&lt;share hex&gt;-&lt;check&gt;</c>.
/// The key id names the escrow key (so shares of two keys are never mixed), and the check (the first 4 bytes of
/// SHA-256 over everything before it) catches a mistyped or damaged share before it is used.
/// </summary>
public sealed class EscrowShare
{
    /// <summary>The prefix of every share line.</summary>
    public const string Prefix = "tcescrow1";

    /// <summary>Creates a share.</summary>
    public EscrowShare(string keyId, int threshold, int count, int index, byte[] data)
    {
        if (threshold < 2 || count < threshold || count > 255 || index < 1 || index > count)
        {
            throw new ArgumentException("invalid share parameters");
        }
        KeyId = keyId;
        Threshold = threshold;
        Count = count;
        Index = index;
        Data = data;
    }

    /// <summary>The escrow key's id (<see cref="Age.AgeRecipient.KeyId"/> of its public key).</summary>
    public string KeyId { get; }

    /// <summary>How many shares recombine the key.</summary>
    public int Threshold { get; }

    /// <summary>How many shares were made.</summary>
    public int Count { get; }

    /// <summary>This share's x coordinate, 1 to <see cref="Count"/>.</summary>
    public int Index { get; }

    /// <summary>The share bytes (one y value per secret byte).</summary>
    public byte[] Data { get; }

    /// <summary>The share as one line of text, with its checksum.</summary>
    public override string ToString()
    {
        var body = string.Create(CultureInfo.InvariantCulture,
            $"{Prefix}-{KeyId}-{Threshold}of{Count}-{Index}-{Convert.ToHexStringLower(Data)}");
        return body + "-" + Check(body);
    }

    /// <summary>
    /// Parses a share line. <paramref name="name"/> (a file name or "share 2") appears in every error, so a bad share
    /// among several is named.
    /// </summary>
    public static EscrowShare Parse(string text, string name)
    {
        var line = text.Trim();
        var parts = line.Split('-');
        if (parts.Length != 6 || parts[0] != Prefix)
        {
            throw new EscrowShareException(name, "is not a TeamComms escrow share (tcescrow1-…)");
        }
        var body = line[..line.LastIndexOf('-')];
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Check(body)), Encoding.ASCII.GetBytes(parts[5])))
        {
            throw new EscrowShareException(name, "is corrupted: its checksum does not match (a mistyped or damaged share)");
        }
        var tn = parts[2].Split("of");
        if (parts[1].Length != 16 || tn.Length != 2
            || !int.TryParse(tn[0], NumberStyles.None, CultureInfo.InvariantCulture, out var t)
            || !int.TryParse(tn[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            || !int.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var i)
            || t < 2 || n < t || n > 255 || i < 1 || i > n)
        {
            throw new EscrowShareException(name, "is malformed: bad key id, threshold, count or index");
        }
        byte[] data;
        try
        {
            data = Convert.FromHexString(parts[4]);
        }
        catch (FormatException)
        {
            throw new EscrowShareException(name, "is malformed: the share data is not hex");
        }
        if (data.Length != 32)
        {
            throw new EscrowShareException(name, "is malformed: the share data is not 32 bytes");
        }
        return new EscrowShare(parts[1], t, n, i, data);
    }

    private static string Check(string body)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.ASCII.GetBytes(body), hash);
        return Convert.ToHexStringLower(hash[..4]);
    }
}

/// <summary>A share was refused. <see cref="ShareName"/> says which one.</summary>
public sealed class EscrowShareException : Exception
{
    /// <summary>Creates the exception for the named share.</summary>
    public EscrowShareException(string shareName, string reason) : base($"{shareName} {reason}")
    {
        ShareName = shareName;
    }

    /// <summary>Creates the exception (prefer the named-share constructor).</summary>
    public EscrowShareException() : this("share", "is invalid")
    {
    }

    /// <summary>Creates the exception (prefer the named-share constructor).</summary>
    public EscrowShareException(string message) : base(message) => ShareName = "";

    /// <summary>Creates the exception (prefer the named-share constructor).</summary>
    public EscrowShareException(string message, Exception innerException) : base(message, innerException) => ShareName = "";

    /// <summary>The name of the refused share; empty when the problem is the set of shares as a whole.</summary>
    public string ShareName { get; }
}
