using System.Buffers;
using MessagePack;

namespace TeamComms.Protocol;

/// <summary>
/// Converts between MessagePack and plain .NET values, for maps that are not on a hot path (call parameters,
/// call results, event content). Integers decode to <see cref="long"/> (or <see cref="ulong"/> above
/// <see cref="long.MaxValue"/>), floats to <see cref="double"/>, strings to <see cref="string"/>, binary to
/// <see cref="byte"/>[], arrays to <c>List&lt;object?&gt;</c> and maps to <c>Dictionary&lt;string, object?&gt;</c>.
/// </summary>
public static class MsgPackValue
{
    /// <summary>Deepest nesting accepted.</summary>
    public const int MaxDepth = 32;

    /// <summary>Reads one value.</summary>
    public static object? Read(ref MessagePackReader r, int depth = 0)
    {
        if (depth > MaxDepth)
        {
            ProtocolException.Throw(ErrorCode.BadField, "value nests too deep");
        }
        switch (r.NextMessagePackType)
        {
            case MessagePackType.Nil:
                r.ReadNil();
                return null;
            case MessagePackType.Boolean:
                return r.ReadBoolean();
            case MessagePackType.Integer:
                if (r.NextCode == MessagePackCode.UInt64)
                {
                    var u = r.ReadUInt64();
                    return u <= long.MaxValue ? (object)(long)u : u;
                }
                return r.ReadInt64();
            case MessagePackType.Float:
                return r.ReadDouble();
            case MessagePackType.String:
                return r.ReadString();
            case MessagePackType.Binary:
                return (r.ReadBytes() ?? default).ToArray();
            case MessagePackType.Array:
                var n = r.ReadArrayHeader();
                var list = new List<object?>(Math.Min(n, 1024));
                for (var i = 0; i < n; i++)
                {
                    list.Add(Read(ref r, depth + 1));
                }
                return list;
            case MessagePackType.Map:
                return ReadMapBody(ref r, depth);
            default:
                return ProtocolException.Throw<object?>(ErrorCode.BadField, $"MessagePack type {r.NextMessagePackType} is not supported");
        }
    }

    /// <summary>Reads a map with string keys.</summary>
    public static Dictionary<string, object?> ReadMap(ref MessagePackReader r)
    {
        if (r.NextMessagePackType != MessagePackType.Map)
        {
            ProtocolException.Throw(ErrorCode.BadField, "expected a map");
        }
        return ReadMapBody(ref r, 0);
    }

    /// <summary>Reads a map with string keys from bytes.</summary>
    public static Dictionary<string, object?> ReadMap(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            var r = new MessagePackReader(bytes);
            return ReadMap(ref r);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new ProtocolException(ErrorCode.BadField, "malformed map: " + ex.Message, ex);
        }
        catch (EndOfStreamException ex)
        {
            throw new ProtocolException(ErrorCode.BadField, "truncated map", ex);
        }
    }

    private static Dictionary<string, object?> ReadMapBody(ref MessagePackReader r, int depth)
    {
        var count = r.ReadMapHeader();
        var map = new Dictionary<string, object?>(Math.Min(count, 1024), StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            if (r.NextMessagePackType != MessagePackType.String)
            {
                ProtocolException.Throw(ErrorCode.BadField, "map keys must be strings");
            }
            var key = r.ReadString()!;
            if (!map.TryAdd(key, Read(ref r, depth + 1)))
            {
                ProtocolException.Throw(ErrorCode.BadField, $"duplicate map key '{key}'");
            }
        }
        return map;
    }

    /// <summary>Writes a plain .NET value (the types <see cref="Read"/> returns, plus int, bool, DateTimeOffset as ms, and raw <see cref="RawMsgPack"/>).</summary>
    public static void Write(ref MessagePackWriter w, object? value)
    {
        switch (value)
        {
            case null:
                w.WriteNil();
                break;
            case bool b:
                w.Write(b);
                break;
            case int i:
                w.Write(i);
                break;
            case long l:
                w.Write(l);
                break;
            case ulong ul:
                w.Write(ul);
                break;
            case uint ui:
                w.Write(ui);
                break;
            case double d:
                w.Write(d);
                break;
            case string s:
                w.Write(s);
                break;
            case byte[] bytes:
                w.Write(bytes);
                break;
            case ReadOnlyMemory<byte> mem:
                w.Write(mem.Span);
                break;
            case RawMsgPack raw:
                w.WriteRaw(raw.Bytes.Span);
                break;
            case DateTimeOffset dto:
                w.Write(dto.ToUnixTimeMilliseconds());
                break;
            case IReadOnlyDictionary<string, object?> map:
                w.WriteMapHeader(map.Count);
                foreach (var (k, v) in map)
                {
                    w.Write(k);
                    Write(ref w, v);
                }
                break;
            case System.Collections.IEnumerable list:
                var items = list.Cast<object?>().ToList();
                w.WriteArrayHeader(items.Count);
                foreach (var item in items)
                {
                    Write(ref w, item);
                }
                break;
            default:
                throw new ArgumentException($"cannot encode {value.GetType()} as MessagePack");
        }
    }

    /// <summary>Encodes a value to bytes.</summary>
    public static byte[] ToBytes(object? value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(buffer);
        Write(ref w, value);
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Encodes a map in canonical form (suitable as event content).</summary>
    public static byte[] ToCanonicalMap(IReadOnlyDictionary<string, object?> map) =>
        Canonical.CanonicalMessagePack.CanonicalizeMap(ToBytes(map));
}

