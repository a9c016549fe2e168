using System.Buffers;
using System.Text.Unicode;
using MessagePack;

namespace TeamComms.Protocol.Canonical;

/// <summary>
/// The canonical MessagePack form that event hashes are computed over. One logical value has exactly one
/// canonical encoding:
/// <list type="bullet">
/// <item>integers use the shortest encoding (positive fixint, uint8/16/32/64, negative fixint, int8/16/32/64);</item>
/// <item>floats are always float64; NaN and infinities are refused;</item>
/// <item>strings are valid UTF-8 with the shortest str header; binary uses the shortest bin header;</item>
/// <item>map keys are strings, unique, sorted by their UTF-8 bytes (ordinal);</item>
/// <item>extension types (including timestamps) are refused; nesting is at most <see cref="MaxDepth"/> deep.</item>
/// </list>
/// </summary>
public static class CanonicalMessagePack
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_scratch;

    /// <summary>Deepest nesting of arrays and maps accepted in content.</summary>
    public const int MaxDepth = 16;

    /// <summary>
    /// Re-encodes one MessagePack value in canonical form. Throws <see cref="ProtocolException"/> with
    /// <see cref="ErrorCode.BadField"/> when the value cannot be canonical (duplicate keys, non-string keys,
    /// extension types, invalid UTF-8, non-finite floats, too deep).
    /// </summary>
    public static byte[] Canonicalize(ReadOnlyMemory<byte> value)
    {
        // A per-thread scratch writer: the result array is the only allocation (decoding a Send frame allocates
        // no more than the frame it produces).
        var output = t_scratch ??= new ArrayBufferWriter<byte>(1024);
        output.ResetWrittenCount();
        if (output.Capacity > 256 * 1024)
        {
            output = t_scratch = new ArrayBufferWriter<byte>(1024); // do not keep one huge content's buffer forever
        }
        var reader = new MessagePackReader(value);
        var writer = new MessagePackWriter(output);
        try
        {
            CopyValue(ref reader, ref writer, 0);
            writer.Flush();
        }
        catch (MessagePackSerializationException ex)
        {
            throw new ProtocolException(ErrorCode.BadField, "content is not valid MessagePack: " + ex.Message, ex);
        }
        catch (EndOfStreamException ex)
        {
            throw new ProtocolException(ErrorCode.BadField, "content is truncated", ex);
        }
        if (!reader.End)
        {
            ProtocolException.Throw(ErrorCode.BadField, "trailing bytes after content value");
        }
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Re-encodes a value that must be a map; see <see cref="Canonicalize"/>.</summary>
    public static byte[] CanonicalizeMap(ReadOnlyMemory<byte> value)
    {
        var reader = new MessagePackReader(value);
        if (reader.End || reader.NextMessagePackType != MessagePackType.Map)
        {
            ProtocolException.Throw(ErrorCode.BadField, "content must be a map");
        }
        return Canonicalize(value);
    }

    /// <summary>True when <paramref name="value"/> is already exactly canonical.</summary>
    public static bool IsCanonical(ReadOnlyMemory<byte> value)
    {
        try
        {
            return Canonicalize(value).AsSpan().SequenceEqual(value.Span);
        }
        catch (ProtocolException)
        {
            return false;
        }
    }

    private static void CopyValue(ref MessagePackReader reader, ref MessagePackWriter writer, int depth)
    {
        if (depth > MaxDepth)
        {
            ProtocolException.Throw(ErrorCode.BadField, $"content nests deeper than {MaxDepth}");
        }
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Nil:
                reader.ReadNil();
                writer.WriteNil();
                break;
            case MessagePackType.Boolean:
                writer.Write(reader.ReadBoolean());
                break;
            case MessagePackType.Integer:
                if (reader.NextCode == MessagePackCode.UInt64)
                {
                    writer.Write(reader.ReadUInt64());
                }
                else
                {
                    writer.Write(reader.ReadInt64());
                }
                break;
            case MessagePackType.Float:
                var d = reader.ReadDouble();
                if (!double.IsFinite(d))
                {
                    ProtocolException.Throw(ErrorCode.BadField, "non-finite float in content");
                }
                writer.Write(d);
                break;
            case MessagePackType.String:
                var s = reader.ReadStringSequence() ?? default;
                var str = s.IsSingleSegment ? s.First.Span : s.ToArray();
                if (!Utf8.IsValid(str))
                {
                    ProtocolException.Throw(ErrorCode.BadField, "string is not valid UTF-8");
                }
                writer.WriteString(str);
                break;
            case MessagePackType.Binary:
                var b = reader.ReadBytes() ?? default;
                writer.Write(b.IsSingleSegment ? b.First.Span : b.ToArray());
                break;
            case MessagePackType.Array:
                var count = reader.ReadArrayHeader();
                writer.WriteArrayHeader(count);
                for (var i = 0; i < count; i++)
                {
                    CopyValue(ref reader, ref writer, depth + 1);
                }
                break;
            case MessagePackType.Map:
                CopyMap(ref reader, ref writer, depth);
                break;
            default:
                ProtocolException.Throw(ErrorCode.BadField, $"MessagePack type {reader.NextMessagePackType} is not allowed in content");
                break;
        }
    }

    private static void CopyMap(ref MessagePackReader reader, ref MessagePackWriter writer, int depth)
    {
        var count = reader.ReadMapHeader();
        if (count == 0)
        {
            writer.WriteMapHeader(0);
            return;
        }
        // Entries are slices of the input (no copies): keys are compared in place, and each value is canonicalized
        // straight into the output once the keys are sorted. The only allocation is this array of slices.
        var entries = new (ReadOnlySequence<byte> Key, ReadOnlySequence<byte> Value)[count];
        for (var i = 0; i < count; i++)
        {
            if (reader.NextMessagePackType != MessagePackType.String)
            {
                ProtocolException.Throw(ErrorCode.BadField, "map keys must be strings");
            }
            var key = reader.ReadStringSequence() ?? default;
            if (!(key.IsSingleSegment ? Utf8.IsValid(key.FirstSpan) : Utf8.IsValid(key.ToArray())))
            {
                ProtocolException.Throw(ErrorCode.BadField, "map key is not valid UTF-8");
            }
            var valueStart = reader.Position;
            reader.Skip();
            entries[i] = (key, reader.Sequence.Slice(valueStart, reader.Position));
        }
        Array.Sort(entries, static (a, b) => Compare(a.Key, b.Key));
        for (var i = 1; i < entries.Length; i++)
        {
            if (Compare(entries[i].Key, entries[i - 1].Key) == 0)
            {
                ProtocolException.Throw(ErrorCode.BadField, $"duplicate map key '{System.Text.Encoding.UTF8.GetString(entries[i].Key.ToArray())}'");
            }
        }
        writer.WriteMapHeader(count);
        foreach (var (key, value) in entries)
        {
            if (key.IsSingleSegment)
            {
                writer.WriteString(key.FirstSpan);
            }
            else
            {
                writer.WriteString(key.ToArray());
            }
            var valueReader = new MessagePackReader(value);
            CopyValue(ref valueReader, ref writer, depth + 1);
        }
    }

    private static int Compare(ReadOnlySequence<byte> a, ReadOnlySequence<byte> b) =>
        a.IsSingleSegment && b.IsSingleSegment
            ? a.FirstSpan.SequenceCompareTo(b.FirstSpan)
            : a.ToArray().AsSpan().SequenceCompareTo(b.ToArray());
}
