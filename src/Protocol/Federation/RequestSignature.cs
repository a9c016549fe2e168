using System.Buffers;
using System.Globalization;
using MessagePack;

namespace TeamComms.Protocol.Federation;

/// <summary>
/// The signature on a server-to-server HTTP request, carried in the <c>Authorization</c> header:
/// <code>Authorization: TeamComms-Signature origin="a.example",destination="b.example",key="ed25519:…",ts="1767225600000",sig="…"</code>
/// <para>The signature (Ed25519, unpadded base64url) covers
/// <c>canonical(["tc.request.v1", method, path, SHA-256(body), origin, destination, ts])</c>, where <c>method</c> is
/// upper case, <c>path</c> is the request target exactly as sent (path and query, percent-encoding preserved) and the
/// body digest is over the raw body bytes (the digest of the empty string for a request without a body).</para>
/// </summary>
/// <param name="Origin">The sending server's name.</param>
/// <param name="Destination">The receiving server's name.</param>
/// <param name="KeyId">The sender's signing key id.</param>
/// <param name="Timestamp">When the request was signed, Unix ms.</param>
/// <param name="Signature">64-byte Ed25519 signature.</param>
public sealed record RequestSignature(string Origin, string Destination, string KeyId, long Timestamp, byte[] Signature)
{
    /// <summary>The authorization scheme.</summary>
    public const string Scheme = "TeamComms-Signature";

    /// <summary>Domain separator of the signing input.</summary>
    public const string Domain = "tc.request.v1";

    /// <summary>The canonical signing input.</summary>
    public static byte[] SigningInput(string method, string pathAndQuery, ReadOnlySpan<byte> bodySha256, string origin, string destination, long timestamp)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        var w = new MessagePackWriter(buffer);
        w.WriteArrayHeader(7);
        w.Write(Domain);
        w.Write(method.ToUpperInvariant());
        w.Write(pathAndQuery);
        w.Write(bodySha256);
        w.Write(origin);
        w.Write(destination);
        w.Write(timestamp);
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The header value (without the <c>Authorization:</c> name).</summary>
    public string ToHeader() =>
        $"{Scheme} origin=\"{Origin}\",destination=\"{Destination}\",key=\"{KeyId}\",ts=\"{Timestamp.ToString(CultureInfo.InvariantCulture)}\",sig=\"{System.Buffers.Text.Base64Url.EncodeToString(Signature)}\"";

    /// <summary>Parses the header value; false for anything malformed (unknown parameters are ignored).</summary>
    public static bool TryParse(string? header, out RequestSignature? signature)
    {
        signature = null;
        if (header is null || !header.StartsWith(Scheme + " ", StringComparison.Ordinal) || header.Length > 1024)
        {
            return false;
        }
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var s = header.AsSpan(Scheme.Length + 1);
        while (!s.IsEmpty)
        {
            s = s.TrimStart(' ');
            var eq = s.IndexOf('=');
            if (eq <= 0 || eq + 1 >= s.Length || s[eq + 1] != '"')
            {
                return false;
            }
            var name = s[..eq].Trim().ToString();
            var rest = s[(eq + 2)..];
            var close = rest.IndexOf('"');
            if (close < 0)
            {
                return false;
            }
            if (!values.TryAdd(name, rest[..close].ToString()))
            {
                return false;
            }
            s = rest[(close + 1)..].TrimStart(' ');
            if (!s.IsEmpty)
            {
                if (s[0] != ',')
                {
                    return false;
                }
                s = s[1..];
            }
        }
        if (!values.TryGetValue("origin", out var origin) || !values.TryGetValue("destination", out var destination)
            || !values.TryGetValue("key", out var key) || !values.TryGetValue("ts", out var tsText) || !values.TryGetValue("sig", out var sigText)
            || !long.TryParse(tsText, NumberStyles.None, CultureInfo.InvariantCulture, out var ts)
            || !Identifiers.IsValidServerName(origin) || !Identifiers.IsValidServerName(destination))
        {
            return false;
        }
        var sig = new byte[64];
        if (!System.Buffers.Text.Base64Url.TryDecodeFromChars(sigText, sig, out var written) || written != 64)
        {
            return false;
        }
        signature = new RequestSignature(origin, destination, key, ts, sig);
        return true;
    }

    /// <summary>SHA-256 of a request body.</summary>
    public static byte[] BodyDigest(ReadOnlySpan<byte> body) => System.Security.Cryptography.SHA256.HashData(body);

    /// <inheritdoc/>
    public override string ToString() => $"{Origin} to {Destination} with {KeyId} at {Timestamp}";
}
