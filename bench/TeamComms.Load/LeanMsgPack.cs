using System.Buffers.Binary;

namespace TeamComms.Load;

/// <summary>
/// The generator's own MessagePack reading over spans: measure a whole value (false when the buffer holds only a
/// prefix of it), and read the few fields it needs. No allocation and no exceptions on the receive path: the
/// client's cost on a shared machine is part of every result, so the client decodes no more than it must.
/// </summary>
internal static class LeanMsgPack
{
    /// <summary>Advances <paramref name="p"/> past one whole value; false (p unchanged) if it is incomplete.</summary>
    public static bool TrySkip(ReadOnlySpan<byte> s, ref int p)
    {
        var q = p;
        long remaining = 1;
        while (remaining > 0)
        {
            if (q >= s.Length)
            {
                return false;
            }
            var b = s[q];
            remaining--;
            long skip;
            switch (b)
            {
                case <= 0x7f or >= 0xe0 or 0xc0 or 0xc2 or 0xc3: skip = 1; break;
                case >= 0x80 and <= 0x8f: skip = 1; remaining += 2 * (b & 0x0f); break;
                case >= 0x90 and <= 0x9f: skip = 1; remaining += b & 0x0f; break;
                case >= 0xa0 and <= 0xbf: skip = 1 + (b & 0x1f); break;
                case 0xc4 or 0xd9: if (q + 2 > s.Length) { return false; } skip = 2 + s[q + 1]; break;
                case 0xc5 or 0xda: if (q + 3 > s.Length) { return false; } skip = 3 + BinaryPrimitives.ReadUInt16BigEndian(s[(q + 1)..]); break;
                case 0xc6 or 0xdb: if (q + 5 > s.Length) { return false; } skip = 5 + (long)BinaryPrimitives.ReadUInt32BigEndian(s[(q + 1)..]); break;
                case 0xc7: if (q + 2 > s.Length) { return false; } skip = 3 + s[q + 1]; break;
                case 0xc8: if (q + 3 > s.Length) { return false; } skip = 4 + BinaryPrimitives.ReadUInt16BigEndian(s[(q + 1)..]); break;
                case 0xc9: if (q + 5 > s.Length) { return false; } skip = 6 + (long)BinaryPrimitives.ReadUInt32BigEndian(s[(q + 1)..]); break;
                case 0xca or 0xce or 0xd2: skip = 5; break;
                case 0xcb or 0xcf or 0xd3: skip = 9; break;
                case 0xcc or 0xd0: skip = 2; break;
                case 0xcd or 0xd1: skip = 3; break;
                case 0xd4: skip = 3; break;
                case 0xd5: skip = 4; break;
                case 0xd6: skip = 6; break;
                case 0xd7: skip = 10; break;
                case 0xd8: skip = 18; break;
                case 0xdc: if (q + 3 > s.Length) { return false; } skip = 3; remaining += BinaryPrimitives.ReadUInt16BigEndian(s[(q + 1)..]); break;
                case 0xdd: if (q + 5 > s.Length) { return false; } skip = 5; remaining += BinaryPrimitives.ReadUInt32BigEndian(s[(q + 1)..]); break;
                case 0xde: if (q + 3 > s.Length) { return false; } skip = 3; remaining += 2L * BinaryPrimitives.ReadUInt16BigEndian(s[(q + 1)..]); break;
                case 0xdf: if (q + 5 > s.Length) { return false; } skip = 5; remaining += 2L * BinaryPrimitives.ReadUInt32BigEndian(s[(q + 1)..]); break;
                default: throw new InvalidDataException($"MessagePack byte 0x{b:x2} is not valid");
            }
            q += (int)skip;
        }
        if (q > s.Length)
        {
            return false;
        }
        p = q;
        return true;
    }

    /// <summary>Skips one value known to be complete.</summary>
    public static void Skip(ReadOnlySpan<byte> s, ref int p)
    {
        if (!TrySkip(s, ref p))
        {
            throw new InvalidDataException("truncated MessagePack value");
        }
    }

    public static int ArrayHeader(ReadOnlySpan<byte> s, ref int p)
    {
        var b = s[p];
        switch (b)
        {
            case >= 0x90 and <= 0x9f: p += 1; return b & 0x0f;
            case 0xdc: p += 3; return BinaryPrimitives.ReadUInt16BigEndian(s[(p - 2)..]);
            case 0xdd: p += 5; return (int)BinaryPrimitives.ReadUInt32BigEndian(s[(p - 4)..]);
            default: throw new InvalidDataException("expected an array");
        }
    }

    public static int MapHeader(ReadOnlySpan<byte> s, ref int p)
    {
        var b = s[p];
        switch (b)
        {
            case >= 0x80 and <= 0x8f: p += 1; return b & 0x0f;
            case 0xde: p += 3; return BinaryPrimitives.ReadUInt16BigEndian(s[(p - 2)..]);
            case 0xdf: p += 5; return (int)BinaryPrimitives.ReadUInt32BigEndian(s[(p - 4)..]);
            case 0xc0: p += 1; return 0;
            default: throw new InvalidDataException("expected a map");
        }
    }

    public static long Integer(ReadOnlySpan<byte> s, ref int p)
    {
        var b = s[p];
        switch (b)
        {
            case <= 0x7f: p += 1; return b;
            case >= 0xe0: p += 1; return (sbyte)b;
            case 0xcc: p += 2; return s[p - 1];
            case 0xcd: p += 3; return BinaryPrimitives.ReadUInt16BigEndian(s[(p - 2)..]);
            case 0xce: p += 5; return BinaryPrimitives.ReadUInt32BigEndian(s[(p - 4)..]);
            case 0xcf: p += 9; return (long)BinaryPrimitives.ReadUInt64BigEndian(s[(p - 8)..]);
            case 0xd0: p += 2; return (sbyte)s[p - 1];
            case 0xd1: p += 3; return BinaryPrimitives.ReadInt16BigEndian(s[(p - 2)..]);
            case 0xd2: p += 5; return BinaryPrimitives.ReadInt32BigEndian(s[(p - 4)..]);
            case 0xd3: p += 9; return BinaryPrimitives.ReadInt64BigEndian(s[(p - 8)..]);
            default: throw new InvalidDataException("expected an integer");
        }
    }

    /// <summary>A str or bin value's bytes.</summary>
    public static ReadOnlySpan<byte> Bytes(ReadOnlySpan<byte> s, ref int p)
    {
        var b = s[p];
        int start, length;
        switch (b)
        {
            case >= 0xa0 and <= 0xbf: start = p + 1; length = b & 0x1f; break;
            case 0xd9 or 0xc4: start = p + 2; length = s[p + 1]; break;
            case 0xda or 0xc5: start = p + 3; length = BinaryPrimitives.ReadUInt16BigEndian(s[(p + 1)..]); break;
            case 0xdb or 0xc6: start = p + 5; length = (int)BinaryPrimitives.ReadUInt32BigEndian(s[(p + 1)..]); break;
            default: throw new InvalidDataException("expected a string or binary");
        }
        p = start + length;
        return s.Slice(start, length);
    }
}