/// <summary>Already-encoded MessagePack bytes to splice into a value written by <see cref="MsgPackValue.Write"/>.</summary>
public readonly record struct RawMsgPack(ReadOnlyMemory<byte> Bytes);

/// <summary>Typed access to a decoded map, throwing <see cref="ErrorCode.BadField"/> for missing or mistyped fields.</summary>
public sealed class FieldMap
{
    private readonly IReadOnlyDictionary<string, object?> _map;

    /// <summary>Wraps a decoded map.</summary>
    public FieldMap(IReadOnlyDictionary<string, object?> map) => _map = map;

    /// <summary>The underlying map.</summary>
    public IReadOnlyDictionary<string, object?> Map => _map;

    /// <summary>True when the field is present and not nil.</summary>
    public bool Has(string name) => _map.TryGetValue(name, out var v) && v is not null;

    /// <summary>A required string.</summary>
    public string RequiredString(string name, int maxLength = 4096) =>
        OptionalString(name, maxLength) ?? ProtocolException.Throw<string>(ErrorCode.BadField, $"'{name}' is required");

    /// <summary>An optional string.</summary>
    public string? OptionalString(string name, int maxLength = 4096)
    {
        if (!_map.TryGetValue(name, out var v) || v is null)
        {
            return null;
        }
        if (v is not string s)
        {
            return ProtocolException.Throw<string>(ErrorCode.BadField, $"'{name}' must be a string");
        }
        if (s.Length > maxLength)
        {
            ProtocolException.Throw(ErrorCode.BadField, $"'{name}' is longer than {maxLength}");
        }
        return s;
    }

    /// <summary>A required integer.</summary>
    public long RequiredInt(string name) =>
        OptionalInt(name) ?? ProtocolException.Throw<long>(ErrorCode.BadField, $"'{name}' is required");

    /// <summary>An optional integer (any width; floats are refused).</summary>
    public long? OptionalInt(string name)
    {
        if (!_map.TryGetValue(name, out var v) || v is null)
        {
            return null;
        }
        return v switch
        {
            long l => l,
            _ => ProtocolException.Throw<long>(ErrorCode.BadField, $"'{name}' must be an integer"),
        };
    }

    /// <summary>An optional boolean.</summary>
    public bool? OptionalBool(string name)
    {
        if (!_map.TryGetValue(name, out var v) || v is null)
        {
            return null;
        }
        return v is bool b ? b : ProtocolException.Throw<bool>(ErrorCode.BadField, $"'{name}' must be a boolean");
    }

    /// <summary>An optional list of strings.</summary>
    public IReadOnlyList<string>? OptionalStrings(string name)
    {
        if (!_map.TryGetValue(name, out var v) || v is null)
        {
            return null;
        }
        if (v is not List<object?> list)
        {
            return ProtocolException.Throw<IReadOnlyList<string>>(ErrorCode.BadField, $"'{name}' must be an array of strings");
        }
        var result = new List<string>(list.Count);
        foreach (var item in list)
        {
            result.Add(item as string ?? ProtocolException.Throw<string>(ErrorCode.BadField, $"'{name}' must be an array of strings"));
        }
        return result;
    }

    /// <summary>An optional nested map.</summary>
    public FieldMap? OptionalMap(string name)
    {
        if (!_map.TryGetValue(name, out var v) || v is null)
        {
            return null;
        }
        return v is Dictionary<string, object?> d ? new FieldMap(d) : ProtocolException.Throw<FieldMap>(ErrorCode.BadField, $"'{name}' must be a map");
    }
}
