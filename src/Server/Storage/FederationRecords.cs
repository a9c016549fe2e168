using System.Text.Json;
using System.Text.Json.Serialization;

namespace TeamComms.Server.Storage;

/// <summary>A partner server on the federation allowlist: <c>federation['p' ‖ server]</c>.</summary>
internal sealed record PartnerRecord
{
    public required string Server { get; init; }
    /// <summary>Overrides discovery through <c>/.well-known/teamcomms/server</c> when set.</summary>
    public string? BaseUrl { get; init; }
    public string? Note { get; init; }
    public long AddedAt { get; init; }
    public string? AddedBy { get; init; }
}

/// <summary>
/// One of this server's signing keys: <c>federation['k' ‖ key_id]</c>. The seed never leaves the data directory, and
/// with encryption at rest it is stored sealed (<see cref="Sealed"/>), see <see cref="FederationStore.OwnKeys"/>.
/// </summary>
internal sealed record OwnKeyRecord
{
    public required string KeyId { get; init; }
    public required byte[] Seed { get; init; }
    /// <summary>True when <see cref="Seed"/> is stored sealed under the at-rest encryption.</summary>
    public bool Sealed { get; init; }
    public required byte[] PublicKey { get; init; }
    public required long ValidFrom { get; init; }
    public long? ValidUntil { get; init; }
}

/// <summary>A cached verify key of another server: <c>federation['r' ‖ server ‖ 0 ‖ key_id]</c>. Kept after rotation so old signatures verify.</summary>
internal sealed record RemoteKeyRecord
{
    public required string Server { get; init; }
    public required string KeyId { get; init; }
    public required byte[] PublicKey { get; init; }
    public required long ValidFrom { get; init; }
    public long? ValidUntil { get; init; }
    public long FetchedAt { get; init; }
    /// <summary>The server the document came from when it was not fetched from <see cref="Server"/> itself (a room's hub).</summary>
    public string? Via { get; init; }
}

/// <summary>
/// A send by a local user to a room hosted elsewhere, waiting for its hub: <c>federation['n' ‖ nonce]</c>, with the
/// index <c>federation['t' ‖ session ‖ txn]</c> → nonce so a client retry finds it. Removed when the ordered event
/// arrives from the hub (the transaction id then maps to the event in <c>txns</c>) or when the hub refuses it.
/// </summary>
internal sealed record PendingRecord
{
    public required string Nonce { get; init; }
    public required string RoomId { get; init; }
    public required string Destination { get; init; }
    public required long SessionKey { get; init; }
    public required long UserKey { get; init; }
    /// <summary>The client's transaction id; empty for calls (join, leave, invite, …) that have none.</summary>
    public required string Txn { get; init; }
    public long CreatedAt { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PartnerRecord))]
[JsonSerializable(typeof(OwnKeyRecord))]
[JsonSerializable(typeof(List<OwnKeyRecord>))]
[JsonSerializable(typeof(RemoteKeyRecord))]
[JsonSerializable(typeof(PendingRecord))]
internal sealed partial class FederationRecordJson : JsonSerializerContext
{
    public static byte[] Encode<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, typeof(T), Default);

    public static T Decode<T>(ReadOnlySpan<byte> bytes) =>
        (T)(JsonSerializer.Deserialize(bytes, typeof(T), Default) ?? throw new InvalidDataException($"null {typeof(T).Name} record"));
}
