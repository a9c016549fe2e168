using System.Security.Cryptography;

namespace TeamComms.Protocol;

/// <summary>
/// Server-qualified identifiers. A user id is <c>localpart@server</c> (for example <c>alice@acme.example</c>);
/// a room id is <c>!</c> + 16 base32 characters + <c>@</c> + the hub server (for example
/// <c>!k3j4h5g6k3j4h5g6@acme.example</c>). Both are compared as exact, case-sensitive strings and are
/// always lower case.
/// </summary>
public static class Identifiers
{
    /// <summary>Longest accepted user or room id, in bytes.</summary>
    public const int MaxIdLength = 255;
    /// <summary>Longest accepted localpart.</summary>
    public const int MaxLocalpartLength = 64;

    private const string Base32Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary>True when <paramref name="localpart"/> is 1–64 characters of <c>a-z 0-9 . _ = -</c>.</summary>
    public static bool IsValidLocalpart(ReadOnlySpan<char> localpart)
    {
        if (localpart.IsEmpty || localpart.Length > MaxLocalpartLength)
        {
            return false;
        }
        foreach (var c in localpart)
        {
            if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '_' or '=' or '-'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// True when <paramref name="name"/> is a DNS-style server name: labels of <c>a-z 0-9 -</c> separated by dots,
    /// optionally followed by <c>:port</c>.
    /// </summary>
    public static bool IsValidServerName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > 200)
        {
            return false;
        }
        var colon = name.IndexOf(':');
        var host = colon < 0 ? name : name[..colon];
        if (colon >= 0)
        {
            var port = name[(colon + 1)..];
            if (!ushort.TryParse(port, System.Globalization.NumberStyles.None, null, out var p) || p == 0)
            {
                return false;
            }
        }
        if (host.IsEmpty || host[0] == '.' || host[^1] == '.' || host[0] == '-')
        {
            return false;
        }
        var prevDot = false;
        foreach (var c in host)
        {
            var dot = c == '.';
            if (dot && prevDot)
            {
                return false;
            }
            if (!(dot || c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-'))
            {
                return false;
            }
            prevDot = dot;
        }
        return true;
    }

    /// <summary>True when <paramref name="userId"/> is <c>localpart@server</c> with both parts valid.</summary>
    public static bool IsValidUserId(ReadOnlySpan<char> userId)
    {
        if (userId.Length > MaxIdLength)
        {
            return false;
        }
        var at = userId.IndexOf('@');
        return at > 0 && IsValidLocalpart(userId[..at]) && IsValidServerName(userId[(at + 1)..]);
    }

    /// <summary>True when <paramref name="roomId"/> is <c>!</c> + 16 base32 characters + <c>@server</c>.</summary>
    public static bool IsValidRoomId(ReadOnlySpan<char> roomId)
    {
        if (roomId.Length < 19 || roomId.Length > MaxIdLength || roomId[0] != '!' || roomId[17] != '@')
        {
            return false;
        }
        foreach (var c in roomId[1..17])
        {
            if (Base32Alphabet.IndexOf(c) < 0)
            {
                return false;
            }
        }
        return IsValidServerName(roomId[18..]);
    }

    /// <summary>The server part of a user or room id (after the first <c>@</c>).</summary>
    public static string ServerOf(string id)
    {
        var at = id.IndexOf('@');
        return at < 0 ? ProtocolException.Throw<string>(ErrorCode.BadField, $"'{id}' is not server-qualified") : id[(at + 1)..];
    }

    /// <summary>The localpart of a user id (before the <c>@</c>).</summary>
    public static string LocalpartOf(string userId)
    {
        var at = userId.IndexOf('@');
        return at < 0 ? userId : userId[..at];
    }

    /// <summary>Builds a user id from a localpart and a server name.</summary>
    public static string UserId(string localpart, string server) => localpart + "@" + server;

    /// <summary>A new random room id hosted on <paramref name="server"/> (80 bits of randomness).</summary>
    public static string NewRoomId(string server)
    {
        Span<byte> random = stackalloc byte[10];
        RandomNumberGenerator.Fill(random);
        Span<char> chars = stackalloc char[16];
        // 10 bytes = 80 bits = exactly 16 base32 characters.
        var buffer = 0UL;
        var bits = 0;
        var n = 0;
        foreach (var b in random)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                bits -= 5;
                chars[n++] = Base32Alphabet[(int)((buffer >> bits) & 31)];
            }
        }
        return "!" + new string(chars) + "@" + server;
    }
}
