using System.Text.Json;
using System.Text.Json.Serialization;

namespace TeamComms.Server.Storage.Encryption;

/// <summary>
/// A secret stored twice: wrapped by the KEK (XChaCha20-Poly1305, bound to its place by associated data) and, when
/// company recipients are configured, as a small age file to them (the escrow key and the optional recovery key).
/// </summary>
internal sealed record WrappedSecretRecord
{
    public required string KekId { get; init; }
    public required byte[] KekWrapped { get; init; }
    /// <summary>Key ids of the age recipients of <see cref="EscrowWrapped"/>, sorted; empty when none was configured.</summary>
    public IReadOnlyList<string> EscrowIds { get; init; } = [];
    public byte[]? EscrowWrapped { get; init; }
    public long CreatedAt { get; init; }
    /// <summary>Public part, for keys that have one (the server's Ed25519 key).</summary>
    public byte[]? PublicKey { get; init; }
}

/// <summary>Where the KEK comes from, recorded so a start with the wrong kind of source is refused clearly.</summary>
internal sealed record KekSourceRecord(string Kind, byte[]? Salt, long MemoryKiB, long Passes);

/// <summary>The KEK check: the id of the KEK that wraps everything, and a value sealed by it.</summary>
internal sealed record KekCheckRecord(string KekId, byte[] Sealed);

/// <summary>
/// A KEK rotation in progress. Each key is wrapped by the other, so a start with either the old or the new key
/// finishes the rotation after a crash.
/// </summary>
internal sealed record KekRotationRecord(string OldId, string NewId, byte[] NewUnderOld, byte[] OldUnderNew, KekSourceRecord NewSource);

/// <summary>
/// The company recipients in force: data keys are wrapped to them and backups encrypted to them. A change takes a
/// second officer's approval (<see cref="ApprovedBy"/> is that officer, or <c>config</c> for the first recipients of
/// a data directory, which there was nothing to protect before).
/// </summary>
internal sealed record CompanyRecipientsRecord(string? Escrow, string? Recovery, long ApprovedAt, string ApprovedBy, long RequestId);

/// <summary>The recipients the configuration file named at the last start, so that a change of the file is noticed once.</summary>
internal sealed record ConfiguredRecipientsRecord(string? Escrow, string? Recovery, long SeenAt);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WrappedSecretRecord))]
[JsonSerializable(typeof(KekSourceRecord))]
[JsonSerializable(typeof(KekCheckRecord))]
[JsonSerializable(typeof(KekRotationRecord))]
[JsonSerializable(typeof(CompanyRecipientsRecord))]
[JsonSerializable(typeof(ConfiguredRecipientsRecord))]
internal sealed partial class EncryptionJson : JsonSerializerContext
{
    public static byte[] Encode<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, typeof(T), Default);

    public static T Decode<T>(ReadOnlySpan<byte> bytes) =>
        (T)(JsonSerializer.Deserialize(bytes, typeof(T), Default) ?? throw new InvalidDataException($"null {typeof(T).Name} record"));
}
