using System.Buffers;
using MessagePack;

namespace TeamComms.Protocol.Events;

/// <summary>
/// The origin server's signature on an event its user proposed to a room hosted on another server (the hub). It is
/// the optional eleventh element of the event array, <c>[key_id: str, origin_ts: int, nonce: str, sig: bin64]</c>,
/// and is not part of the event id, so adding it changes no id and readers that do not know it skip it.
/// <para>The signature covers the fields the origin proposes, never the fields the hub assigns:
/// <c>canonical(["tc.origin.v1", v, room, sender, type, content_hash, origin_ts, nonce])</c>. The hub can therefore
/// order the event but cannot change its room, sender, type or content. The nonce is unique per origin server and
/// makes the proposal idempotent at the hub.</para>
/// </summary>
/// <param name="KeyId">The origin server's signing key, as published in its key document (<c>ed25519:…</c>).</param>
/// <param name="Timestamp">When the origin signed, Unix ms; the key must have been valid then.</param>
/// <param name="Nonce">Unique per origin server (at most <see cref="MaxNonceLength"/> characters).</param>
/// <param name="Signature">Ed25519 signature, 64 bytes.</param>
public sealed record OriginSignature(string KeyId, long Timestamp, string Nonce, byte[] Signature)
{
    /// <summary>Domain separator of the signing input.</summary>
    public const string Domain = "tc.origin.v1";

    /// <summary>Longest accepted nonce.</summary>
    public const int MaxNonceLength = 128;

    /// <summary>Writes the canonical signing input for a proposal.</summary>
    public static void WriteSigningInput(IBufferWriter<byte> output, int version, string roomId, string sender, string type,
        ReadOnlySpan<byte> contentHash, long timestamp, string nonce)
    {
        var w = new MessagePackWriter(output);
        w.WriteArrayHeader(8);
        w.Write(Domain);
        w.Write(version);
        w.Write(roomId);
        w.Write(sender);
        w.Write(type);
        w.Write(contentHash);
        w.Write(timestamp);
        w.Write(nonce);
        w.Flush();
    }

    /// <summary>The canonical signing input for a proposal, as a new array.</summary>
    public static byte[] SigningInput(int version, string roomId, string sender, string type, ReadOnlySpan<byte> contentHash, long timestamp, string nonce)
    {
        var buffer = new ArrayBufferWriter<byte>(192);
        WriteSigningInput(buffer, version, roomId, sender, type, contentHash, timestamp, nonce);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The signing input for this signature over the proposed fields of <paramref name="e"/>.</summary>
    public byte[] SigningInput(RoomEvent e) => SigningInput(e.Version, e.RoomId, e.Sender, e.Type, e.ContentHash, Timestamp, Nonce);

    /// <summary>
    /// A placeholder for a proposal that is signed later, when it is sent (a server's outbox in cluster mode): an empty
    /// key id and a zero signature, which never verifies. Never sent to another server as it is.
    /// </summary>
    public static OriginSignature Placeholder(long timestamp, string nonce) => new("", timestamp, nonce, new byte[64]);

    /// <summary>True for <see cref="Placeholder"/>.</summary>
    public bool IsUnsigned => KeyId.Length == 0;

    /// <summary>Writes the element <c>[key_id, origin_ts, nonce, sig]</c>.</summary>
    public void Write(ref MessagePackWriter w)
    {
        w.WriteArrayHeader(4);
        w.Write(KeyId);
        w.Write(Timestamp);
        w.Write(Nonce);
        w.Write(Signature);
    }

    /// <summary>The element as bytes.</summary>
    public byte[] ToBytes()
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        var w = new MessagePackWriter(buffer);
        Write(ref w);
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Reads the element. Anything that is not exactly <c>[str, int, str, bin64]</c> yields null and is skipped:
    /// an event whose sender needs an origin signature and has none (or a malformed one) fails verification.
    /// </summary>
    public static OriginSignature? TryRead(ref MessagePackReader r)
    {
        var start = r;
        try
        {
            if (r.NextMessagePackType == MessagePackType.Array && r.ReadArrayHeader() == 4
                && r.NextMessagePackType == MessagePackType.String)
            {
                var keyId = r.ReadString()!;
                if (r.NextMessagePackType == MessagePackType.Integer)
                {
                    var ts = r.ReadInt64();
                    if (r.NextMessagePackType == MessagePackType.String)
                    {
                        var nonce = r.ReadString()!;
                        if (r.NextMessagePackType == MessagePackType.Binary && nonce.Length is > 0 and <= MaxNonceLength
                            && keyId.Length <= 64)
                        {
                            var sig = r.ReadBytes()!.Value;
                            if (sig.Length == 64)
                            {
                                return new OriginSignature(keyId, ts, nonce, sig.ToArray());
                            }
                        }
                    }
                }
            }
        }
        catch (MessagePackSerializationException)
        {
        }
        r = start;
        r.Skip();
        return null;
    }
}
