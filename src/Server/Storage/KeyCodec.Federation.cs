using System.Buffers.Binary;
using System.Text;

namespace TeamComms.Server.Storage;

/// <summary>Federation key layouts. Server names never contain a 0 byte, so <c>server ‖ 0</c> is a clean prefix.</summary>
internal static partial class KeyCodec
{
    /// <summary>Tag bytes of the <c>federation</c> column family.</summary>
    public const byte PartnerTag = (byte)'p';
    public const byte OwnKeyTag = (byte)'k';
    public const byte RemoteKeyTag = (byte)'r';
    public const byte PendingTag = (byte)'n';
    public const byte PendingTxnTag = (byte)'t';
    public const byte BackfillTag = (byte)'b';

    /// <summary><c>tag ‖ value (8, big-endian)</c>.</summary>
    public static byte[] TaggedLong(byte tag, long value)
    {
        var key = new byte[9];
        key[0] = tag;
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(1), value);
        return key;
    }

    /// <summary><c>utf8(server) ‖ 0</c>: the prefix of one destination's rows.</summary>
    public static byte[] ServerPrefix(string server)
    {
        var key = new byte[Encoding.UTF8.GetByteCount(server) + 1];
        Encoding.UTF8.GetBytes(server, key);
        return key;
    }

    /// <summary><c>utf8(server) ‖ 0 ‖ value (8, big-endian)</c>: outbox entries and cursors.</summary>
    public static byte[] ServerLong(string server, long value)
    {
        var n = Encoding.UTF8.GetByteCount(server);
        var key = new byte[n + 1 + 8];
        Encoding.UTF8.GetBytes(server, key);
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(n + 1), value);
        return key;
    }

    /// <summary>Splits <see cref="ServerLong"/>.</summary>
    public static (string Server, long Value) ParseServerLong(ReadOnlySpan<byte> key) =>
        (Encoding.UTF8.GetString(key[..^9]), BinaryPrimitives.ReadInt64BigEndian(key[^8..]));

    /// <summary><c>utf8(server) ‖ 0 ‖ utf8(text)</c>: proposal nonces.</summary>
    public static byte[] ServerString(string server, string text)
    {
        var n = Encoding.UTF8.GetByteCount(server);
        var key = new byte[n + 1 + Encoding.UTF8.GetByteCount(text)];
        Encoding.UTF8.GetBytes(server, key);
        Encoding.UTF8.GetBytes(text, key.AsSpan(n + 1));
        return key;
    }

    /// <summary><c>tag ‖ utf8(text)</c>.</summary>
    public static byte[] Tagged(byte tag, string text)
    {
        var key = new byte[1 + Encoding.UTF8.GetByteCount(text)];
        key[0] = tag;
        Encoding.UTF8.GetBytes(text, key.AsSpan(1));
        return key;
    }

    /// <summary><c>tag ‖ utf8(server) ‖ 0 ‖ utf8(text)</c>: a remote server's key.</summary>
    public static byte[] TaggedServerString(byte tag, string server, string text)
    {
        var inner = ServerString(server, text);
        var key = new byte[1 + inner.Length];
        key[0] = tag;
        inner.CopyTo(key, 1);
        return key;
    }

    /// <summary><c>tag ‖ utf8(server) ‖ 0</c>: all keys of a remote server.</summary>
    public static byte[] TaggedServerPrefix(byte tag, string server)
    {
        var inner = ServerPrefix(server);
        var key = new byte[1 + inner.Length];
        key[0] = tag;
        inner.CopyTo(key, 1);
        return key;
    }

    /// <summary><c>tag ‖ session (8) ‖ utf8(txn)</c>: a forwarded send by its client transaction id.</summary>
    public static byte[] TaggedLongString(byte tag, long value, string text)
    {
        var inner = LongString(value, text);
        var key = new byte[1 + inner.Length];
        key[0] = tag;
        inner.CopyTo(key, 1);
        return key;
    }
}
