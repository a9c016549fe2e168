using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace TeamComms.Protocol.Events;

/// <summary>
/// A 32-byte SHA-256 event id. On the wire it is MessagePack bin 32; in JSON and logs it is unpadded
/// base64url (43 characters).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct EventId : IEquatable<EventId>
{
    /// <summary>Size of an id in bytes.</summary>
    public const int Size = 32;

    private readonly ulong _a, _b, _c, _d;

    /// <summary>Creates an id from exactly 32 bytes.</summary>
    public EventId(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            ProtocolException.Throw(ErrorCode.BadField, "an event id is 32 bytes");
        }
        _a = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _b = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        _c = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
        _d = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
    }

    /// <summary>True for the all-zero value, which no real event has.</summary>
    public bool IsEmpty => (_a | _b | _c | _d) == 0;

    /// <summary>Writes the 32 bytes to <paramref name="destination"/>.</summary>
    public void CopyTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _a);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _b);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _c);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _d);
    }

    /// <summary>The 32 bytes as a new array.</summary>
    public byte[] ToArray()
    {
        var bytes = new byte[Size];
        CopyTo(bytes);
        return bytes;
    }

    /// <summary>Parses the unpadded base64url form.</summary>
    public static EventId Parse(string text)
    {
        Span<byte> bytes = stackalloc byte[Size];
        if (!System.Buffers.Text.Base64Url.TryDecodeFromChars(text, bytes, out var written) || written != Size)
        {
            ProtocolException.Throw(ErrorCode.BadField, "not a base64url event id");
        }
        return new EventId(bytes);
    }

    /// <summary>Unpadded base64url, for example in JSON exports.</summary>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Size];
        CopyTo(bytes);
        return System.Buffers.Text.Base64Url.EncodeToString(bytes);
    }

    /// <inheritdoc/>
    public bool Equals(EventId other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is EventId other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_a, _b, _c, _d);

    /// <summary>Equality of the 32 bytes.</summary>
    public static bool operator ==(EventId left, EventId right) => left.Equals(right);

    /// <summary>Inequality of the 32 bytes.</summary>
    public static bool operator !=(EventId left, EventId right) => !left.Equals(right);
}
