using System.Text.Json;
using System.Text.Json.Serialization;

namespace TeamComms.Server.Storage;

/// <summary>A user's directory profile: <c>profiles[userKey]</c>. The company controls it; see docs/operations.md.</summary>
internal sealed record ProfileRecord
{
    public required long UserKey { get; init; }
    public required string DisplayName { get; init; }
    public string? GivenName { get; init; }
    public string? FamilyName { get; init; }
    public string? Email { get; init; }
    public string? Title { get; init; }
    public string? Department { get; init; }
    public string? Team { get; init; }
    public string? Location { get; init; }
    /// <summary>The manager's user id.</summary>
    public string? Manager { get; init; }
    public string? Phone { get; init; }
    public string EmploymentStatus { get; init; } = "active";
    /// <summary>IANA time zone, for example <c>Europe/Berlin</c>.</summary>
    public string? TimeZone { get; init; }
    public WorkingHoursRecord? WorkingHours { get; init; }
    public string? EmployeeNumber { get; init; }
    /// <summary>The identity provider's id for the user (SCIM <c>externalId</c>).</summary>
    public string? ExternalId { get; init; }
    /// <summary>The SCIM <c>userName</c> (unique, case-insensitive), when the user came from an identity provider.</summary>
    public string? ScimUserName { get; init; }
    /// <summary>Company-specific attributes (<c>custom.&lt;name&gt;</c> in rules).</summary>
    public IReadOnlyDictionary<string, string>? Custom { get; init; }
    /// <summary>Deleted through SCIM: kept (the data stays with the company) but invisible to provisioning.</summary>
    public bool Deleted { get; init; }
    public long UpdatedAt { get; init; }
}

/// <summary>Working hours: days (<c>mon</c>…<c>sun</c>) and a local start and end time (<c>HH:mm</c>).</summary>
internal sealed record WorkingHoursRecord(IReadOnlyList<string> Days, string Start, string End);

/// <summary>A directory group (SCIM Group): <c>directory[g ‖ groupKey]</c>.</summary>
internal sealed record GroupRecord
{
    public required long Key { get; init; }
    /// <summary>The stable public id (SCIM <c>id</c>).</summary>
    public required string Id { get; init; }
    public required string DisplayName { get; init; }
    public string? ExternalId { get; init; }
    public long CreatedAt { get; init; }
    public long UpdatedAt { get; init; }
}

/// <summary>An attribute rule: <c>directory[r ‖ ruleKey]</c>. The expression is kept as written.</summary>
internal sealed record RuleRecord
{
    public required long Key { get; init; }
    public required string Name { get; init; }
    public required string Expression { get; init; }
    public string Description { get; init; } = "";
    public long CreatedAt { get; init; }
    public long UpdatedAt { get; init; }
}

/// <summary>The rules a room's membership follows: <c>directory[b ‖ roomKey]</c>.</summary>
internal sealed record BindingRecord(long RoomKey, string RoomId, IReadOnlyList<long> Rules);

/// <summary>A custom company role: <c>directory[o ‖ name]</c>.</summary>
internal sealed record RoleRecord(string Name, string Description, long CreatedAt);

/// <summary>A SCIM bearer token: <c>directory[t ‖ sha256(token)]</c>. The token itself is shown once and never stored.</summary>
internal sealed record ScimTokenRecord
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required byte[] Hash { get; init; }
    public long CreatedAt { get; init; }
    public string CreatedBy { get; init; } = "";
    public bool Revoked { get; init; }
    public long? RevokedAt { get; init; }
}

/// <summary>Company policy: <c>directory[p]</c>.</summary>
internal sealed record PolicyRecord
{
    /// <summary><c>everyone</c>, <c>roles</c> (<see cref="RoomCreationRoles"/>) or <c>admins</c>.</summary>
    public string RoomCreation { get; init; } = "everyone";
    public IReadOnlyList<string> RoomCreationRoles { get; init; } = [];
    /// <summary><c>everyone</c>, <c>same_department</c> or <c>allowlist</c>.</summary>
    public string DirectMessages { get; init; } = "everyone";
    /// <summary>Who may start a direct conversation with whom, beyond the mode's own rule.</summary>
    public IReadOnlyList<DirectAllowRecord> DirectAllowlist { get; init; } = [];
    /// <summary><c>everyone</c> (the room's own invite setting decides), <c>moderators</c> or <c>roles</c> (<see cref="InviteRoles"/>).</summary>
    public string Invites { get; init; } = "everyone";
    public IReadOnlyList<string> InviteRoles { get; init; } = [];
    /// <summary>Company roles that every policy above lets through.</summary>
    public IReadOnlyList<string> ExemptRoles { get; init; } = ["admin"];
    /// <summary>Profile fields users may change themselves.</summary>
    public IReadOnlyList<string> SelfEditable { get; init; } = ["phone", "time_zone", "working_hours"];
    public long UpdatedAt { get; init; }
    public string UpdatedBy { get; init; } = "";
}

/// <summary>One allowlist entry: selectors <c>*</c>, <c>user:&lt;id&gt;</c>, <c>department:&lt;name&gt;</c>, <c>group:&lt;name&gt;</c>, <c>role:&lt;role&gt;</c>.</summary>
internal sealed record DirectAllowRecord(string From, string To);

/// <summary>A stored audit entry: <c>audit[seq]</c>. Hashes are lower-case hex.</summary>
internal sealed record AuditRecord
{
    public required long Seq { get; init; }
    public required long Ts { get; init; }
    public required string Actor { get; init; }
    public required string Action { get; init; }
    public string Target { get; init; } = "";
    public string Address { get; init; } = "";
    public IReadOnlyDictionary<string, string> Details { get; init; } = new Dictionary<string, string>();
    public string? Prev { get; init; }
    public required string Hash { get; init; }
}

/// <summary>A signed audit head: <c>audit_heads[seq]</c>.</summary>
internal sealed record AuditHeadRecord(long Seq, string Hash, long Ts, string Server, string KeyId, string Signature);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ProfileRecord))]
[JsonSerializable(typeof(GroupRecord))]
[JsonSerializable(typeof(RuleRecord))]
[JsonSerializable(typeof(BindingRecord))]
[JsonSerializable(typeof(RoleRecord))]
[JsonSerializable(typeof(ScimTokenRecord))]
[JsonSerializable(typeof(PolicyRecord))]
[JsonSerializable(typeof(AuditRecord))]
[JsonSerializable(typeof(AuditHeadRecord))]
internal sealed partial class DirectoryJson : JsonSerializerContext
{
    public static byte[] Encode<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, typeof(T), Default);

    public static T Decode<T>(ReadOnlySpan<byte> bytes) =>
        (T)(JsonSerializer.Deserialize(bytes, typeof(T), Default) ?? throw new InvalidDataException($"null {typeof(T).Name} record"));
}
