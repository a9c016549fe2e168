using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.ObjectStore;
using NATS.Client.ObjectStore.Models;
using TeamComms.Crypto.Keys;
using TeamComms.Protocol;
using TeamComms.Server.Attachments;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Cluster;

/// <summary>
/// Attachments in cluster mode: the bytes in a replicated JetStream object store, <c>{prefix}_attachments</c> (stream
/// <c>OBJ_{prefix}_attachments</c>; replicas = <see cref="ClusterOptions.Replicas"/>, file storage), one object per
/// attachment named by its id; the records carried to every node through the cluster log.
/// <para>
/// Nothing reaches NATS in plaintext. Each attachment gets its own random data key; the file is sealed with it before
/// upload, in the same chunked format as a single node's files (<see cref="AttachmentFileFormat"/>, magic <c>TCO1</c>,
/// each 64 KiB chunk XChaCha20-Poly1305 bound to the room, the attachment id, its index and whether it is the last).
/// The attachment key travels only inside the attachment's record, sealed with a key every node derives from the
/// cluster log key (HKDF, "teamcomms attachment key wrap v1"), bound to the id and room; the record itself travels
/// inside a sealed log entry. Room data keys are node-local (each node encrypts its own RocksDB), so they cannot seal
/// what every node must open. Deleting an attachment's record (on every node, once its log entries aged out of the
/// log stream) leaves any copy of the object that survives in NATS or its backups unreadable.
/// </para>
/// <para>
/// A download is fetched into a temporary file of sealed bytes (<c>&lt;data&gt;/attachments-transit</c>, deleted on
/// close), checked completely (the object store's digest, then every chunk), and only then streamed out, opening each
/// chunk again: a tampered, truncated, swapped or missing object fails before the first byte with
/// <c>attachment_damaged</c>. Signed download links use a key every node derives from the log key
/// ("teamcomms attachment links v1"), so a link made on one node works on any.
/// </para>
/// </summary>
internal sealed partial class ObjectStoreAttachmentStorage : IAttachmentStorage, IDisposable
{
    private const string WrapPurpose = "teamcomms attachment key wrap v1";
    private const string LinkPurpose = "teamcomms attachment links v1";
    private static readonly byte[] s_magic = "TCO1"u8.ToArray();
    private readonly ClusterEngine _engine;
    private readonly ClusterKeys _keys;
    private readonly ClusterOptions _options;
    private readonly JetStreamRoomLog _log;
    private readonly ILogger _logger;
    private readonly string _transit;
    private readonly SemaphoreSlim _opening = new(1, 1);
    private INatsObjStore? _bucket;
    private byte[]? _linkKey;

    public ObjectStoreAttachmentStorage(ClusterEngine engine, ClusterKeys keys, ClusterOptions options, JetStreamRoomLog log, string dataDirectory,
        ILogger<ObjectStoreAttachmentStorage> logger)
    {
        _engine = engine;
        _keys = keys;
        _options = options;
        _log = log;
        _logger = logger;
        _transit = Path.Combine(dataDirectory, "attachments-transit");
        RemoveLeftovers(_transit);
    }

