using System.Text.Json;
using System.Text.Json.Serialization;

namespace TeamComms.Server.Storage;

/// <summary>
/// A room's workplace settings, a cached view of its <c>room.posting</c>, <c>room.pins</c>, <c>room.content_rules</c>,
/// <c>room.retention</c> and <c>room.purge</c> events: <c>workplace['R' ‖ roomKey]</c>, rewritten with each of them.
/// </summary>
internal sealed record RoomSettingsRecord
{
    /// <summary>The lowest room role that may post; null: by room kind (members, or posters in announcement rooms).</summary>
    public string? PostingRole { get; init; }
    /// <summary>Pinned event ids (unpadded base64url), in pin order.</summary>
    public List<string> Pins { get; init; } = [];
    public ContentRulesRecord? Rules { get; init; }
    /// <summary>The room's own retention in days; 0: the company default applies.</summary>
    public int RetentionDays { get; init; }
    /// <summary>Retention removed the content of removable events up to this seq.</summary>
    public long PurgedThrough { get; init; }
    /// <summary>A room hosted elsewhere: the hub purged up to here; this server's copy follows (0: nothing pending).</summary>
    public long PurgeWanted { get; init; }
}

/// <summary>Content rules: attachment types and size, and the link policy. Null fields take the company default.</summary>
/// <param name="MaxAttachmentBytes">Largest attachment.</param>
/// <param name="AttachmentTypes">Allowed media types (<c>image/png</c>, <c>image/*</c>, <c>*/*</c>); empty: no attachments.</param>
/// <param name="LinkPolicy"><c>allow</c>, <c>block</c> (no links to other sites) or <c>allowlist</c>.</param>
/// <param name="LinkDomains">Domains links may point to under <c>allowlist</c> (subdomains included).</param>
internal sealed record ContentRulesRecord(long? MaxAttachmentBytes, List<string>? AttachmentTypes, string? LinkPolicy, List<string>? LinkDomains);

/// <summary>The company's content policy: <c>workplace['P']</c>. Admins change it (<c>PUT /v1/admin/policies/content</c>).</summary>
internal sealed record ContentPolicyRecord
{
    /// <summary>How long senders may edit their messages, in minutes; null: no limit; 0: never.</summary>
    public int? EditWindowMinutes { get; init; } = 1440;
    /// <summary>How long senders may delete their messages, in minutes; null: no limit; 0: never.</summary>
    public int? DeleteWindowMinutes { get; init; } = 1440;
    /// <summary>Company-wide retention in days; 0: keep forever. A room's own setting overrides it.</summary>
    public int RetentionDays { get; init; }
    /// <summary>Content rules of rooms that set none of their own.</summary>
    public ContentRulesRecord Defaults { get; init; } = new(25L * 1024 * 1024,
    [
        "image/*", "application/pdf", "text/plain", "text/csv",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ], "allow", []);
}

/// <summary>A legal hold on a user (everything they sent) or a room: <c>workplace['H' ‖ id]</c>.</summary>
internal sealed record LegalHoldRecord
{
    public required long Id { get; init; }
    /// <summary><c>user</c> or <c>room</c>.</summary>
    public required string Kind { get; init; }
    /// <summary>A user id or a room id.</summary>
    public required string Target { get; init; }
    public required string Reason { get; init; }
    public required string CreatedBy { get; init; }
    public required long CreatedAt { get; init; }
    public bool Released { get; init; }
    public string? ReleasedBy { get; init; }
    public long? ReleasedAt { get; init; }
    /// <summary>After a release: the retention job has looked again at what the hold covered.</summary>
    public bool Processed { get; init; }
}

/// <summary>A report of a message to moderators: <c>workplace['M' ‖ id]</c>. The reason and note are sealed with the room's key.</summary>
internal sealed record ReportRecord
{
    public required long Id { get; init; }
    public required long RoomKey { get; init; }
    public required string RoomId { get; init; }
    public required long Seq { get; init; }
    /// <summary>The reported event's id, unpadded base64url.</summary>
    public required string EventId { get; init; }
    public required string Reporter { get; init; }
    /// <summary>Who sent the reported event.</summary>
    public required string Sender { get; init; }
    public required byte[] Reason { get; init; }
    public required long CreatedAt { get; init; }
    /// <summary><c>open</c> or <c>resolved</c>.</summary>
    public string Status { get; init; } = "open";
    /// <summary><c>dismissed</c> or <c>redacted</c>.</summary>
    public string? Resolution { get; init; }
    public string? ResolvedBy { get; init; }
    public long? ResolvedAt { get; init; }
    public byte[]? Note { get; init; }
}

/// <summary>A poll's tally (sealed): <c>workplace['T' ‖ roomKey ‖ poll seq]</c>.</summary>
internal sealed record PollTallyRecord
{
    public Dictionary<string, long> Counts { get; init; } = [];
    public long Voters { get; init; }
    public bool Closed { get; init; }
}

/// <summary>An uploaded file: <c>attachments['A' ‖ id]</c>. The bytes are in the attachments directory, sealed with the room's key.</summary>
internal sealed record AttachmentRecord
{
    /// <summary>Hex of the 16-byte id.</summary>
    public required string Id { get; init; }
    public required long RoomKey { get; init; }
    public required string RoomId { get; init; }
    public required string Uploader { get; init; }
    public required string ContentType { get; init; }
    public required long Size { get; init; }
    public required long CreatedAt { get; init; }
    public required int KeyVersion { get; init; }
    /// <summary>The seq of the event that carries it; 0 while no message refers to it.</summary>
    public long Seq { get; init; }
    /// <summary>Its message was redacted or purged; the file is deleted (or kept while a legal hold covers it).</summary>
    public bool Removed { get; init; }
    /// <summary>The file was deleted from the attachments directory (cluster mode: the object from the object store).</summary>
    public bool FileDeleted { get; init; }
    /// <summary>Cluster mode: the id of the cluster key that wraps <see cref="WrappedKey"/>; null on one node.</summary>
    public string? KeyId { get; init; }
    /// <summary>Cluster mode: the attachment's own data key, sealed with a key derived from the cluster log key; null on one node.</summary>
    public byte[]? WrappedKey { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RoomSettingsRecord))]
[JsonSerializable(typeof(ContentPolicyRecord))]
[JsonSerializable(typeof(LegalHoldRecord))]
[JsonSerializable(typeof(ReportRecord))]
[JsonSerializable(typeof(PollTallyRecord))]
[JsonSerializable(typeof(AttachmentRecord))]
[JsonSerializable(typeof(List<string>))]
internal sealed partial class WorkplaceJson : JsonSerializerContext
{
    public static byte[] Encode<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, typeof(T), Default);

    public static T Decode<T>(ReadOnlySpan<byte> bytes) =>
        (T)(JsonSerializer.Deserialize(bytes, typeof(T), Default) ?? throw new InvalidDataException($"null {typeof(T).Name} record"));
}
