using System.Buffers.Binary;

namespace TeamComms.Protocol;

/// <summary>
/// A resume token: 17 bytes, <c>0x01 ‖ epoch (8, big-endian) ‖ position (8, big-endian)</c>. Clients treat it as
/// opaque bytes: keep the last one the server sent (in Welcome or Position) and send it back in Hello.
/// The epoch identifies the server's data directory, so a token from another server or an unrelated restore is
/// refused with <see cref="ErrorCode.ResumeInvalid"/> instead of silently skipping events.
/// </summary>
public readonly record struct ResumeToken(ulong Epoch, long Position)
{
    /// <summary>Encoded size.</summary>
    public const int Size = 17;
    private const byte Version = 1;

    /// <summary>Writes the 17 bytes.</summary>
    public void Write(Span<byte> destination)
    {
        destination[0] = Version;
        BinaryPrimitives.WriteUInt64BigEndian(destination[1..], Epoch);
        BinaryPrimitives.WriteInt64BigEndian(destination[9..], Position);
    }

    /// <summary>The 17 bytes as a new array.</summary>
    public byte[] ToArray()
    {
        var bytes = new byte[Size];
        Write(bytes);
        return bytes;
    }

    /// <summary>Parses a token; false when the bytes are not a version-1 token.</summary>
    public static bool TryParse(ReadOnlySpan<byte> bytes, out ResumeToken token)
    {
        if (bytes.Length != Size || bytes[0] != Version)
        {
            token = default;
            return false;
        }
        var pos = BinaryPrimitives.ReadInt64BigEndian(bytes[9..]);
        token = new ResumeToken(BinaryPrimitives.ReadUInt64BigEndian(bytes[1..]), pos);
        return pos >= 0;
    }
}
