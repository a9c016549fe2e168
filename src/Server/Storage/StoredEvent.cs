using System.Buffers.Binary;
using MessagePack;
using TeamComms.Protocol.Frames;

namespace TeamComms.Server.Storage;

/// <summary>
/// One event as stored: the value is the ready-to-send Event frame <c>[68, pos, event]</c> followed by the room's
/// cumulative unread-counting message count (8 bytes, big-endian). Live delivery, replay and history all send the
/// stored bytes without re-encoding.
/// </summary>
internal readonly struct StoredEvent
{
    public StoredEvent(long seq, byte[] value)
    {
        Seq = seq;
        Value = value;
        var frameLength = value.Length - 8;
        MessageCount = BinaryPrimitives.ReadInt64BigEndian(value.AsSpan(frameLength));
        var r = new MessagePackReader(value.AsMemory(0, frameLength));
        r.ReadArrayHeader();
        r.ReadInt32();
        Pos = r.ReadInt64();
        WireOffset = (int)r.Consumed;
        FrameLength = frameLength;
    }

    public long Seq { get; }
    public long Pos { get; }
    public long MessageCount { get; }
    public byte[] Value { get; }
    public int WireOffset { get; }
    public int FrameLength { get; }

    /// <summary>The Event frame bytes.</summary>
    public ReadOnlyMemory<byte> Frame => Value.AsMemory(0, FrameLength);

    /// <summary>The event's wire bytes (inside the frame).</summary>
    public ReadOnlyMemory<byte> Wire => Value.AsMemory(WireOffset, FrameLength - WireOffset);

    /// <summary>Builds a stored value: the Event frame for <paramref name="wire"/> at <paramref name="pos"/>, then the count.</summary>
    public static byte[] Build(long pos, ReadOnlySpan<byte> wire, long messageCount, out int wireOffset)
    {
        // [68, pos, event]: fixarray(3), positive fixint 68, then pos as the shortest MessagePack unsigned integer.
        Span<byte> prefix = stackalloc byte[11];
        prefix[0] = 0x93;
        prefix[1] = FrameType.Event;
        var prefixLength = 2 + WriteUInt(prefix[2..], (ulong)pos);
        var value = new byte[prefixLength + wire.Length + 8];
        prefix[..prefixLength].CopyTo(value);
        wire.CopyTo(value.AsSpan(prefixLength));
        BinaryPrimitives.WriteInt64BigEndian(value.AsSpan(prefixLength + wire.Length), messageCount);
        wireOffset = prefixLength;
        return value;
    }

    private static int WriteUInt(Span<byte> d, ulong v)
    {
        if (v <= 0x7F)
        {
            d[0] = (byte)v;
            return 1;
        }
        if (v <= 0xFF)
        {
            d[0] = MessagePackCode.UInt8;
            d[1] = (byte)v;
            return 2;
        }
        if (v <= 0xFFFF)
        {
            d[0] = MessagePackCode.UInt16;
            BinaryPrimitives.WriteUInt16BigEndian(d[1..], (ushort)v);
            return 3;
        }
        if (v <= 0xFFFF_FFFF)
        {
            d[0] = MessagePackCode.UInt32;
            BinaryPrimitives.WriteUInt32BigEndian(d[1..], (uint)v);
            return 5;
        }
        d[0] = MessagePackCode.UInt64;
        BinaryPrimitives.WriteUInt64BigEndian(d[1..], v);
        return 9;
    }
}
