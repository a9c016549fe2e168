using System.Buffers.Binary;
using System.Text;
using TeamComms.Protocol.Events;

namespace TeamComms.Server.Storage;

/// <summary>
/// Key layouts of the workplace features (issue 7): the event-id index, the relation index, the <c>workplace</c>
/// column family (tagged rows: room settings, the content policy, legal holds, moderation reports, poll votes, tallies
/// and closing times), attachments and the content preserved under legal hold.
/// </summary>
internal static partial class KeyCodec
{
    // Tags of the workplace column family.
    public const byte RoomSettingsTag = (byte)'R';
    public const byte ContentPolicyTag = (byte)'P';
    public const byte HoldTag = (byte)'H';
    public const byte ReportTag = (byte)'M';
    public const byte CounterTag = (byte)'N';
    public const byte VoteTag = (byte)'V';
    public const byte TallyTag = (byte)'T';
    public const byte PollCloseTag = (byte)'S';

    // Tags of the attachments column family.
    public const byte AttachmentTag = (byte)'A';
    public const byte AttachmentRefTag = (byte)'E';

    /// <summary>Size of an attachment id.</summary>
    public const int AttachmentIdSize = 16;

    /// <summary><c>roomKey (8) ‖ event id (32)</c> → seq: finds an event of a room by its id.</summary>
    public static byte[] RoomEventId(long roomKey, EventId id)
    {
        var key = new byte[8 + EventId.Size];
        BinaryPrimitives.WriteInt64BigEndian(key, roomKey);
        id.CopyTo(key.AsSpan(8));
        return key;
    }

    /// <summary><c>roomKey (8) ‖ target seq (8) ‖ seq (8)</c> → relation type: the events that relate to a target, in order.</summary>
    public static byte[] Relation(long roomKey, long targetSeq, long seq)
    {
        var key = new byte[24];
        BinaryPrimitives.WriteInt64BigEndian(key, roomKey);
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(8), targetSeq);
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(16), seq);
        return key;
    }

    /// <summary><c>tag ‖ a (8) ‖ b (8)</c>.</summary>
    public static byte[] TaggedPair(byte tag, long a, long b)
    {
        var key = new byte[17];
        key[0] = tag;
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(1), a);
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(9), b);
        return key;
    }

    /// <summary><c>tag ‖ a (8) ‖ b (8) ‖ c (8)</c>.</summary>
    public static byte[] TaggedTriple(byte tag, long a, long b, long c)
    {
        var key = new byte[25];
        key[0] = tag;
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(1), a);
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(9), b);
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(17), c);
        return key;
    }

    /// <summary><c>'V' ‖ roomKey ‖ poll seq ‖ utf8(user)</c>: one member's vote.</summary>
    public static byte[] Vote(long roomKey, long pollSeq, string userId)
    {
        var key = new byte[17 + Encoding.UTF8.GetByteCount(userId)];
        key[0] = VoteTag;
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(1), roomKey);
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(9), pollSeq);
        Encoding.UTF8.GetBytes(userId, key.AsSpan(17));
        return key;
    }

    /// <summary><c>'A' ‖ id (16)</c>.</summary>
    public static byte[] Attachment(ReadOnlySpan<byte> id)
    {
        var key = new byte[1 + AttachmentIdSize];
        key[0] = AttachmentTag;
        id.CopyTo(key.AsSpan(1));
        return key;
    }

    /// <summary><c>'E' ‖ roomKey ‖ seq ‖ id (16)</c>: the attachments an event carries.</summary>
    public static byte[] AttachmentRef(long roomKey, long seq, ReadOnlySpan<byte> id)
    {
        var key = new byte[17 + AttachmentIdSize];
        key[0] = AttachmentRefTag;
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(1), roomKey);
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(9), seq);
        id.CopyTo(key.AsSpan(17));
        return key;
    }
}
