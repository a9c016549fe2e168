using System.Buffers.Binary;
using System.Text;

namespace TeamComms.Server.Storage;

/// <summary>
/// Key layouts of the <c>attention</c> column family (alerts, quiet hours, push devices, incidents), each table under a
/// one-byte prefix:
/// <list type="bullet">
/// <item><c>P</c>: the workplace policy (JSON).</item>
/// <item><c>A ‖ userKey</c>: a user's notification settings (snooze, read-receipt privacy).</item>
/// <item><c>L ‖ alertKey</c>: an alert; <c>R ‖ alertKey ‖ userKey</c>: one recipient's acknowledgement state;
/// <c>E ‖ roomKey ‖ seq</c> → alertKey: the alert an event carries.</item>
/// <item><c>B ‖ utf8(target)</c> → roomKey: the broadcast room of a target (<c>rule:…</c>, <c>group:…</c>, <c>company</c>).</item>
/// <item><c>D ‖ sessionKey</c>: a device's push endpoint.</item>
/// <item><c>I ‖ incidentKey</c>: an incident report; <c>J ‖ roomKey</c> → incidentKey.</item>
/// <item><c>N ‖ utf8(name)</c>: counters (next alert and incident keys).</item>
/// </list>
/// </summary>
internal static partial class KeyCodec
{
    public const byte AttentionPolicy = (byte)'P';
    public const byte AttentionSettings = (byte)'A';
    public const byte AttentionAlert = (byte)'L';
    public const byte AttentionRecipient = (byte)'R';
    public const byte AttentionAlertByEvent = (byte)'E';
    public const byte AttentionBroadcastRoom = (byte)'B';
    public const byte AttentionPushDevice = (byte)'D';
    public const byte AttentionIncident = (byte)'I';
    public const byte AttentionIncidentByRoom = (byte)'J';
    public const byte AttentionCounter = (byte)'N';

    /// <summary><c>tag ‖ a (8)</c>.</summary>
    public static byte[] Tagged(byte tag, long a)
    {
        var key = new byte[9];
        key[0] = tag;
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(1), a);
        return key;
    }

    /// <summary><c>tag ‖ a (8) ‖ b (8)</c>.</summary>
    public static byte[] Tagged(byte tag, long a, long b)
    {
        var key = new byte[17];
        key[0] = tag;
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(1), a);
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(9), b);
        return key;
    }

    public static byte[] Tag(byte tag) => [tag];
}
