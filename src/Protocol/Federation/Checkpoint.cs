using System.Buffers;
using MessagePack;
using TeamComms.Protocol.Events;

namespace TeamComms.Protocol.Federation;

/// <summary>
/// The hub's signed statement "room R's log at seq S ends in event H". One checkpoint covers a whole batch of events:
/// the participant checks that the batch chains to <see cref="Head"/> at <see cref="Seq"/>, so one Ed25519 signature
/// vouches for every event before it, as a signed tree head does in Certificate Transparency.
/// <para>Wire form: <c>[room: str, seq: uint, head: bin32, ts: int, key_id: str, sig: bin64]</c>. The signature covers
/// <c>canonical(["tc.checkpoint.v1", room, seq, head, ts])</c>; the signer is the room's hub (the server in the room id).</para>
/// </summary>
public sealed record Checkpoint(string RoomId, long Seq, EventId Head, long Timestamp, string KeyId, byte[] Signature)
{
    /// <summary>Domain separator of the signing input.</summary>
    public const string Domain = "tc.checkpoint.v1";

    /// <summary>The canonical signing input.</summary>
    public static byte[] SigningInput(string roomId, long seq, EventId head, long timestamp)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        var w = new MessagePackWriter(buffer);
        w.WriteArrayHeader(5);
        w.Write(Domain);
        w.Write(roomId);
        w.Write(seq);
        EventCodec.WriteId(ref w, head);
        w.Write(timestamp);
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The signing input of this checkpoint.</summary>
    public byte[] SigningInput() => SigningInput(RoomId, Seq, Head, Timestamp);

    /// <summary>Writes the wire form.</summary>
    public void Write(ref MessagePackWriter w)
    {
        w.WriteArrayHeader(6);
        w.Write(RoomId);
        w.Write(Seq);
        EventCodec.WriteId(ref w, Head);
        w.Write(Timestamp);
        w.Write(KeyId);
        w.Write(Signature);
    }

    /// <summary>Reads the wire form; throws <see cref="ProtocolException"/> when malformed.</summary>
    public static Checkpoint Read(ref MessagePackReader r)
    {
        var n = r.ReadArrayHeader();
        if (n < 6)
        {
            ProtocolException.Throw(ErrorCode.BadField, "a checkpoint has 6 fields");
        }
        var room = r.ReadString() ?? ProtocolException.Throw<string>(ErrorCode.BadField, "checkpoint room is nil");
        var seq = r.ReadInt64();
        var head = EventCodec.ReadId(ref r);
        var ts = r.ReadInt64();
        var key = r.ReadString() ?? ProtocolException.Throw<string>(ErrorCode.BadField, "checkpoint key is nil");
        var sig = r.ReadBytes() ?? ProtocolException.Throw<ReadOnlySequence<byte>>(ErrorCode.BadField, "checkpoint signature is nil");
        if (sig.Length != 64)
        {
            ProtocolException.Throw(ErrorCode.BadField, "a checkpoint signature is 64 bytes");
        }
        for (var i = 6; i < n; i++)
        {
            r.Skip();
        }
        return new Checkpoint(room, seq, head, ts, key, sig.ToArray());
    }
}
