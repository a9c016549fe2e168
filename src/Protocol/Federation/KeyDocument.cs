using System.Buffers;
using MessagePack;

namespace TeamComms.Protocol.Federation;

/// <summary>One verify key in a server's key document.</summary>
/// <param name="KeyId"><c>ed25519:</c> + unpadded base64url of the first 8 bytes of SHA-256(public key).</param>
/// <param name="PublicKey">Raw 32-byte Ed25519 public key.</param>
/// <param name="ValidFrom">First instant (Unix ms) the key signs.</param>
/// <param name="ValidUntil">Last instant (Unix ms) the key signed, for a previous key; null for the current key.</param>
public sealed record VerifyKey(string KeyId, byte[] PublicKey, long ValidFrom, long? ValidUntil)
{
    /// <summary>True when a signature made at <paramref name="timestamp"/> may use this key.</summary>
    public bool ValidAt(long timestamp) => timestamp >= ValidFrom && (ValidUntil is null || timestamp <= ValidUntil);
}

/// <summary>
/// A server's published keys, served at <c>GET /v1/federation/keys</c> as a canonical MessagePack map:
/// <code>{"expires": int, "keys": [{"key_id", "public_key": bin32, "valid_from": int, "valid_until": int|nil}], "server": str, "ts": int, "signature": {"key_id": str, "sig": bin64}}</code>
/// The current key (the one with <c>valid_until</c> nil) signs the canonical encoding of the map without
/// <c>signature</c>. Previous keys stay listed with their validity so that signatures made before a rotation still
/// verify. <c>expires</c> tells peers how long to cache the document.
/// </summary>
public sealed record KeyDocument(string Server, long Timestamp, long Expires, IReadOnlyList<VerifyKey> Keys)
{
    /// <summary>The key id that signed this document, once read or signed.</summary>
    public string? SignedBy { get; init; }

    /// <summary>The signature, once read or signed.</summary>
    public byte[]? Signature { get; init; }

    /// <summary>The current key: the one without an end of validity.</summary>
    public VerifyKey? Current => Keys.FirstOrDefault(k => k.ValidUntil is null);

    /// <summary>Canonical bytes of the document without its signature: what the current key signs.</summary>
    public byte[] SigningInput() => MsgPackValue.ToCanonicalMap(ToMap(withSignature: false));

    /// <summary>The signed document's wire bytes (canonical).</summary>
    public byte[] ToBytes() => MsgPackValue.ToCanonicalMap(ToMap(withSignature: true));

    private Dictionary<string, object?> ToMap(bool withSignature)
    {
        var map = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["server"] = Server,
            ["ts"] = Timestamp,
            ["expires"] = Expires,
            ["keys"] = Keys.Select(k => (object?)new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["key_id"] = k.KeyId,
                ["public_key"] = k.PublicKey,
                ["valid_from"] = k.ValidFrom,
                ["valid_until"] = k.ValidUntil,
            }).ToList(),
        };
        if (withSignature)
        {
            map["signature"] = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["key_id"] = SignedBy ?? throw new InvalidOperationException("the document is not signed"),
                ["sig"] = Signature ?? throw new InvalidOperationException("the document is not signed"),
            };
        }
        return map;
    }

    /// <summary>
    /// Reads a document. The signing input is recomputed from the received map minus <c>signature</c> (so fields this
    /// version does not know are still covered); throws <see cref="ProtocolException"/> when malformed.
    /// </summary>
    public static (KeyDocument Document, byte[] SigningInput) Read(ReadOnlyMemory<byte> bytes)
    {
        var map = MsgPackValue.ReadMap(bytes);
        var f = new FieldMap(map);
        var server = f.RequiredString("server", 200);
        var keys = new List<VerifyKey>();
        if (map.GetValueOrDefault("keys") is not List<object?> list || list.Count is 0 or > 64)
        {
            return ProtocolException.Throw<(KeyDocument, byte[])>(ErrorCode.BadField, "keys must be a list of 1 to 64 keys");
        }
        foreach (var item in list)
        {
            if (item is not Dictionary<string, object?> k)
            {
                return ProtocolException.Throw<(KeyDocument, byte[])>(ErrorCode.BadField, "a key is a map");
            }
            var kf = new FieldMap(k);
            if (k.GetValueOrDefault("public_key") is not byte[] { Length: 32 } pk)
            {
                return ProtocolException.Throw<(KeyDocument, byte[])>(ErrorCode.BadField, "public_key is 32 bytes");
            }
            keys.Add(new VerifyKey(kf.RequiredString("key_id", 64), pk, kf.RequiredInt("valid_from"), kf.OptionalInt("valid_until")));
        }
        if (map.GetValueOrDefault("signature") is not Dictionary<string, object?> sig || sig.GetValueOrDefault("sig") is not byte[] { Length: 64 } signature)
        {
            return ProtocolException.Throw<(KeyDocument, byte[])>(ErrorCode.BadField, "signature {key_id, sig} is required");
        }
        var doc = new KeyDocument(server, f.RequiredInt("ts"), f.RequiredInt("expires"), keys)
        {
            SignedBy = new FieldMap(sig).RequiredString("key_id", 64),
            Signature = signature,
        };
        map.Remove("signature");
        return (doc, MsgPackValue.ToCanonicalMap(map));
    }
}
