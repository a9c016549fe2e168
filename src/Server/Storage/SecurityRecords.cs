using System.Text.Json;
using System.Text.Json.Serialization;

namespace TeamComms.Server.Storage;

/// <summary>
/// A two-person approval request: one officer (or the configuration file, <c>config</c>) asks for a change of who
/// receives backups or exports; a different officer with the required role approves or rejects it before
/// <see cref="ExpiresAt"/>. Kinds: <c>company_recipients</c> (escrow and recovery recipients; approved by a
/// security officer) and <c>export_recipient</c> (a compliance officer's own age recipient; approved by a security
/// officer). Decided requests are kept: they are the record of who agreed to what.
/// </summary>
internal sealed record ApprovalRecord
{
    public required long Id { get; init; }
    public required string Kind { get; init; }
    /// <summary>The compliance officer whose recipient changes (<c>export_recipient</c>); empty for company recipients.</summary>
    public string Subject { get; init; } = "";
    /// <summary>Requested escrow recipient (<c>age1…</c>), for <c>company_recipients</c>.</summary>
    public string? Escrow { get; init; }
    /// <summary>Requested recovery recipient, or null for none, for <c>company_recipients</c>.</summary>
    public string? Recovery { get; init; }
    /// <summary>Requested export recipient, for <c>export_recipient</c>.</summary>
    public string? Recipient { get; init; }
    /// <summary>What was in force when the request was made (for the approver to compare): recipients as <c>age1…</c>, comma-separated.</summary>
    public string Current { get; init; } = "";
    public required string RequestedBy { get; init; }
    public string RequestedFrom { get; init; } = "";
    public required long RequestedAt { get; init; }
    public required long ExpiresAt { get; init; }
    public string? Note { get; init; }
    /// <summary><c>pending</c>, <c>approved</c>, <c>rejected</c>, <c>cancelled</c>, <c>expired</c> or <c>superseded</c>.</summary>
    public string Status { get; init; } = "pending";
    public string? DecidedBy { get; init; }
    public string? DecidedFrom { get; init; }
    public long? DecidedAt { get; init; }
    public string? Reason { get; init; }
}

/// <summary>A compliance officer's approved export recipient: exports they request are encrypted to it and to the escrow key.</summary>
internal sealed record ExportRecipientRecord(string UserId, string Recipient, string KeyId, long ApprovedAt, string ApprovedBy, long RequestId);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ApprovalRecord))]
[JsonSerializable(typeof(ExportRecipientRecord))]
internal sealed partial class SecurityJson : JsonSerializerContext
{
    public static byte[] Encode<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, typeof(T), Default);

    public static T Decode<T>(ReadOnlySpan<byte> bytes) =>
        (T)(JsonSerializer.Deserialize(bytes, typeof(T), Default) ?? throw new InvalidDataException($"null {typeof(T).Name} record"));
}
