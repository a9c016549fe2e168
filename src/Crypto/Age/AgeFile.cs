using System.Text;

namespace TeamComms.Crypto.Age;

/// <summary>Whole-buffer helpers over the streaming writer and reader, for small payloads such as wrapped keys and shares.</summary>
public static class AgeFile
{
    private const string ArmorBegin = "-----BEGIN AGE ENCRYPTED FILE-----";
    private const string ArmorEnd = "-----END AGE ENCRYPTED FILE-----";

    /// <summary>Encrypts <paramref name="plaintext"/> to <paramref name="recipients"/> as a binary age file.</summary>
    public static byte[] Encrypt(ReadOnlySpan<byte> plaintext, IEnumerable<AgeRecipient> recipients)
    {
        using var ms = new MemoryStream();
        using (var age = new AgeEncryptStream(ms, recipients, leaveOpen: true))
        {
            age.Write(plaintext);
            age.Complete();
        }
        return ms.ToArray();
    }

    /// <summary>Decrypts a binary or armored age file with the first matching identity.</summary>
    public static byte[] Decrypt(ReadOnlySpan<byte> file, IEnumerable<AgeIdentity> identities)
    {
        var bytes = file.StartsWith(Encoding.ASCII.GetBytes(ArmorBegin)) ? Dearmor(Encoding.ASCII.GetString(file)) : file.ToArray();
        using var input = new MemoryStream(bytes);
        using var age = new AgeDecryptStream(input, identities);
        using var output = new MemoryStream();
        age.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>The ASCII armor (PEM-like) form of an age file, which <c>age -d</c> reads too.</summary>
    public static string Armor(ReadOnlySpan<byte> file)
    {
        var b64 = Convert.ToBase64String(file);
        var sb = new StringBuilder(ArmorBegin).Append('\n');
        for (var i = 0; i < b64.Length; i += 64)
        {
            sb.Append(b64, i, Math.Min(64, b64.Length - i)).Append('\n');
        }
        return sb.Append(ArmorEnd).Append('\n').ToString();
    }

    /// <summary>True when <paramref name="text"/> starts like an armored age file.</summary>
    public static bool IsArmored(string text) => text.TrimStart().StartsWith(ArmorBegin, StringComparison.Ordinal);

    /// <summary>Decodes the ASCII armor; throws <see cref="AgeException"/> when it is malformed.</summary>
    public static byte[] Dearmor(string text)
    {
        var lines = text.Trim().Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        if (lines.Length < 2 || lines[0] != ArmorBegin || lines[^1] != ArmorEnd)
        {
            throw new AgeException(AgeError.Malformed, "malformed age armor");
        }
        var sb = new StringBuilder();
        for (var i = 1; i < lines.Length - 1; i++)
        {
            if (lines[i].Length > 64 || (i < lines.Length - 2 && lines[i].Length != 64))
            {
                throw new AgeException(AgeError.Malformed, "malformed age armor: bad line length");
            }
            sb.Append(lines[i]);
        }
        try
        {
            return Convert.FromBase64String(sb.ToString());
        }
        catch (FormatException)
        {
            throw new AgeException(AgeError.Malformed, "malformed age armor: not base64");
        }
    }
}
