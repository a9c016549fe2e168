namespace TeamComms.Crypto.Age;

/// <summary>Standard base64 without padding, decoded strictly: age refuses padding and non-canonical encodings.</summary>
internal static class AgeBase64
{
    public static string Encode(ReadOnlySpan<byte> data) => Convert.ToBase64String(data).TrimEnd('=');

    public static bool TryDecode(ReadOnlySpan<char> text, out byte[] data)
    {
        data = [];
        if (text.Length % 4 == 1)
        {
            return false;
        }
        foreach (var c in text)
        {
            if (!(c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '+' or '/'))
            {
                return false;
            }
        }
        var padded = new string(text) + new string('=', (4 - (text.Length % 4)) % 4);
        try
        {
            data = Convert.FromBase64String(padded);
        }
        catch (FormatException)
        {
            return false;
        }
        // Canonical: re-encoding gives the same text (no stray bits in the last character).
        return Encode(data).AsSpan().SequenceEqual(text);
    }
}
