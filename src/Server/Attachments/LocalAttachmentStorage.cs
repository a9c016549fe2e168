using System.Security.Cryptography;
using TeamComms.Protocol;
using TeamComms.Server.Backups;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Attachments;

/// <summary>
/// One node's attachment storage: files in the attachments directory (the one backups include,
/// <see cref="BackupService.AttachmentsDirectory"/>), sealed with the room's data key like its events
/// (<see cref="AttachmentFileFormat"/>, magic <c>TCA1</c>, chunks sealed by
/// <see cref="Storage.Encryption.AtRestEncryption.SealChunk"/>); records written to this node's store; a signed-link key
/// that lives only in this process's memory.
/// </summary>
internal sealed class LocalAttachmentStorage(RocksStore rocks, WorkplaceStore store, BackupService backups) : IAttachmentStorage
{
    private static readonly byte[] s_magic = "TCA1"u8.ToArray();

    public byte[] LinkKey { get; } = RandomNumberGenerator.GetBytes(32);

    public string Directory => backups.AttachmentsDirectory;

    private string PathOf(string idHex) => Path.Combine(Directory, idHex[..2], idHex);

    private int Overhead => rocks.AtRest is null ? 0 : Storage.Encryption.AtRestEncryption.ChunkOverhead;

    public async Task<StoredAttachment> WriteAsync(byte[] id, long roomKey, Stream body, long maxBytes, CancellationToken ct)
    {
        var hex = Convert.ToHexStringLower(id);
        var version = rocks.AtRest?.AttachmentKeyVersion(roomKey) ?? 0;
        if (rocks.AtRest is not null && version == 0)
        {
            throw new ApiException(ErrorCode.Unavailable, "the room has no data key yet");
        }
        var tmp = Path.Combine(Directory, "tmp");
        System.IO.Directory.CreateDirectory(tmp);
        var partial = Path.Combine(tmp, hex + ".partial");
        try
        {
            (long Size, byte[] Head) written;
            await using (var output = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                written = await AttachmentFileFormat.WriteAsync(body, output, s_magic, version, Overhead,
                    (index, last, plain, destination) => SealChunk(roomKey, version, id, index, last, plain, destination), maxBytes, ct).ConfigureAwait(false);
                output.Flush(flushToDisk: true);
            }
            var final = PathOf(hex);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(final)!);
            File.Move(partial, final);
            return new StoredAttachment(written.Size, written.Head, version);
        }
        catch
        {
            TryDelete(partial);
            throw;
        }
    }

    public async Task<IAttachmentDownload> OpenAsync(AttachmentRecord record, CancellationToken ct)
    {
        FileStream input;
        try
        {
            input = new FileStream(PathOf(record.Id), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        }
        catch (FileNotFoundException)
        {
            throw new ApiException(ErrorCode.AttachmentDamaged, $"the file of attachment {record.Id} is missing from this server's attachments directory");
        }
        catch (DirectoryNotFoundException)
        {
            throw new ApiException(ErrorCode.AttachmentDamaged, $"the file of attachment {record.Id} is missing from this server's attachments directory");
        }
        if (await AttachmentFileFormat.ReadHeaderAsync(input, s_magic, record.Size, ct).ConfigureAwait(false) is not { } version)
        {
            await input.DisposeAsync().ConfigureAwait(false);
            throw new ApiException(ErrorCode.AttachmentDamaged, $"attachment {record.Id} has a damaged header");
        }
        return new Download(this, record, input, version);
    }

    public Task DeleteAsync(string idHex, CancellationToken ct)
    {
        TryDelete(PathOf(idHex));
        return Task.CompletedTask;
    }

    public Task<bool> ExistsAsync(string idHex, CancellationToken ct) => Task.FromResult(File.Exists(PathOf(idHex)));

    public Task WriteRecordsAsync(IReadOnlyList<StagedWrite> rows)
    {
        store.Write(rows);
        return Task.CompletedTask;
    }

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

    /// <summary>Streams the file, opening each chunk as it goes (a chunk that fails to open ends the response).</summary>
    private sealed class Download(LocalAttachmentStorage owner, AttachmentRecord record, FileStream input, int version) : IAttachmentDownload
    {
        public async Task CopyToAsync(Stream destination, CancellationToken ct)
        {
            var id = Convert.FromHexString(record.Id);
            var failed = await AttachmentFileFormat.CopyChunksAsync(input, record.Size, owner.Overhead,
                (index, last, sealedChunk, plain) => owner.OpenChunk(record.RoomKey, version, id, index, last, sealedChunk, plain), destination, ct).ConfigureAwait(false);
            if (failed >= 0)
            {
                throw new InvalidDataException($"attachment {record.Id} does not authenticate at chunk {failed}: the file was modified or damaged");
            }
        }

        public ValueTask DisposeAsync() => input.DisposeAsync();
    }
}
