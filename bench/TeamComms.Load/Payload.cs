namespace TeamComms.Load;

/// <summary>
/// The message body, identical for every target: 32 ASCII hex digits <c>room(8) ‖ index(8) ‖ intended send time
/// (16, Stopwatch ticks)</c> padded with 'x' to the payload size. ASCII so that it is a valid string body for
/// TeamComms and a plain byte payload for NATS and ws.
/// </summary>
internal static class Payload
{
    public const int HeaderLength = 32;

    public static void Write(Span<byte> destination, int room, int index, long intendedTicks)
    {
        Hex(destination[..8], (uint)room);
        Hex(destination.Slice(8, 8), (uint)index);
        Hex(destination.Slice(16, 8), (uint)((ulong)intendedTicks >> 32));
        Hex(destination.Slice(24, 8), (uint)intendedTicks);
        destination[HeaderLength..].Fill((byte)'x');
    }

    public static bool TryRead(ReadOnlySpan<byte> payload, out int room, out int index, out long intendedTicks)
    {
        room = index = 0;
        intendedTicks = 0;
        if (payload.Length < HeaderLength
            || !TryHex(payload[..8], out var r) || !TryHex(payload.Slice(8, 8), out var i)
            || !TryHex(payload.Slice(16, 8), out var hi) || !TryHex(payload.Slice(24, 8), out var lo))
        {
            return false;
        }
        room = (int)r;
        index = (int)i;
        intendedTicks = (long)(((ulong)hi << 32) | lo);
        return true;
    }

    private static void Hex(Span<byte> d, uint v)
    {
        for (var i = 7; i >= 0; i--)
        {
            var n = (int)(v & 0xF);
            d[i] = (byte)(n < 10 ? '0' + n : 'a' + n - 10);
            v >>= 4;
        }
    }

    private static bool TryHex(ReadOnlySpan<byte> s, out uint v)
    {
        v = 0;
        foreach (var c in s)
        {
            uint n;
            if (c is >= (byte)'0' and <= (byte)'9')
            {
                n = (uint)(c - '0');
            }
            else if (c is >= (byte)'a' and <= (byte)'f')
            {
                n = (uint)(c - 'a' + 10);
            }
            else
            {
                return false;
            }
            v = (v << 4) | n;
        }
        return true;
    }
}
