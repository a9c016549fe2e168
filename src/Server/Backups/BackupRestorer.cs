using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using TeamComms.Crypto.Age;
using TeamComms.Crypto.Escrow;
using TeamComms.Crypto.Keys;
using TeamComms.Server.Storage;
using TeamComms.Server.Storage.Encryption;

namespace TeamComms.Server.Backups;

/// <summary>What a restore needs. Shares are (name, text) pairs; a text may be an age file encrypted to its holder.</summary>
internal sealed record RestoreRequest
{
    public required string BackupFile { get; init; }
    public string? ManifestFile { get; init; }
    public required string DataDirectory { get; init; }
    public IReadOnlyList<(string Name, string Text)> Shares { get; init; } = [];
    /// <summary>Identities that open holder-encrypted shares.</summary>
    public IReadOnlyList<AgeIdentity> ShareIdentities { get; init; } = [];
    /// <summary>Identities that open the backup directly (the operations recovery key).</summary>
    public IReadOnlyList<AgeIdentity> Identities { get; init; } = [];
    /// <summary>The restored server's key settings (new key file or passphrase); default: a new <c>&lt;data&gt;/kek.key</c>.</summary>
    public KeyOptions NewKeys { get; init; } = new();
    /// <summary>When set, the manifest must be signed by this server key id.</summary>
    public string? ExpectSigningKey { get; init; }
}

