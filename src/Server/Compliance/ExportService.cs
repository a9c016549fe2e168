using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TeamComms.Crypto.Age;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Exports;
using TeamComms.Server.Accounts;
using TeamComms.Server.Approvals;
using TeamComms.Server.Audit;
using TeamComms.Server.Backups;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Hosting;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Compliance;

/// <summary>
/// Compliance exports: a room, a user's messages, or a time range (or a combination), as JSON lines plus a readable
/// HTML transcript in a tar, streamed through an age encryptor to the company escrow key and the requesting
/// compliance officer's approved recipient, straight into the export file: the plaintext never reaches the disk.
/// A manifest signed by the server's Ed25519 key goes beside it, and every export is an audit entry (who, what
/// scope, when, from which address) committed before the file becomes visible.
/// </summary>
internal sealed partial class ExportService(
    RocksStore rocks,
    RoomStore rooms,
    RoomRegistry registry,
    EventStore events,
    DirectoryState directory,
    ApprovalService approvals,
    AuditLog audit,
    ServerIdentity identity,
    TimeProvider time,
    IOptions<ExportOptions> options,
    ILogger<ExportService> logger) : IDisposable
{
    private const int ReadPage = 512;
    // One export at a time: each holds a few MiB of plaintext and a core while it runs.
    private readonly SemaphoreSlim _gate = new(1, 1);

    public string Directory => Path.GetFullPath(options.Value.ExportDirectory is { Length: > 0 } d ? d : Path.Combine(rocks.DataDirectory, "exports"));

    /// <summary>Checks the request and the recipients, writes the export, audits it, and returns its signed manifest.</summary>
    public async Task<SignedExportManifest> CreateAsync(AuthenticatedSession session, Principal by, ExportScope scope)
    {
        if (!session.Roles.Contains(CompanyRoles.ComplianceOfficer))
        {
            throw new ApiException(ErrorCode.Forbidden, "only compliance officers export");
        }
        RoleSeparation.RefuseCombined(session);
        scope.Validate();
        if (scope.Room is { } roomId && registry.Find(roomId) is null)
        {
            throw new ApiException(ErrorCode.UnknownRoom, $"no room {roomId}");
        }
        if (scope.User is { } userId && directory.Current.Find(userId) is null)
        {
            throw new ApiException(ErrorCode.UnknownUser, $"no user {userId}");
        }
        var atRest = rocks.AtRest ?? throw new ApiException(ErrorCode.Unavailable, "encryption at rest is off; exports need the company's keys");
        var escrow = atRest.EscrowRecipient ?? throw new ApiException(ErrorCode.Unavailable,
            "no escrow recipient is approved: an export is always encrypted to the company escrow key (configure TeamComms:Keys:EscrowRecipient)");
        var officer = approvals.ExportRecipientOf(session.UserId) is { } r ? AgeRecipient.Parse(r.Recipient)
            : throw new ApiException(ErrorCode.NoExportRecipient, approvals.PendingExportRequest(session.UserId) is { } pending
                ? $"your export recipient (request {pending.Id}) is waiting for a security officer's approval; an export is encrypted to it, so it cannot be made yet"
                : "you have no export recipient: register your age public key with `teamcomms compliance recipient set age1…` (PUT /v1/compliance/recipient) and have a security officer approve it");
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            return await Task.Run(() => Write(session, by, scope, escrow, officer)).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<SignedExportManifest> Write(AuthenticatedSession session, Principal by, ExportScope scope, AgeRecipient escrow, AgeRecipient officer)
    {
        var atRest = rocks.AtRest!;
        var now = time.GetUtcNow();
        var server = identity.ServerName;
        var name = $"export-{server.Replace(':', '_')}-{now.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}.age";
        var dir = Directory;
        System.IO.Directory.CreateDirectory(dir);
        var partial = Path.Combine(dir, name + ".partial");
        var final = Path.Combine(dir, name);
        var recipients = new[] { escrow, officer }.Distinct().ToArray();
        try
        {
            long size;
            byte[] sha;
            ExportWriter writer;
            using (var fs = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                using var hashing = new HashingStream(fs);
                using (var age = new AgeEncryptStream(hashing, recipients, leaveOpen: true))
                {
                    using (writer = new ExportWriter(age, now))
                    {
                        WriteEvents(writer, scope);
                        var facts = Facts(scope, session.UserId, by.Address, now, server, writer, escrow, officer);
                        writer.Finish($"TeamComms export — {server}", facts, Info(facts));
                    }
                    age.Complete();
                }
                fs.Flush(flushToDisk: true);
                size = hashing.BytesWritten;
                sha = hashing.GetHash();
            }
            var signing = atRest.SigningKey;
            var manifest = new ExportManifest
            {
                File = name,
                Server = server,
                CreatedAt = Iso(now),
                Size = size,
                Sha256 = Convert.ToHexStringLower(sha),
                Recipients = [.. recipients.Select(x => x.KeyId)],
                EscrowKeyId = escrow.KeyId,
                OfficerKeyId = officer.KeyId,
                RequestedBy = session.UserId,
                RequestedFrom = by.Address,
                Room = scope.Room,
                User = scope.User,
                Since = scope.Since is { } s ? Iso(s) : null,
                Until = scope.Until is { } u ? Iso(u) : null,
                Reason = scope.Reason,
                Rooms = writer.Rooms,
                Events = writer.Events,
                Removed = writer.Removed,
                SigningKeyId = signing.KeyId,
                SigningPublicKey = Convert.ToBase64String(signing.PublicKey),
            };
            var signed = new SignedExportManifest(manifest, Convert.ToBase64String(signing.Sign(SignedExportManifest.Canonical(manifest))));
            // Audited before it becomes visible: an export that exists has its entry.
            await audit.RecordAsync(by.Event("compliance.export", scope.Target, AuditDetails(manifest))).ConfigureAwait(false);
            await File.WriteAllBytesAsync(final + ".manifest.json", signed.ToJson()).ConfigureAwait(false);
            File.Move(partial, final);
            LogExport(logger, session.UserId, name, manifest.Events, size);
            return signed;
        }
        catch
        {
            File.Delete(partial);
            throw;
        }
    }

    private void WriteEvents(ExportWriter writer, ExportScope scope)
    {
        var selected = scope.Room is { } roomId
            ? rooms.AllRooms().Where(r => r.RoomId == roomId)
            : rooms.AllRooms().OrderBy(r => r.Key);
        var people = directory.Current;
        foreach (var room in selected.ToList())
        {
            if (!events.TryGetHead(room.Key, out var head))
            {
                continue;
            }
            for (long from = 1; from <= head.Seq;)
            {
                var page = events.ReadRange(room.Key, from, head.Seq, forward: true, ReadPage);
                if (page.Count == 0)
                {
                    break;
                }
                foreach (var stored in page)
                {
                    var e = EventCodec.Read(stored.Wire);
                    if (scope.Matches(e))
                    {
                        writer.Add(room.RoomId, room.Name, e, people.Find(e.Sender)?.Profile.DisplayName);
                    }
                }
                from = page[^1].Seq + 1;
            }
        }
    }

    private static List<(string Label, string Value)> Facts(ExportScope scope, string officer, string address, DateTimeOffset now, string server,
        ExportWriter writer, AgeRecipient escrow, AgeRecipient officerKey) =>
    [
        ("server", server),
        ("exported at", now.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture)),
        ("requested by", officer),
        ("from address", address),
        ("room", scope.Room ?? "every room"),
        ("sender", scope.User ?? "every sender"),
        ("since", scope.Since is { } s ? Iso(s) : "the beginning"),
        ("until", scope.Until is { } u ? Iso(u) : "the export"),
        ("reason", scope.Reason ?? ""),
        ("rooms", writer.Rooms.ToString(CultureInfo.InvariantCulture)),
        ("events", writer.Events.ToString(CultureInfo.InvariantCulture)),
        ("removed content", writer.Removed.ToString(CultureInfo.InvariantCulture)),
        ("encrypted to", $"escrow key {escrow.KeyId}, officer key {officerKey.KeyId}"),
    ];

    private static byte[] Info(List<(string Label, string Value)> facts)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("format", "teamcomms.export/1");
            foreach (var (label, value) in facts)
            {
                w.WriteString(label.Replace(' ', '_'), value);
            }
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    private static Dictionary<string, string> AuditDetails(ExportManifest m)
    {
        var d = new Dictionary<string, string>
        {
            ["file"] = m.File,
            ["sha256"] = m.Sha256,
            ["room"] = m.Room ?? "*",
            ["user"] = m.User ?? "*",
            ["since"] = m.Since ?? "",
            ["until"] = m.Until ?? "",
            ["events"] = m.Events.ToString(CultureInfo.InvariantCulture),
            ["removed"] = m.Removed.ToString(CultureInfo.InvariantCulture),
            ["rooms"] = m.Rooms.ToString(CultureInfo.InvariantCulture),
            ["recipients"] = string.Join(",", m.Recipients),
        };
        if (m.Reason is { } reason)
        {
            d["reason"] = reason;
        }
        return d;
    }

    /// <summary>The signed manifests of the exports <paramref name="officer"/> made, newest first.</summary>
    public List<SignedExportManifest> List(string officer)
    {
        var dir = Directory;
        if (!System.IO.Directory.Exists(dir))
        {
            return [];
        }
        var result = new List<SignedExportManifest>();
        foreach (var file in System.IO.Directory.EnumerateFiles(dir, "export-*.age.manifest.json"))
        {
            try
            {
                var m = SignedExportManifest.Parse(File.ReadAllBytes(file));
                if (m.Manifest.RequestedBy == officer)
                {
                    result.Add(m);
                }
            }
            catch (InvalidDataException)
            {
                // not ours to list
            }
        }
        return [.. result.OrderByDescending(m => m.Manifest.CreatedAt, StringComparer.Ordinal)];
    }

    /// <summary>
    /// The path of an export file (or its manifest) that <paramref name="officer"/> made; null for any other name.
    /// The file is ciphertext, but only its requester downloads it, and each download is audited.
    /// </summary>
    public string? Resolve(string fileName, string officer)
    {
        if (fileName.Contains('/', StringComparison.Ordinal) || fileName.Contains('\\', StringComparison.Ordinal) || fileName.StartsWith('.')
            || !fileName.StartsWith("export-", StringComparison.Ordinal)
            || !(fileName.EndsWith(".age", StringComparison.Ordinal) || fileName.EndsWith(".age.manifest.json", StringComparison.Ordinal)))
        {
            return null;
        }
        var path = Path.Combine(Directory, fileName);
        var manifestPath = fileName.EndsWith(".age", StringComparison.Ordinal) ? path + ".manifest.json" : path;
        if (!File.Exists(path) || !File.Exists(manifestPath))
        {
            return null;
        }
        try
        {
            return SignedExportManifest.Parse(File.ReadAllBytes(manifestPath)).Manifest.RequestedBy == officer ? path : null;
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    internal static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    internal static string Iso(long ms) => Iso(DateTimeOffset.FromUnixTimeMilliseconds(ms));

    public void Dispose() => _gate.Dispose();

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "Compliance export by {Officer} written to {File}: {Events} events, {Bytes} bytes")]
    private static partial void LogExport(ILogger logger, string officer, string file, long events, long bytes);
}
