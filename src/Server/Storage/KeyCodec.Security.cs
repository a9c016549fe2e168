using System.Buffers.Binary;
using System.Text;

namespace TeamComms.Server.Storage;

/// <summary>
/// Key layout of the <c>security</c> column family, small tables under a one-byte prefix:
/// <list type="bullet">
/// <item><c>a ‖ requestId (8)</c> → approval request JSON (<see cref="ApprovalRecord"/>).</item>
/// <item><c>e ‖ utf8(userId)</c> → a compliance officer's approved export recipient (<see cref="ExportRecipientRecord"/>).</item>
/// <item><c>k</c> → the last approval request id (8).</item>
/// </list>
/// The company recipients themselves (escrow, recovery) live in <c>meta</c> beside the other key records
/// (<c>company_recipients</c>, <c>config_recipients_seen</c>), where encryption at rest reads them at open.
/// </summary>
internal static partial class KeyCodec
{
    public const byte SecurityApproval = (byte)'a';
    public const byte SecurityExportRecipient = (byte)'e';
    public const byte SecurityCounter = (byte)'k';

    public static byte[] ApprovalKey(long id)
    {
        var key = new byte[9];
        key[0] = SecurityApproval;
        BinaryPrimitives.WriteInt64BigEndian(key.AsSpan(1), id);
        return key;
    }

    public static byte[] ExportRecipientKey(string userId)
    {
        var key = new byte[1 + Encoding.UTF8.GetByteCount(userId)];
        key[0] = SecurityExportRecipient;
        Encoding.UTF8.GetBytes(userId, key.AsSpan(1));
        return key;
    }
}
