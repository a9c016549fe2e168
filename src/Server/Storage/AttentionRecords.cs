using System.Text.Json;
using System.Text.Json.Serialization;

namespace TeamComms.Server.Storage;

/// <summary>
/// The company's workplace policy: quiet-hours defaults, who may send urgent messages and emergency broadcasts, who
/// receives incident reports, where escalations go when there is no manager, and whether read receipts in
/// announcements and urgent messages follow company policy. <c>workplace[P]</c>; admins change it (audited).
/// </summary>
internal sealed record AttentionPolicyRecord
{
    /// <summary>IANA time zone for people whose profile has none.</summary>
    public string DefaultTimeZone { get; init; } = "UTC";

    /// <summary>Working hours for people whose profile has none.</summary>
    public WorkingHoursRecord DefaultWorkingHours { get; init; } = new(["mon", "tue", "wed", "thu", "fri"], "09:00", "17:00");

    /// <summary>Company roles that may send urgent messages (to a room they post in or a person).</summary>
    public IReadOnlyList<string> UrgentRoles { get; init; } = ["admin", "security_officer", "hr"];

    /// <summary>Company roles that may send emergency broadcasts to a rule, a group or the whole company.</summary>
    public IReadOnlyList<string> BroadcastRoles { get; init; } = ["admin", "security_officer"];

    /// <summary>Company roles whose members receive incident reports (the confidential rooms' members).</summary>
    public IReadOnlyList<string> IncidentRoles { get; init; } = ["hr"];

    /// <summary>User ids an unacknowledged alert escalates to when the recipient has no manager (or is the sender's report).</summary>
    public IReadOnlyList<string> EscalationFallback { get; init; } = [];

    /// <summary><c>show</c>: in announcement rooms readers' read receipts are shown whatever their privacy setting; <c>hide</c>: never shown.</summary>
    public string AnnouncementReadReceipts { get; init; } = "show";

    /// <summary>The same for urgent messages (the acknowledgement view).</summary>
    public string UrgentReadReceipts { get; init; } = "show";

    /// <summary>The kinds an incident report may have.</summary>
    public IReadOnlyList<string> IncidentKinds { get; init; } = ["harassment", "discrimination", "safety", "security", "fraud", "other"];

    public long UpdatedAt { get; init; }
    public string UpdatedBy { get; init; } = "";
}

/// <summary>A user's notification settings: <c>workplace[A ‖ userKey]</c>.</summary>
internal sealed record AttentionRecord
{
    public required long UserKey { get; init; }

    /// <summary>Notifications are snoozed until this time (Unix ms); 0 when not snoozed.</summary>
    public long SnoozeUntil { get; init; }

    /// <summary>When the current snooze began (the start of its summary window).</summary>
    public long SnoozeStart { get; init; }

    /// <summary>Do not show others that I read their messages (ordinary rooms only; policy decides elsewhere).</summary>
    public bool HideReadReceipts { get; init; }
}

/// <summary>A message that requires acknowledgement: <c>workplace[L ‖ alertKey]</c>.</summary>
internal sealed record AlertRecord
{
    public required long Key { get; init; }
    public required string Id { get; init; }
    public required long RoomKey { get; init; }
    public required string RoomId { get; init; }
    public long Seq { get; init; }
    public long Pos { get; init; }
    /// <summary>The event id, unpadded base64url.</summary>
    public string EventId { get; init; } = "";
    public required string Sender { get; init; }
    public long SenderKey { get; init; }
    /// <summary>The type of the event that carries the acknowledgement flag (<c>message</c> unless the sender chose an <c>x.</c> type).</summary>
    public string Type { get; init; } = "message";
    public bool Urgent { get; init; }
    /// <summary><c>room</c>, <c>direct</c>, <c>broadcast</c> or <c>escalation</c>.</summary>
    public required string Scope { get; init; }
    /// <summary>The broadcast target (<c>rule:…</c>, <c>group:…</c>, <c>company</c>) or the direct recipient.</summary>
    public string? Target { get; init; }
    public long CreatedAt { get; init; }
    /// <summary><c>active</c>, <c>cancelled</c> or <c>all_clear</c>.</summary>
    public string State { get; init; } = "active";
    public long? ClosedAt { get; init; }
    public string? ClosedBy { get; init; }
    /// <summary>The alert an escalation is about.</summary>
    public long? ParentKey { get; init; }
    public int RecipientCount { get; init; }
    public long ReminderIntervalMs { get; init; }
    public long ReminderDurationMs { get; init; }
    /// <summary>Whether unacknowledged recipients escalate at the end of the reminders (escalations themselves do not).</summary>
    public bool Escalate { get; init; }
}

/// <summary>One recipient of an alert: <c>workplace[R ‖ alertKey ‖ userKey]</c>. Explicit tracking, bounded by the send rate limit.</summary>
internal sealed record AlertRecipientRecord
{
    public required long AlertKey { get; init; }
    public required long UserKey { get; init; }
    public required string UserId { get; init; }
    public long? DeliveredAt { get; init; }
    public long? ReadAt { get; init; }
    public long? AckedAt { get; init; }
    public int Reminders { get; init; }
    public long? LastReminderAt { get; init; }
    public long? EscalatedAt { get; init; }
    public IReadOnlyList<string>? EscalatedTo { get; init; }
}

/// <summary>A device's push endpoint: <c>workplace[D ‖ sessionKey]</c>, removed with the session.</summary>
internal sealed record PushDeviceRecord
{
    public required long SessionKey { get; init; }
    public required long UserKey { get; init; }
    public required string UserId { get; init; }
    /// <summary>The app the push gateway relays for (Matrix's <c>app_id</c>), for example <c>com.acme.teamcomms.ios</c>.</summary>
    public required string AppId { get; init; }
    /// <summary>The platform token the gateway relays to (APNs or FCM token; Matrix's <c>pushkey</c>).</summary>
    public required string PushKey { get; init; }
    public long CreatedAt { get; init; }
}

/// <summary>An incident report: <c>workplace[I ‖ incidentKey]</c>.</summary>
internal sealed record IncidentRecord
{
    public required long Key { get; init; }
    public required string Id { get; init; }
    public required string Kind { get; init; }
    public required long RoomKey { get; init; }
    public required string RoomId { get; init; }
    public long CreatedAt { get; init; }
    public bool Anonymous { get; init; }
    /// <summary>The reporter's user id; null for an anonymous report.</summary>
    public string? Reporter { get; init; }
    /// <summary>SHA-256 (hex) of an anonymous reporter's secret, which proves they are the reporter.</summary>
    public string? SecretHash { get; init; }
    /// <summary>An anonymous reporter's identity, sealed to the company escrow key (armored age file); null without an escrow key.</summary>
    public string? SealedReporter { get; init; }
    /// <summary>SHA-256 (hex) of the report as submitted (kind and description), also in the reporter's signed receipt.</summary>
    public required string Digest { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AttentionPolicyRecord))]
[JsonSerializable(typeof(AttentionRecord))]
[JsonSerializable(typeof(AlertRecord))]
[JsonSerializable(typeof(AlertRecipientRecord))]
[JsonSerializable(typeof(PushDeviceRecord))]
[JsonSerializable(typeof(IncidentRecord))]
internal sealed partial class AttentionJson : JsonSerializerContext
{
    public static byte[] Encode<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, typeof(T), Default);

    public static T Decode<T>(ReadOnlySpan<byte> bytes) =>
        (T)(JsonSerializer.Deserialize(bytes, typeof(T), Default) ?? throw new InvalidDataException($"null {typeof(T).Name} record"));
}
