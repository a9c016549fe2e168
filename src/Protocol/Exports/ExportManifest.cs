using System.Text.Json;
using System.Text.Json.Serialization;

namespace TeamComms.Protocol.Exports;

/// <summary>
/// What a compliance export is: who asked for which scope, from where and when, which server wrote it, to which age
/// recipients it is encrypted, and the size and SHA-256 of the <c>.age</c> file. age does not say who wrote a file,
/// so the server signs these fields with its Ed25519 key (<see cref="SignedExportManifest"/>); the manifest sits
/// beside the export as <c>&lt;file&gt;.manifest.json</c>. Times are ISO 8601 UTC strings.
/// </summary>
public sealed record ExportManifest
{
    /// <summary>Manifest format version; 1.</summary>
    public int Version { get; init; } = 1;
    /// <summary>Always <c>teamcomms.export</c>, so a backup manifest is never taken for an export manifest.</summary>
    public string Kind { get; init; } = "teamcomms.export";
    /// <summary>File name of the export (<c>….age</c>).</summary>
    public required string File { get; init; }
    /// <summary>The server that wrote it.</summary>
    public required string Server { get; init; }
    /// <summary>When it was written.</summary>
    public required string CreatedAt { get; init; }
    /// <summary>Size of the <c>.age</c> file in bytes.</summary>
    public required long Size { get; init; }
    /// <summary>SHA-256 of the <c>.age</c> file, lower-case hex.</summary>
    public required string Sha256 { get; init; }
    /// <summary>Key ids of every age recipient of the file: the escrow key and the requesting officer's key.</summary>
    public required IReadOnlyList<string> Recipients { get; init; }
    /// <summary>Key id of the company escrow key.</summary>
    public required string EscrowKeyId { get; init; }
    /// <summary>Key id of the requesting officer's approved export recipient.</summary>
    public required string OfficerKeyId { get; init; }
    /// <summary>The compliance officer who asked for it.</summary>
    public required string RequestedBy { get; init; }
    /// <summary>Their client address as the server saw it.</summary>
    public required string RequestedFrom { get; init; }
    /// <summary>Scope: one room, or null for every room.</summary>
    public string? Room { get; init; }
    /// <summary>Scope: only events this user sent, or null for every sender.</summary>
    public string? User { get; init; }
    /// <summary>Scope: events at or after this time, or null.</summary>
    public string? Since { get; init; }
    /// <summary>Scope: events before this time, or null.</summary>
    public string? Until { get; init; }
    /// <summary>The officer's stated reason (a case number, a legal request), or null.</summary>
    public string? Reason { get; init; }
    /// <summary>Rooms with at least one exported event.</summary>
    public required int Rooms { get; init; }
    /// <summary>Events exported.</summary>
    public required long Events { get; init; }
    /// <summary>Events whose content was removed (redaction, retention): exported as removed, without content.</summary>
    public required long Removed { get; init; }
    /// <summary>Key id of the server's Ed25519 signing key (<c>ed25519:…</c>).</summary>
    public required string SigningKeyId { get; init; }
    /// <summary>The signing key's public half, base64.</summary>
    public required string SigningPublicKey { get; init; }
}

/// <summary>The manifest file: the manifest and the base64 Ed25519 signature over <see cref="Canonical"/>.</summary>
public sealed record SignedExportManifest(ExportManifest Manifest, string Signature)
{
    /// <summary>The bytes that are signed: the manifest as compact JSON, properties in declaration order, nulls written.</summary>
    public static byte[] Canonical(ExportManifest manifest) => JsonSerializer.SerializeToUtf8Bytes(manifest, ExportJson.Default.ExportManifest);

    /// <summary>The manifest file's content (indented JSON).</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, ExportJson.Indented.SignedExportManifest);

    /// <summary>Parses a manifest file; throws <see cref="InvalidDataException"/> for anything else.</summary>
    public static SignedExportManifest Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            var m = JsonSerializer.Deserialize(json, ExportJson.Default.SignedExportManifest);
            return m is { Manifest.Kind: "teamcomms.export" } ? m : throw new InvalidDataException("not a TeamComms export manifest");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException("not a TeamComms export manifest: " + ex.Message, ex);
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ExportManifest))]
[JsonSerializable(typeof(SignedExportManifest))]
internal sealed partial class ExportJson : JsonSerializerContext
{
    public static ExportJson Indented { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
