using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using TeamComms.Protocol;
using TeamComms.Server.Backups;
using TeamComms.Server.Retention;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Attachments;

/// <summary>
/// Attachment files in the attachments directory (the one backups include, <see cref="BackupService.AttachmentsDirectory"/>),
/// sealed with the room's data key like its events. A file is <c>"TCA1" ‖ key version (4) ‖ chunk size (4) ‖ length (8)</c>
/// followed by chunks of 64 KiB, each XChaCha20-Poly1305 with its own nonce and bound to the room, key version, file id,
/// chunk index and whether it is the last (<see cref="Storage.Encryption.AtRestEncryption.SealChunk"/>): a file cannot be
/// truncated, reordered or swapped for another without the read failing. Records live in the <c>attachments</c> family.
/// </summary>
internal sealed partial class AttachmentStore(RocksStore rocks, WorkplaceStore store, BackupService backups, ILogger<AttachmentStore> logger)
{
    public const int ChunkSize = 64 * 1024;
    private const int HeaderSize = 20;
    private static readonly byte[] s_magic = "TCA1"u8.ToArray();

    public string Directory => backups.AttachmentsDirectory;

    private string PathOf(string idHex) => Path.Combine(Directory, idHex[..2], idHex);

    /// <summary>
    /// Stores an upload: reads <paramref name="body"/> to its end, sealing chunk by chunk into a temporary file, refusing
    /// (and deleting it) beyond <paramref name="maxBytes"/>. The file is durable and in place when this returns; the caller
    /// then writes the record. Returns the new id, the plaintext length, its first bytes (for type checks) and key version.
    /// </summary>
    public async Task<(byte[] Id, long Size, byte[] Head, int KeyVersion)> WriteAsync(long roomKey, Stream body, long maxBytes, CancellationToken ct)
    {
        var id = RandomNumberGenerator.GetBytes(KeyCodec.AttachmentIdSize);
        var hex = Convert.ToHexStringLower(id);
        var version = rocks.AtRest?.AttachmentKeyVersion(roomKey) ?? 0;
        if (rocks.AtRest is not null && version == 0)
        {
            throw new ApiException(ErrorCode.Unavailable, "the room has no data key yet");
        }
        var tmp = Path.Combine(Directory, "tmp");
        System.IO.Directory.CreateDirectory(tmp);
        var partial = Path.Combine(tmp, hex + ".partial");
        long size = 0;
        var head = Array.Empty<byte>();
        try
        {
            await using (var output = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                var header = new byte[HeaderSize];
                s_magic.CopyTo(header, 0);
                BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), version);
                BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), ChunkSize);
                await output.WriteAsync(header, ct).ConfigureAwait(false);
                var current = new byte[ChunkSize];
                var next = new byte[ChunkSize];
                var currentLength = await FillAsync(body, current, ct).ConfigureAwait(false);
                head = current[..Math.Min(currentLength, 16)];
                var sealedChunk = new byte[ChunkSize + Storage.Encryption.AtRestEncryption.ChunkOverhead];
                for (long index = 0; ; index++)
                {
                    size += currentLength;
                    if (size > maxBytes)
                    {
                        throw new ApiException(ErrorCode.AttachmentTooLarge, $"attachments are limited to {maxBytes} bytes here");
                    }
                    var nextLength = currentLength == ChunkSize ? await FillAsync(body, next, ct).ConfigureAwait(false) : 0;
                    var last = nextLength == 0;
                    var written = SealChunk(roomKey, version, id, index, last, current.AsSpan(0, currentLength), sealedChunk);
                    await output.WriteAsync(sealedChunk.AsMemory(0, written), ct).ConfigureAwait(false);
                    if (last)
                    {
                        break;
                    }
                    (current, next) = (next, current);
                    currentLength = nextLength;
                }
                output.Seek(12, SeekOrigin.Begin);
                var length = new byte[8];
                BinaryPrimitives.WriteInt64BigEndian(length, size);
                await output.WriteAsync(length, ct).ConfigureAwait(false);
                await output.FlushAsync(ct).ConfigureAwait(false);
                output.Flush(flushToDisk: true);
            }
            var final = PathOf(hex);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(final)!);
            File.Move(partial, final);
            return (id, size, head, version);
        }
        catch
        {
            TryDelete(partial);
            throw;
        }
    }

    /// <summary>Writes the plaintext of an attachment to <paramref name="destination"/>, verifying every chunk.</summary>
    public async Task CopyToAsync(AttachmentRecord record, Stream destination, CancellationToken ct)
    {
        var id = Convert.FromHexString(record.Id);
        await using var input = new FileStream(PathOf(record.Id), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        var header = new byte[HeaderSize];
        await input.ReadExactlyAsync(header, ct).ConfigureAwait(false);
        if (!header.AsSpan(0, 4).SequenceEqual(s_magic))
        {
            throw new InvalidDataException($"attachment {record.Id} is not an attachment file");
        }
        var version = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4));
        var chunkSize = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(8));
        var size = BinaryPrimitives.ReadInt64BigEndian(header.AsSpan(12));
        if (chunkSize != ChunkSize || size != record.Size)
        {
            throw new InvalidDataException($"attachment {record.Id} has a damaged header");
        }
        var overhead = rocks.AtRest is null ? 0 : Storage.Encryption.AtRestEncryption.ChunkOverhead;
        var sealedChunk = new byte[ChunkSize + overhead];
        var plain = new byte[ChunkSize];
        var remaining = size;
        for (long index = 0; ; index++)
        {
            var length = (int)Math.Min(ChunkSize, remaining);
            await input.ReadExactlyAsync(sealedChunk.AsMemory(0, length + overhead), ct).ConfigureAwait(false);
            remaining -= length;
            var last = remaining == 0;
            if (!OpenChunk(record.RoomKey, version, id, index, last, sealedChunk.AsSpan(0, length + overhead), plain.AsSpan(0, length)))
            {
                throw new InvalidDataException($"attachment {record.Id} does not authenticate at chunk {index}: the file was modified or damaged");
            }
            await destination.WriteAsync(plain.AsMemory(0, length), ct).ConfigureAwait(false);
            if (last)
            {
                return;
            }
        }
    }

    /// <summary>Deletes attachment files (their messages were removed) and records that they are gone.</summary>
    public void DeleteFiles(IEnumerable<byte[]> ids)
    {
        var writes = new List<StagedWrite>();
        foreach (var id in ids)
        {
            if (store.GetAttachment(id) is not { } record || record.FileDeleted)
            {
                continue;
            }
            TryDelete(PathOf(record.Id));
            writes.Add(WorkplaceStore.PutAttachment(record with { FileDeleted = true }));
        }
        if (writes.Count > 0)
        {
            store.Write(writes);
            LogDeleted(logger, writes.Count);
        }
    }

    /// <summary>
    /// Deletes uploads no message claimed since <paramref name="unclaimedBefore"/>, and files of removed messages that
    /// no hold covers any more (also those left by a crash between a removal and its file deletion).
    /// </summary>
    public Task CollectAsync(long unclaimedBefore, LegalHolds holds)
    {
        var writes = new List<StagedWrite>();
        foreach (var record in store.AllAttachments())
        {
            if (record.Seq == 0 && !record.Removed && record.CreatedAt < unclaimedBefore)
            {
                TryDelete(PathOf(record.Id));
                writes.Add(StagedWrite.Delete(WorkplaceStore.AttachmentsFamily, KeyCodec.Attachment(Convert.FromHexString(record.Id))));
            }
            else if (record.Removed && !record.FileDeleted && !holds.IsHeld(record.RoomId, record.Uploader))
            {
                TryDelete(PathOf(record.Id));
                writes.Add(WorkplaceStore.PutAttachment(record with { FileDeleted = true }));
            }
        }
        if (writes.Count > 0)
        {
            store.Write(writes);
            LogDeleted(logger, writes.Count);
        }
        return Task.CompletedTask;
    }

    /// <summary>True when the attachment's file exists (tests and diagnostics).</summary>
    public bool FileExists(string idHex) => File.Exists(PathOf(idHex));

    private int SealChunk(long roomKey, int version, byte[] id, long index, bool last, ReadOnlySpan<byte> plain, Span<byte> destination)
    {
        if (rocks.AtRest is not { } atRest)
        {
            plain.CopyTo(destination);
            return plain.Length;
        }
        atRest.SealChunk(roomKey, version, id, index, last, plain, destination[..(plain.Length + Storage.Encryption.AtRestEncryption.ChunkOverhead)]);
        return plain.Length + Storage.Encryption.AtRestEncryption.ChunkOverhead;
    }

    private bool OpenChunk(long roomKey, int version, byte[] id, long index, bool last, ReadOnlySpan<byte> sealedChunk, Span<byte> plain)
    {
        if (rocks.AtRest is not { } atRest)
        {
            sealedChunk.CopyTo(plain);
            return true;
        }
        return atRest.TryOpenChunk(roomKey, version, id, index, last, sealedChunk, plain);
    }

    private static async Task<int> FillAsync(Stream body, byte[] buffer, CancellationToken ct)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await body.ReadAsync(buffer.AsMemory(total), ct).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return total;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    [LoggerMessage(EventId = 9121, Level = LogLevel.Information, Message = "Deleted {Count} attachment file(s)")]
    private static partial void LogDeleted(ILogger logger, int count);
}
