using System.Buffers.Binary;
using System.Text;

namespace TeamComms.Server.Storage;

/// <summary>
/// Every RocksDB key layout in one place. Integers are big-endian so that byte order equals numeric order:
/// a room's events <c>roomKey ‖ seq</c> are one contiguous range scan.
/// </summary>
internal static partial class KeyCodec
{
    public const int RoomSeqSize = 16;

    /// <summary><c>roomKey (8) ‖ seq (8)</c>, the events key.</summary>
    public static void RoomSeq(Span<byte> destination, long roomKey, long seq)
    {
        BinaryPrimitives.WriteInt64BigEndian(destination, roomKey);
        BinaryPrimitives.WriteInt64BigEndian(destination[8..], seq);
    }

    public static byte[] RoomSeq(long roomKey, long seq)
    {
        var key = new byte[RoomSeqSize];
        RoomSeq(key, roomKey, seq);
        return key;
    }

    public static (long RoomKey, long Seq) ParseRoomSeq(ReadOnlySpan<byte> key) =>
        (BinaryPrimitives.ReadInt64BigEndian(key), BinaryPrimitives.ReadInt64BigEndian(key[8..]));

    /// <summary><c>roomKey (8) ‖ version (4)</c>, the room_keys key (a room's data key versions, in order).</summary>
    public static byte[] RoomKeyVersion(long roomKey, int version)
    {
        var key = new byte[12];
        BinaryPrimitives.WriteInt64BigEndian(key, roomKey);
        BinaryPrimitives.WriteInt32BigEndian(key.AsSpan(8), version);
        return key;
    }

    public static (long RoomKey, int Version) ParseRoomKeyVersion(ReadOnlySpan<byte> key) =>
        (BinaryPrimitives.ReadInt64BigEndian(key), BinaryPrimitives.ReadInt32BigEndian(key[8..]));

    /// <summary>An 8-byte big-endian key.</summary>
    public static byte[] Long(long value)
    {
        var key = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(key, value);
        return key;
    }

    public static long ReadLong(ReadOnlySpan<byte> bytes) => BinaryPrimitives.ReadInt64BigEndian(bytes);

    /// <summary><c>a (8) ‖ b (8)</c>, for pair indexes such as user ‖ room.</summary>
    public static byte[] Pair(long a, long b)
    {
        var key = new byte[16];
        BinaryPrimitives.WriteInt64BigEndian(key, a);
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(8), b);
        return key;
    }

    /// <summary><c>a (8) ‖ utf8(text)</c>, for a per-owner string index (room members, transaction ids).</summary>
    public static byte[] LongString(long a, string text)
    {
        var key = new byte[8 + Encoding.UTF8.GetByteCount(text)];
        BinaryPrimitives.WriteInt64BigEndian(key, a);
        Encoding.UTF8.GetBytes(text, key.AsSpan(8));
        return key;
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>The smallest key greater than every key that starts with <paramref name="prefix"/>, for iterator upper bounds.</summary>
    public static byte[] PrefixUpperBound(ReadOnlySpan<byte> prefix)
    {
        var bound = prefix.ToArray();
        for (var i = bound.Length - 1; i >= 0; i--)
        {
            if (bound[i] != 0xFF)
            {
                bound[i]++;
                return bound[..(i + 1)];
            }
        }
        return [.. prefix, 0xFF];
    }
}