/// <summary>A restore was refused; nothing was written to the target directory.</summary>
internal sealed class RestoreException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Restores a backup into an empty data directory: verifies the signed manifest, recombines the escrow key from a
/// threshold of shares (or uses the recovery key), checks the backup was made for that key, decrypts and unpacks into
/// a staging directory while checking the file's SHA-256, rewraps every data key under the restored server's new KEK,
/// and only then moves the staging directory into place. Any failure deletes the staging directory.
/// </summary>
internal static class BackupRestorer
{
    public static RestoreResult Restore(RestoreRequest request, ILogger logger)
    {
        var target = Path.GetFullPath(request.DataDirectory);
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
        {
            throw new RestoreException($"the data directory {target} is not empty; a restore fills an empty directory only");
        }
        if (!File.Exists(request.BackupFile))
        {
            throw new RestoreException($"the backup file {request.BackupFile} does not exist");
        }
        var manifestPath = request.ManifestFile ?? request.BackupFile + ".manifest.json";
        if (!File.Exists(manifestPath))
        {
            throw new RestoreException($"the manifest {manifestPath} does not exist (it is written beside each backup)");
        }
        SignedManifest signed;
        try
        {
            signed = SignedManifest.Parse(File.ReadAllBytes(manifestPath));
        }
        catch (InvalidDataException ex)
        {
            throw new RestoreException(ex.Message, ex);
        }
        if (!signed.Verify())
        {
            throw new RestoreException("the backup manifest's signature does not verify: the manifest was modified. Nothing was restored.");
        }
        var manifest = signed.Manifest;
        if (request.ExpectSigningKey is { } expected && expected != manifest.SigningKeyId)
        {
            throw new RestoreException($"the manifest is signed by {manifest.SigningKeyId}, not by the expected server key {expected}. Nothing was restored.");
        }
        var identities = new List<AgeIdentity>(request.Identities);
        if (request.Shares.Count > 0)
        {
            identities.Add(CombineShares(request));
        }
        if (identities.Count == 0)
        {
            throw new RestoreException("give a threshold of escrow shares (--share) or the recovery key (--identity)");
        }
        var given = identities.Select(i => i.Recipient.KeyId).ToList();
        if (!given.Any(manifest.Recipients.Contains))
        {
            throw new RestoreException($"this backup was made for recipient(s) {string.Join(", ", manifest.Recipients)}, " +
                $"but the key(s) given are {string.Join(", ", given)}. Nothing was restored.");
        }
        var staging = target.TrimEnd(Path.DirectorySeparatorChar) + ".restoring-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var started = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            Directory.CreateDirectory(staging);
            long bytes;
            using (var file = new FileStream(request.BackupFile, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
            using (var hashing = new HashingReadStream(file))
            {
                try
                {
                    using (var age = new AgeDecryptStream(hashing, identities, leaveOpen: true))
                    {
                        Unpack(age, staging);
                        // Read to the end so a truncated or extended file is caught even past the tar end marker.
                        age.CopyTo(Stream.Null);
                    }
                }
                catch (AgeException ex)
                {
                    throw new RestoreException($"the backup file is damaged or was tampered with: {ex.Message}. Nothing was restored.", ex);
                }
                hashing.Drain();
                bytes = hashing.BytesRead;
                if (hashing.BytesRead != manifest.Size || Convert.ToHexStringLower(hashing.GetHash()) != manifest.Sha256)
                {
                    throw new RestoreException("the backup file does not match its manifest (size or SHA-256 differ): it is not the file the server wrote. Nothing was restored.");
                }
            }
            if (!File.Exists(Path.Combine(staging, "db", "CURRENT")))
            {
                throw new RestoreException("the backup holds no database");
            }
            var restoreKeys = new RestoreKeys(identities, null);
            var newKeys = request.NewKeys;
            if (newKeys.KeyFile is null && newKeys.Passphrase is null && newKeys.PassphraseFile is null)
            {
                newKeys = CopyWithKeyFile(newKeys, Path.Combine(staging, "kek.key"));
            }
            string kekId;
            string? createdKeyFile = null;
            try
            {
                using var store = new RocksStore(staging, new StorageOptions(), logger, newKeys, restoreKeys);
                var atRest = store.AtRest!;
                if (atRest.SigningKey.KeyId != manifest.SigningKeyId)
                {
                    throw new RestoreException($"the manifest is signed by {manifest.SigningKeyId}, but the backed-up server's key is {atRest.SigningKey.KeyId}. Nothing was restored.");
                }
                kekId = atRest.KekId;
                createdKeyFile = atRest.KeyFilePath;
            }
            catch (KeySourceException ex)
            {
                throw new RestoreException(ex.Message + ". Nothing was restored.", ex);
            }
            if (Directory.Exists(target))
            {
                Directory.Delete(target);
            }
            Directory.Move(staging, target);
            var keyFile = createdKeyFile is not null && createdKeyFile.StartsWith(staging, StringComparison.Ordinal)
                ? Path.Combine(target, Path.GetRelativePath(staging, createdKeyFile))
                : createdKeyFile;
            return new RestoreResult(target, manifest, kekId, keyFile, bytes, started.Elapsed);
        }
        catch
        {
            TryDelete(staging);
            throw;
        }
        finally
        {
            foreach (var id in identities.Except(request.Identities))
            {
                id.Dispose();
            }
        }
    }

    private static KeyOptions CopyWithKeyFile(KeyOptions o, string keyFile) => new()
    {
        KeyFile = keyFile,
        EscrowRecipient = o.EscrowRecipient,
        RecoveryRecipient = o.RecoveryRecipient,
        Argon2MemoryKiB = o.Argon2MemoryKiB,
        Argon2Passes = o.Argon2Passes,
    };

    private static AgeIdentity CombineShares(RestoreRequest request)
    {
        var shares = new List<(string, EscrowShare)>();
        foreach (var (name, text) in request.Shares)
        {
            var shareText = text;
            if (AgeFile.IsArmored(text) || text.StartsWith("age-encryption.org/", StringComparison.Ordinal))
            {
                try
                {
                    shareText = Encoding.ASCII.GetString(AgeFile.Decrypt(Encoding.Latin1.GetBytes(text), request.ShareIdentities));
                }
                catch (AgeException ex)
                {
                    throw new RestoreException($"{name} is encrypted to its holder and does not open with the given holder key(s): {ex.Message}", ex);
                }
            }
            try
            {
                shares.Add((name, EscrowShare.Parse(shareText, name)));
            }
            catch (EscrowShareException ex)
            {
                throw new RestoreException(ex.Message + ". Nothing was restored.", ex);
            }
        }
        try
        {
            return EscrowKey.Combine(shares);
        }
        catch (EscrowShareException ex)
        {
            throw new RestoreException(ex.Message + ". Nothing was restored.", ex);
        }
    }

    private static void Unpack(Stream input, string staging)
    {
        using var tar = new TarReader(input, leaveOpen: true);
        while (tar.GetNextEntry() is { } entry)
        {
            var name = entry.Name;
            if (name == BackupService.InfoEntry)
            {
                continue;
            }
            if (!(name.StartsWith("db/", StringComparison.Ordinal) || name.StartsWith("attachments/", StringComparison.Ordinal))
                || name.Split('/').Any(p => p is "" or "." or "..") || entry.EntryType != TarEntryType.RegularFile)
            {
                throw new RestoreException($"the backup holds an unexpected entry '{name}'");
            }
            var path = Path.GetFullPath(Path.Combine(staging, name));
            if (!path.StartsWith(staging + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new RestoreException($"the backup holds an entry outside the data directory '{name}'");
            }
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            entry.DataStream?.CopyTo(output, 1 << 20);
            // Durable before the directory is moved into place: a crash after a successful restore keeps it.
            output.Flush(flushToDisk: true);
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>What a restore did.</summary>
internal sealed record RestoreResult(string DataDirectory, BackupManifest Manifest, string KekId, string? KeyFile, long Bytes, TimeSpan Elapsed);
