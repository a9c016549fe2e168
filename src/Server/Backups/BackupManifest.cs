using System.Text.Json;
using System.Text.Json.Serialization;
using TeamComms.Crypto;

namespace TeamComms.Server.Backups;

/// <summary>
/// What a backup is: which server made it and when, to which recipients, under which keys, and the SHA-256 of the
/// age file. age does not say who wrote a file, so the server signs this with its Ed25519 key; a restore refuses a
/// backup whose manifest does not verify or does not match the file.
/// </summary>
internal sealed record BackupManifest
{
    public int Version { get; init; } = 1;
    public required string File { get; init; }
    public required string Server { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required int DataFormat { get; init; }
    public required long Size { get; init; }
    public required string Sha256 { get; init; }
    /// <summary>Key ids of the age recipients the file is encrypted to (escrow, optional recovery).</summary>
    public required IReadOnlyList<string> Recipients { get; init; }
    public required string KekId { get; init; }
    public required int DataKeys { get; init; }
    public required string SigningKeyId { get; init; }
    public required string SigningPublicKey { get; init; }
}

/// <summary>The manifest file: the manifest and the Ed25519 signature over its canonical JSON bytes.</summary>
internal sealed record SignedManifest(BackupManifest Manifest, string Signature)
{
    public static SignedManifest Sign(BackupManifest manifest, SigningKey key) =>
        new(manifest, Convert.ToBase64String(key.Sign(Canonical(manifest))));

    /// <summary>The bytes that are signed: the manifest serialized by this code (fixed property order).</summary>
    public static byte[] Canonical(BackupManifest manifest) => JsonSerializer.SerializeToUtf8Bytes(manifest, BackupJson.Default.BackupManifest);

    /// <summary>True when the signature verifies under the manifest's own public key.</summary>
    public bool Verify()
    {
        byte[] publicKey, signature;
        try
        {
            publicKey = Convert.FromBase64String(Manifest.SigningPublicKey);
            signature = Convert.FromBase64String(Signature);
        }
        catch (FormatException)
        {
            return false;
        }
        return SigningKey.KeyIdOf(publicKey) == Manifest.SigningKeyId && SigningKey.Verify(publicKey, Canonical(Manifest), signature);
    }

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, BackupJson.Indented.SignedManifest);

    public static SignedManifest Parse(byte[] json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, BackupJson.Default.SignedManifest) ?? throw new InvalidDataException("the manifest is empty");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException("the manifest is not a TeamComms backup manifest: " + ex.Message, ex);
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(BackupManifest))]
[JsonSerializable(typeof(SignedManifest))]
internal sealed partial class BackupJson : JsonSerializerContext
{
    public static BackupJson Indented { get; } = new(new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true });
}
