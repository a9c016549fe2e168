using System.Security.Cryptography;
using System.Text;

namespace TeamComms.Crypto.Age;

/// <summary>Writes and parses the textual age v1 header: version line, recipient stanzas, MAC.</summary>
internal static class AgeHeader
{
    public const string VersionLine = "age-encryption.org/v1";
    private const int Columns = 64;
    /// <summary>Longest header line we accept. Native stanzas are far shorter; post-quantum shares are ~1.5 KB.</summary>
    public const int MaxLineLength = 16 * 1024;
    /// <summary>Largest header we accept, so a hostile file cannot make the reader buffer without bound.</summary>
    public const int MaxHeaderLength = 1024 * 1024;

    public static byte[] Write(IReadOnlyList<AgeStanza> stanzas, ReadOnlySpan<byte> fileKey)
    {
        var sb = new StringBuilder();
        sb.Append(VersionLine).Append('\n');
        foreach (var s in stanzas)
        {
            sb.Append("-> ").Append(s.Type);
            foreach (var a in s.Arguments)
            {
                sb.Append(' ').Append(a);
            }
            sb.Append('\n');
            var body = AgeBase64.Encode(s.Body);
            var i = 0;
            for (; i + Columns <= body.Length; i += Columns)
            {
                sb.Append(body, i, Columns).Append('\n');
            }
            // The body always ends with a line shorter than 64 columns, which may be empty.
            sb.Append(body, i, body.Length - i).Append('\n');
        }
        sb.Append("---");
        var upToDashes = Encoding.ASCII.GetBytes(sb.ToString());
        var mac = AgeCrypto.HeaderMac(fileKey, upToDashes);
        var tail = Encoding.ASCII.GetBytes(" " + AgeBase64.Encode(mac) + "\n");
        return [.. upToDashes, .. tail];
    }

    /// <summary>Checks the header MAC in constant time.</summary>
    public static bool VerifyMac(ReadOnlySpan<byte> fileKey, ReadOnlySpan<byte> upToDashes, ReadOnlySpan<byte> mac)
    {
        var expected = AgeCrypto.HeaderMac(fileKey, upToDashes);
        return CryptographicOperations.FixedTimeEquals(expected, mac);
    }

    /// <summary>Parses one header line (without its LF) into the parse state. Returns true when the MAC line was read.</summary>
    public static bool ParseLine(ReadOnlySpan<byte> line, ParseState state)
    {
        if (!state.SawVersion)
        {
            if (!line.SequenceEqual(Encoding.ASCII.GetBytes(VersionLine)))
            {
                if (line.StartsWith("age-encryption.org/"u8))
                {
                    throw new AgeException(AgeError.Malformed, $"unsupported age version '{Encoding.ASCII.GetString(line)}'");
                }
                throw new AgeException(AgeError.Malformed, "not an age file (no 'age-encryption.org/v1' header)");
            }
            state.SawVersion = true;
            return false;
        }
        if (state.InBody)
        {
            if (line.Length > Columns)
            {
                throw new AgeException(AgeError.Malformed, "malformed age header: stanza body line longer than 64 columns");
            }
            state.Body.Append(Encoding.ASCII.GetString(line));
            if (line.Length < Columns)
            {
                if (!AgeBase64.TryDecode(state.Body.ToString(), out var body))
                {
                    throw new AgeException(AgeError.Malformed, "malformed age header: stanza body is not canonical base64");
                }
                state.Stanzas.Add(new AgeStanza(state.Args[0], state.Args[1..], body));
                state.InBody = false;
                state.Body.Clear();
            }
            return false;
        }
        if (line.StartsWith("-> "u8))
        {
            var text = Encoding.ASCII.GetString(line[3..]);
            var args = text.Split(' ');
            foreach (var a in args)
            {
                if (a.Length == 0 || a.Any(c => c < 33 || c > 126))
                {
                    throw new AgeException(AgeError.Malformed, "malformed age header: bad stanza argument");
                }
            }
            state.Args = args;
            state.InBody = true;
            return false;
        }
        if (line.StartsWith("---"u8))
        {
            if (state.Stanzas.Count == 0)
            {
                throw new AgeException(AgeError.Malformed, "malformed age header: no recipient stanza");
            }
            if (line.Length != 3 + 1 + 43 || line[3] != (byte)' ' || !AgeBase64.TryDecode(Encoding.ASCII.GetString(line[4..]), out var mac) || mac.Length != 32)
            {
                throw new AgeException(AgeError.Malformed, "malformed age header: bad MAC line");
            }
            state.Mac = mac;
            return true;
        }
        throw new AgeException(AgeError.Malformed, "malformed age header: unexpected line");
    }

    internal sealed class ParseState
    {
        public bool SawVersion { get; set; }
        public bool InBody { get; set; }
        public string[] Args { get; set; } = [];
        public StringBuilder Body { get; } = new();
        public List<AgeStanza> Stanzas { get; } = [];
        public byte[] Mac { get; set; } = [];
    }
}