    /// <summary>Transfers end with their process: what a crash left in the transit directory (sealed bytes only) is removed at start.</summary>
    private static void RemoveLeftovers(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            try
            {
                File.Delete(file);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>The object store bucket: <c>{prefix}_attachments</c>.</summary>
    public string BucketName => _engine.Bucket("attachments");

    public byte[] LinkKey => _linkKey ??= _keys.DeriveKey(_keys.CurrentKeyId, LinkPurpose)
        ?? throw new ApiException(ErrorCode.Unavailable, "this node does not hold the cluster key yet");

    public async Task<StoredAttachment> WriteAsync(byte[] id, long roomKey, Stream body, long maxBytes, CancellationToken ct)
    {
        var hex = Convert.ToHexStringLower(id);
        var keyId = _keys.CurrentKeyId;
        var wrapRaw = _keys.DeriveKey(keyId, WrapPurpose) ?? throw new ApiException(ErrorCode.Unavailable, "this node does not hold the cluster key yet");
        var fileRaw = RandomNumberGenerator.GetBytes(SealingKey.KeySize);
        Directory.CreateDirectory(_transit);
        var path = Path.Combine(_transit, $"{hex}.upload");
        try
        {
            using var fileKey = SealingKey.Import(fileRaw);
            await using var sealedFile = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16,
                FileOptions.Asynchronous | FileOptions.DeleteOnClose);
            var (size, head) = await AttachmentFileFormat.WriteAsync(body, sealedFile, s_magic, 0, SealingKey.Overhead,
                (index, last, plain, destination) =>
                {
                    fileKey.Seal(plain, ChunkAd(roomKey, id, index, last), destination[..(plain.Length + SealingKey.Overhead)]);
                    return plain.Length + SealingKey.Overhead;
                }, maxBytes, ct).ConfigureAwait(false);
            sealedFile.Position = 0;
            var bucket = await BucketAsync(ct).ConfigureAwait(false);
            try
            {
                await bucket.PutAsync(new ObjectMetadata { Name = hex, Description = "TeamComms attachment (sealed)" }, sealedFile, leaveOpen: true, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException)
            {
                throw Unreachable(ex);
            }
            using var wrapKey = SealingKey.Import(wrapRaw);
            return new StoredAttachment(size, head, 0, keyId, wrapKey.Seal(fileRaw, WrapAd(roomKey, id, keyId)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(fileRaw);
            CryptographicOperations.ZeroMemory(wrapRaw);
        }
    }

    public async Task<IAttachmentDownload> OpenAsync(AttachmentRecord record, CancellationToken ct)
    {
        var id = Convert.FromHexString(record.Id);
        if (record.WrappedKey is not { } wrapped || record.KeyId is not { } keyId)
        {
            throw Damaged(record, "its record carries no cluster key (it was not uploaded in cluster mode)");
        }
        var wrapRaw = _keys.DeriveKey(keyId, WrapPurpose) ?? throw Damaged(record, $"it is sealed under cluster key {keyId}, which this node does not hold");
        byte[]? fileRaw;
        using (var wrapKey = SealingKey.Import(wrapRaw))
        {
            fileRaw = wrapKey.Open(wrapped, WrapAd(record.RoomKey, id, keyId));
        }
        CryptographicOperations.ZeroMemory(wrapRaw);
        if (fileRaw is null)
        {
            throw Damaged(record, "its key does not authenticate");
        }
        var fileKey = SealingKey.Import(fileRaw);
        CryptographicOperations.ZeroMemory(fileRaw);
        Directory.CreateDirectory(_transit);
        var sealedFile = new FileStream(Path.Combine(_transit, $"{record.Id}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.download"),
            FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.Asynchronous | FileOptions.DeleteOnClose);
        try
        {
            var bucket = await BucketAsync(ct).ConfigureAwait(false);
            try
            {
                await bucket.GetAsync(record.Id, sealedFile, leaveOpen: true, ct).ConfigureAwait(false);
            }
            catch (NatsObjNotFoundException)
            {
                throw Damaged(record, "it is missing from the cluster's object store");
            }
            catch (NatsObjException ex)
            {
                throw Damaged(record, "the object store says: " + ex.Message);
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException)
            {
                throw Unreachable(ex);
            }
            sealedFile.Position = 0;
            if (await AttachmentFileFormat.ReadHeaderAsync(sealedFile, s_magic, record.Size, ct).ConfigureAwait(false) is null)
            {
                throw Damaged(record, "its header does not match its record");
            }
            var failed = await AttachmentFileFormat.CopyChunksAsync(sealedFile, record.Size, SealingKey.Overhead,
                (index, last, sealedChunk, plain) => fileKey.TryOpen(sealedChunk, ChunkAd(record.RoomKey, id, index, last), plain), null, ct).ConfigureAwait(false);
            if (failed >= 0 || sealedFile.Position != sealedFile.Length)
            {
                throw Damaged(record, failed >= 0 ? $"chunk {failed} does not authenticate" : "it has bytes after its last chunk");
            }
            sealedFile.Position = AttachmentFileFormat.HeaderSize;
            return new Download(record, id, sealedFile, fileKey);
        }
        catch
        {
            fileKey.Dispose();
            await sealedFile.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async Task DeleteAsync(string idHex, CancellationToken ct)
    {
        var bucket = await BucketAsync(ct).ConfigureAwait(false);
        try
        {
            await bucket.DeleteAsync(idHex, ct).ConfigureAwait(false);
            LogObjectDeleted(_logger, idHex);
        }
        catch (NatsObjNotFoundException)
        {
            // already gone
        }
    }

    public async Task<bool> ExistsAsync(string idHex, CancellationToken ct)
    {
        var bucket = await BucketAsync(ct).ConfigureAwait(false);
        try
        {
            var info = await bucket.GetInfoAsync(idHex, showDeleted: false, ct).ConfigureAwait(false);
            return !info.Deleted;
        }
        catch (NatsObjNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Through the log: every node, this one included, writes the rows in log order; completes once applied here.</summary>
    public async Task WriteRecordsAsync(IReadOnlyList<StagedWrite> rows)
    {
        var outcome = await _log.AppendAsync(new SystemProposal(default, "replica:" + _options.NodeId, [], rows)).ConfigureAwait(false);
        if (!outcome.Ok)
        {
            throw new ApiException(outcome.Error!.Value, outcome.Message ?? "the attachment's record could not be replicated");
        }
    }

    private async Task<INatsObjStore> BucketAsync(CancellationToken ct)
    {
        if (_bucket is { } ready)
        {
            return ready;
        }
        await _opening.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_bucket is null)
            {
                var context = new NatsObjContext(_engine.JetStream);
                var config = new NatsObjConfig(BucketName)
                {
                    NumberOfReplicas = _options.Replicas,
                    Storage = NatsObjStorageType.File,
                    Description = "TeamComms attachments, sealed before upload (docs/operations.md, \"Attachments in cluster mode\")",
                };
                try
                {
                    _bucket = await context.CreateObjectStoreAsync(config, ct).ConfigureAwait(false);
                    LogBucketOpened(_logger, BucketName, _options.Replicas);
                }
                catch (NatsJSApiException ex) when (ex.Error.ErrCode == 10058) // exists with other settings: use it as it is
                {
                    _bucket = await context.GetObjectStoreAsync(BucketName, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is NatsException or TimeoutException)
                {
                    throw Unreachable(ex);
                }
            }
            return _bucket;
        }
        finally
        {
            _opening.Release();
        }
    }

    private ApiException Damaged(AttachmentRecord record, string why)
    {
        LogDamaged(_logger, record.Id, why);
        return new(ErrorCode.AttachmentDamaged, $"attachment {record.Id} cannot be served: {why}");
    }

    private static ApiException Unreachable(Exception ex) =>
        new(ErrorCode.Unavailable, "the cluster's object store (NATS) is unreachable; try again shortly (" + ex.Message + ")");

    private static byte[] ChunkAd(long roomKey, ReadOnlySpan<byte> id, long index, bool last)
    {
        var ad = new byte[5 + 8 + id.Length + 8 + 1];
        "tcao1"u8.CopyTo(ad);
        BinaryPrimitives.WriteInt64BigEndian(ad.AsSpan(5), roomKey);
        id.CopyTo(ad.AsSpan(13));
        BinaryPrimitives.WriteInt64BigEndian(ad.AsSpan(13 + id.Length), index);
        ad[^1] = last ? (byte)1 : (byte)0;
        return ad;
    }

    private static byte[] WrapAd(long roomKey, ReadOnlySpan<byte> id, string keyId)
    {
        var kid = Encoding.ASCII.GetBytes(keyId);
        var ad = new byte[5 + 8 + id.Length + kid.Length];
        "tcak1"u8.CopyTo(ad);
        BinaryPrimitives.WriteInt64BigEndian(ad.AsSpan(5), roomKey);
        id.CopyTo(ad.AsSpan(13));
        kid.CopyTo(ad.AsSpan(13 + id.Length));
        return ad;
    }

    public void Dispose() => _opening.Dispose();

    /// <summary>Streams the checked temporary file, opening each chunk again; the file is deleted on close.</summary>
    private sealed class Download(AttachmentRecord record, byte[] id, FileStream sealedFile, SealingKey fileKey) : IAttachmentDownload
    {
        public async Task CopyToAsync(Stream destination, CancellationToken ct)
        {
            var failed = await AttachmentFileFormat.CopyChunksAsync(sealedFile, record.Size, SealingKey.Overhead,
                (index, last, sealedChunk, plain) => fileKey.TryOpen(sealedChunk, ChunkAd(record.RoomKey, id, index, last), plain), destination, ct).ConfigureAwait(false);
            if (failed >= 0)
            {
                // Checked before sending; only a change to the local temporary file in between could get here.
                throw new InvalidDataException($"attachment {record.Id} does not authenticate at chunk {failed}");
            }
        }

        public async ValueTask DisposeAsync()
        {
            fileKey.Dispose();
            await sealedFile.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 9651, Level = LogLevel.Information, Message = "Attachments object store {Bucket} open (replicas {Replicas})")]
    private static partial void LogBucketOpened(ILogger logger, string bucket, int replicas);

    [LoggerMessage(EventId = 9653, Level = LogLevel.Error, Message = "Attachment {Id} cannot be served: {Why} (answered attachment_damaged)")]
    private static partial void LogDamaged(ILogger logger, string id, string why);

    [LoggerMessage(EventId = 9652, Level = LogLevel.Information, Message = "Deleted attachment object {Id} from the object store")]
    private static partial void LogObjectDeleted(ILogger logger, string id);
}
