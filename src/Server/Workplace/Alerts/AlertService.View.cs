using System.Globalization;
using System.Text;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Workplace.Alerts;

internal sealed partial class AlertService
{
    public const string Acknowledged = "acknowledged";
    public const string Read = "read";
    public const string Delivered = "delivered";
    public const string NotDelivered = "not_delivered";

    /// <summary>One row of the acknowledgement view.</summary>
    public sealed record RecipientStatus(string UserId, string? DisplayName, string Status, long? AcknowledgedAt, long? ReadAt, long? DeliveredAt,
        int Reminders, long? EscalatedAt, IReadOnlyList<string>? EscalatedTo);

    /// <summary>
    /// The live acknowledgement view: every recipient as acknowledged, read, delivered or not delivered, with times.
    /// Times come from the recorded signals; a state seen only in the current positions (for example a confirmation that
    /// arrived while the server was down) shows without a time. Read state follows the receipts policy.
    /// </summary>
    public (AlertRecord Alert, List<RecipientStatus> Recipients) Status(AuthenticatedSession s, string alertId)
    {
        var alert = Find(alertId);
        var room = _rooms.Get(alert.RoomKey);
        var mayView = alert.Sender == s.UserId || s.IsAdmin
            || (room is not null && RoomRoles.Rank(room.View.State.RoleOf(s.UserId)) >= RoomRoles.Rank(RoomRoles.Moderator));
        if (!mayView)
        {
            throw new ApiException(ErrorCode.Forbidden, "only the sender, the room's moderators and admins see who acknowledged");
        }
        List<AlertRecipientRecord> recipients;
        lock (_lock)
        {
            recipients = _tracked.TryGetValue(alert.Key, out var t) ? [.. t.Recipients.Values] : _store.Recipients(alert.Key);
        }
        var mode = room is null ? AttentionPolicy.Show : _receipts.ReadPolicy(room.View.State, alert.Urgent);
        var snapshot = _directory.Snapshot;
        var rows = new List<RecipientStatus>(recipients.Count);
        foreach (var r in recipients.OrderBy(r => r.UserId, StringComparer.Ordinal))
        {
            var showRead = mode switch
            {
                AttentionPolicy.Show => true,
                AttentionPolicy.Hide => false,
                _ => !_attention.HidesReadReceipts(r.UserKey),
            };
            var read = r.ReadAt is not null || _receipts.ReadMarker(r.UserKey, alert.RoomKey) >= alert.Seq;
            var delivered = r.DeliveredAt is not null || read || _receipts.DeliveredPosition(r.UserKey) >= alert.Pos;
            var status = r.AckedAt is not null ? Acknowledged
                : read && showRead ? Read
                : delivered ? Delivered
                : NotDelivered;
            rows.Add(new RecipientStatus(r.UserId, snapshot.Find(r.UserId)?.Profile.DisplayName, status, r.AckedAt,
                showRead ? r.ReadAt : null, r.DeliveredAt, r.Reminders, r.EscalatedAt, r.EscalatedTo));
        }
        return (alert, rows);
    }

    public static Dictionary<string, object?> StatusJson(AlertRecord alert, List<RecipientStatus> rows) => new()
    {
        ["alert_id"] = alert.Id,
        ["room_id"] = alert.RoomId,
        ["seq"] = alert.Seq,
        ["event_id"] = alert.EventId,
        ["sender"] = alert.Sender,
        ["urgent"] = alert.Urgent,
        ["scope"] = alert.Scope,
        ["target"] = alert.Target,
        ["state"] = alert.State,
        ["created_at"] = alert.CreatedAt,
        ["closed_at"] = alert.ClosedAt,
        ["closed_by"] = alert.ClosedBy,
        ["counts"] = new Dictionary<string, object?>
        {
            ["recipients"] = (long)rows.Count,
            [Acknowledged] = (long)rows.Count(r => r.Status == Acknowledged),
            [Read] = (long)rows.Count(r => r.Status == Read),
            [Delivered] = (long)rows.Count(r => r.Status == Delivered),
            [NotDelivered] = (long)rows.Count(r => r.Status == NotDelivered),
        },
        ["recipients"] = rows.Select(r => (object?)new Dictionary<string, object?>
        {
            ["user"] = r.UserId,
            ["display_name"] = r.DisplayName,
            ["status"] = r.Status,
            ["acknowledged_at"] = r.AcknowledgedAt,
            ["read_at"] = r.ReadAt,
            ["delivered_at"] = r.DeliveredAt,
            ["reminders"] = (long)r.Reminders,
            ["escalated_at"] = r.EscalatedAt,
            ["escalated_to"] = r.EscalatedTo?.Cast<object?>().ToList(),
        }).ToList(),
    };

    /// <summary>The view as CSV (RFC 4180), one line per recipient, times in UTC ISO 8601.</summary>
    public static string StatusCsv(List<RecipientStatus> rows)
    {
        var sb = new StringBuilder("user,display_name,status,acknowledged_at,read_at,delivered_at,reminders,escalated_at,escalated_to\r\n");
        foreach (var r in rows)
        {
            sb.Append(Csv(r.UserId)).Append(',').Append(Csv(r.DisplayName)).Append(',').Append(r.Status).Append(',')
              .Append(Iso(r.AcknowledgedAt)).Append(',').Append(Iso(r.ReadAt)).Append(',').Append(Iso(r.DeliveredAt)).Append(',')
              .Append(r.Reminders.ToString(CultureInfo.InvariantCulture)).Append(',').Append(Iso(r.EscalatedAt)).Append(',')
              .Append(Csv(r.EscalatedTo is null ? null : string.Join(' ', r.EscalatedTo))).Append("\r\n");
        }
        return sb.ToString();
    }

    private static string Iso(long? ms) =>
        ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture) : "";

    private static string Csv(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }
        // Quote when needed; a leading = + - @ would make spreadsheets evaluate the cell, so those are quoted with a '.
        var text = value.Length > 0 && "=+-@".Contains(value[0], StringComparison.Ordinal) ? "'" + value : value;
        return text.IndexOfAny([',', '"', '\r', '\n']) >= 0 || text != value ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : text;
    }
}
