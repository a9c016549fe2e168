namespace TeamComms.Crypto.Age;

/// <summary>
/// Bech32 (BIP 173) as age uses it: no length limit on the data part, all-lower or all-upper case, checksum over the
/// lower-case form. age recipients are <c>age1…</c> and identities <c>AGE-SECRET-KEY-1…</c>.
/// </summary>
public static class Bech32
{
    private const string Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    private static readonly uint[] s_generator = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

    /// <summary>Encodes <paramref name="data"/> under the human-readable part <paramref name="hrp"/> (lower case).</summary>
    public static string Encode(string hrp, ReadOnlySpan<byte> data)
    {
        var lowerHrp = hrp.ToLowerInvariant();
        var values = ConvertBits(data, 8, 5, pad: true) ?? throw new ArgumentException("cannot convert data", nameof(data));
        var checksum = CreateChecksum(lowerHrp, values);
        var sb = new System.Text.StringBuilder(lowerHrp.Length + 1 + values.Length + 6);
        sb.Append(lowerHrp).Append('1');
        foreach (var v in values)
        {
            sb.Append(Charset[v]);
        }
        foreach (var v in checksum)
        {
            sb.Append(Charset[v]);
        }
        return sb.ToString();
    }

    /// <summary>Decodes a Bech32 string; false when it is malformed or its checksum is wrong.</summary>
    public static bool TryDecode(string text, out string hrp, out byte[] data)
    {
        hrp = "";
        data = [];
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        bool hasLower = false, hasUpper = false;
        foreach (var c in text)
        {
            if (c < 33 || c > 126)
            {
                return false;
            }
            hasLower |= c is >= 'a' and <= 'z';
            hasUpper |= c is >= 'A' and <= 'Z';
        }
        if (hasLower && hasUpper)
        {
            return false;
        }
        var lower = text.ToLowerInvariant();
        var sep = lower.LastIndexOf('1');
        if (sep < 1 || sep + 7 > lower.Length)
        {
            return false;
        }
        var values = new byte[lower.Length - sep - 1];
        for (var i = 0; i < values.Length; i++)
        {
            var idx = Charset.IndexOf(lower[sep + 1 + i], StringComparison.Ordinal);
            if (idx < 0)
            {
                return false;
            }
            values[i] = (byte)idx;
        }
        var h = lower[..sep];
        if (!VerifyChecksum(h, values))
        {
            return false;
        }
        var decoded = ConvertBits(values.AsSpan(0, values.Length - 6), 5, 8, pad: false);
        if (decoded is null)
        {
            return false;
        }
        hrp = h;
        data = decoded;
        return true;
    }

    private static uint PolyMod(ReadOnlySpan<byte> values, uint chk = 1)
    {
        foreach (var v in values)
        {
            var top = chk >> 25;
            chk = ((chk & 0x1ffffff) << 5) ^ v;
            for (var i = 0; i < 5; i++)
            {
                if (((top >> i) & 1) != 0)
                {
                    chk ^= s_generator[i];
                }
            }
        }
        return chk;
    }

    private static byte[] HrpExpand(string hrp)
    {
        var result = new byte[(hrp.Length * 2) + 1];
        for (var i = 0; i < hrp.Length; i++)
        {
            result[i] = (byte)(hrp[i] >> 5);
            result[hrp.Length + 1 + i] = (byte)(hrp[i] & 31);
        }
        return result;
    }

    private static bool VerifyChecksum(string hrp, ReadOnlySpan<byte> values) =>
        PolyMod(values, PolyMod(HrpExpand(hrp))) == 1;

    private static byte[] CreateChecksum(string hrp, ReadOnlySpan<byte> values)
    {
        var chk = PolyMod(stackalloc byte[6], PolyMod(values, PolyMod(HrpExpand(hrp)))) ^ 1;
        var result = new byte[6];
        for (var i = 0; i < 6; i++)
        {
            result[i] = (byte)((chk >> (5 * (5 - i))) & 31);
        }
        return result;
    }

    private static byte[]? ConvertBits(ReadOnlySpan<byte> data, int fromBits, int toBits, bool pad)
    {
        var acc = 0;
        var bits = 0;
        var maxv = (1 << toBits) - 1;
        var result = new List<byte>((data.Length * fromBits / toBits) + 1);
        foreach (var value in data)
        {
            if (value >> fromBits != 0)
            {
                return null;
            }
            acc = (acc << fromBits) | value;
            bits += fromBits;
            while (bits >= toBits)
            {
                bits -= toBits;
                result.Add((byte)((acc >> bits) & maxv));
            }
        }
        if (pad)
        {
            if (bits > 0)
            {
                result.Add((byte)((acc << (toBits - bits)) & maxv));
            }
        }
        else if (bits >= fromBits || ((acc << (toBits - bits)) & maxv) != 0)
        {
            return null;
        }
        return [.. result];
    }
}
