using System.Buffers.Binary;
using System.Text;

namespace TeamComms.Server.Storage;

/// <summary>
/// Key layouts of the company directory and the audit log.
/// <list type="bullet">
/// <item><c>profiles</c>: <c>userKey (8)</c> → profile JSON.</item>
/// <item><c>directory_index</c>: <c>field (1) ‖ lower(value) ‖ 0x00 ‖ userKey (8)</c> → empty. Fields are
/// <c>n</c> (display name, and each of its later words), <c>d</c> (department), <c>t</c> (title). A case-insensitive
/// prefix search is one bounded range scan.</item>
/// <item><c>directory</c>: small tables, each under a one-byte prefix: <c>g ‖ groupKey</c> group,
/// <c>m ‖ groupKey ‖ userKey</c> group member, <c>r ‖ ruleKey</c> rule, <c>b ‖ roomKey</c> room binding,
/// <c>i|x ‖ roomKey ‖ userKey</c> manual member / exclusion, <c>o ‖ name</c> custom role, <c>t ‖ sha256</c> SCIM token,
/// <c>p</c> company policy, <c>d ‖ userKeyLo ‖ userKeyHi</c> direct-message room, <c>k ‖ name</c> counter.</item>
/// <item><c>audit</c>: <c>seq (8)</c> → entry JSON; <c>audit_heads</c>: <c>seq (8)</c> → signed head JSON.</item>
/// </list>
/// </summary>
internal static partial class KeyCodec
{
    public const byte IndexName = (byte)'n';
    public const byte IndexDepartment = (byte)'d';
    public const byte IndexTitle = (byte)'t';

    public const byte TableGroup = (byte)'g';
    public const byte TableGroupMember = (byte)'m';
    public const byte TableRule = (byte)'r';
    public const byte TableBinding = (byte)'b';
    public const byte TableManualInclude = (byte)'i';
    public const byte TableManualExclude = (byte)'x';
    public const byte TableRole = (byte)'o';
    public const byte TableScimToken = (byte)'t';
    public const byte TablePolicy = (byte)'p';
    public const byte TableDirect = (byte)'d';
    public const byte TableCounter = (byte)'k';

    /// <summary><c>field ‖ utf8(lowerValue) ‖ 0x00 ‖ userKey</c>.</summary>
    public static byte[] IndexEntry(byte field, string lowerValue, long userKey)
    {
        var length = Encoding.UTF8.GetByteCount(lowerValue);
        var key = new byte[1 + length + 1 + 8];
        key[0] = field;
        Encoding.UTF8.GetBytes(lowerValue, key.AsSpan(1));
        key[1 + length] = 0;
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(2 + length), userKey);
        return key;
    }

    /// <summary><c>field ‖ utf8(lowerPrefix)</c>: the range of every index entry whose value starts with the prefix.</summary>
    public static byte[] IndexPrefix(byte field, string lowerPrefix)
    {
        var key = new byte[1 + Encoding.UTF8.GetByteCount(lowerPrefix)];
        key[0] = field;
        Encoding.UTF8.GetBytes(lowerPrefix, key.AsSpan(1));
        return key;
    }

    /// <summary>Splits an index entry into its value and user key.</summary>
    public static (string Value, long UserKey) ParseIndexEntry(ReadOnlySpan<byte> key) =>
        (Encoding.UTF8.GetString(key[1..^9]), BinaryPrimitives.ReadInt64BigEndian(key[^8..]));

    /// <summary><c>table ‖ a (8)</c>.</summary>
    public static byte[] Table(byte table, long a)
    {
        var key = new byte[9];
        key[0] = table;
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(1), a);
        return key;
    }

    /// <summary><c>table ‖ a (8) ‖ b (8)</c>.</summary>
    public static byte[] Table(byte table, long a, long b)
    {
        var key = new byte[17];
        key[0] = table;
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(1), a);
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(9), b);
        return key;
    }

    /// <summary><c>table ‖ utf8(text)</c>.</summary>
    public static byte[] Table(byte table, string text)
    {
        var key = new byte[1 + Encoding.UTF8.GetByteCount(text)];
        key[0] = table;
        Encoding.UTF8.GetBytes(text, key.AsSpan(1));
        return key;
    }

    /// <summary><c>table ‖ bytes</c>.</summary>
    public static byte[] Table(byte table, ReadOnlySpan<byte> bytes)
    {
        var key = new byte[1 + bytes.Length];
        key[0] = table;
        bytes.CopyTo(key.AsSpan(1));
        return key;
    }

    /// <summary>Just the one-byte table prefix, for scanning a whole table.</summary>
    public static byte[] TablePrefix(byte table) => [table];
}
