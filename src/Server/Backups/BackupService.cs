using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TeamComms.Crypto.Age;
using TeamComms.Protocol;
using TeamComms.Server.Hosting;
using TeamComms.Server.Keys;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Backups;

/// <summary>
/// Online, consistent backups while the server runs: a RocksDB checkpoint (hard links to the immutable SST files, a
/// consistent cut across every column family) plus the attachments directory, streamed as a tar archive through an
/// age v1 encryptor to the company recipients, never written in plaintext. A signed manifest goes beside it.
/// </summary>
internal sealed partial class BackupService(RocksStore store, ServerIdentity identity, IOptions<BackupOptions> options, TimeProvider time,
    ISecurityAuditSink audit, ILogger<BackupService> logger) : IDisposable
{
    /// <summary>Name of the archive entry that describes the backup inside the encrypted file.</summary>
    public const string InfoEntry = "teamcomms-backup.json";
    private readonly SemaphoreSlim _gate = new(1, 1);

    public string Directory => Path.GetFullPath(options.Value.Directory is { Length: > 0 } d ? d : Path.Combine(store.DataDirectory, "backups"));

    public string AttachmentsDirectory => Path.GetFullPath(options.Value.AttachmentsDirectory is { Length: > 0 } a ? a : Path.Combine(store.DataDirectory, "attachments"));

    public async Task<(SignedManifest Manifest, string Path)> CreateAsync(string actor)
    {
        var atRest = store.AtRest ?? throw new ApiException(ErrorCode.Unavailable, "encryption at rest is off; backups need it");
        if (atRest.CompanyRecipients.Count == 0)
        {
            throw new ApiException(ErrorCode.Unavailable,
                "no escrow recipient is configured (TeamComms:Keys:EscrowRecipient): a backup is encrypted to the company's keys. Run `teamcomms escrow init` first.");
        }
        if (!await _gate.WaitAsync(0).ConfigureAwait(false))
        {
            throw new ApiException(ErrorCode.Conflict, "a backup is already running");
        }
        try
        {
            var result = await Task.Run(Create).ConfigureAwait(false);
            audit.Record("backup.created", actor, new Dictionary<string, string>
            {
                ["file"] = result.Manifest.Manifest.File,
                ["size"] = result.Manifest.Manifest.Size.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["sha256"] = result.Manifest.Manifest.Sha256,
                ["recipients"] = string.Join(",", result.Manifest.Manifest.Recipients),
            });
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    private (SignedManifest Manifest, string Path) Create()
    {
        var atRest = store.AtRest!;
        var recipients = atRest.CompanyRecipients;
        var now = time.GetUtcNow();
        var server = identity.ServerName;
        var name = $"teamcomms-{server.Replace(':', '_')}-{now.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}.age";
        var dir = Directory;
        System.IO.Directory.CreateDirectory(dir);
        var checkpoints = Path.Combine(store.DataDirectory, "checkpoints");
        RemoveLeftovers(checkpoints, dir);
        var checkpoint = Path.Combine(checkpoints, Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(checkpoints);
        var partial = Path.Combine(dir, name + ".partial");
        var final = Path.Combine(dir, name);
        var started = time.GetTimestamp();
        try
        {
            store.Checkpoint(checkpoint);
            long size;
            byte[] sha;
            using (var fs = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                using var hashing = new HashingStream(fs);
                using (var age = new AgeEncryptStream(hashing, recipients, leaveOpen: true))
                {
                    using (var tar = new TarWriter(age, TarEntryFormat.Pax, leaveOpen: true))
                    {
                        var info = Encoding.UTF8.GetBytes(
                            $"{{\"server\":\"{server}\",\"created_at\":\"{now:O}\",\"data_format\":{RocksStore.CurrentFormatVersion},\"epoch\":{store.Epoch}}}");
                        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, InfoEntry) { DataStream = new MemoryStream(info) });
                        AddDirectory(tar, checkpoint, "db");
                        if (System.IO.Directory.Exists(AttachmentsDirectory))
                        {
                            AddDirectory(tar, AttachmentsDirectory, "attachments");
                        }
                    }
                    age.Complete();
                }
                fs.Flush(flushToDisk: true);
                size = hashing.BytesWritten;
                sha = hashing.GetHash();
            }
            File.Move(partial, final);
            var signing = atRest.SigningKey;
            var manifest = SignedManifest.Sign(new BackupManifest
            {
                File = name,
                Server = server,
                CreatedAt = now,
                DataFormat = RocksStore.CurrentFormatVersion,
                Size = size,
                Sha256 = Convert.ToHexStringLower(sha),
                Recipients = [.. recipients.Select(r => r.KeyId)],
                KekId = atRest.KekId,
                DataKeys = atRest.RoomCount,
                SigningKeyId = signing.KeyId,
                SigningPublicKey = Convert.ToBase64String(signing.PublicKey),
            }, signing);
            File.WriteAllBytes(final + ".manifest.json", manifest.ToJson());
            var seconds = time.GetElapsedTime(started).TotalSeconds;
            LogBackup(logger, final, size, seconds > 0 ? size / seconds / 1e6 : 0);
            return (manifest, final);
        }
        catch
        {
            File.Delete(partial);
            throw;
        }
        finally
        {
            try
            {
                System.IO.Directory.Delete(checkpoint, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }

    /// <summary>One backup runs at a time, so checkpoints and partial files found now were left by a crash.</summary>
    private static void RemoveLeftovers(string checkpoints, string backupDirectory)
    {
        if (System.IO.Directory.Exists(checkpoints))
        {
            foreach (var stale in System.IO.Directory.EnumerateDirectories(checkpoints))
            {
                System.IO.Directory.Delete(stale, recursive: true);
            }
        }
        foreach (var partial in System.IO.Directory.EnumerateFiles(backupDirectory, "*.age.partial"))
        {
            File.Delete(partial);
        }
    }

    private static void AddDirectory(TarWriter tar, string root, string prefix)
    {
        foreach (var file in System.IO.Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/');
            tar.WriteEntry(file, prefix + "/" + relative);
        }
    }

    /// <summary>Full path of a backup file or its manifest in the backup directory; null for any other name.</summary>
    public string? Resolve(string fileName)
    {
        if (fileName.Contains('/', StringComparison.Ordinal) || fileName.Contains('\\', StringComparison.Ordinal) || fileName.StartsWith('.')
            || !(fileName.EndsWith(".age", StringComparison.Ordinal) || fileName.EndsWith(".age.manifest.json", StringComparison.Ordinal)))
        {
            return null;
        }
        var path = Path.Combine(Directory, fileName);
        return File.Exists(path) ? path : null;
    }

    public void Dispose() => _gate.Dispose();

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Backup written to {Path}: {Bytes} bytes at {MBps:F0} MB/s")]
    private static partial void LogBackup(ILogger logger, string path, long bytes, double mbps);
}
