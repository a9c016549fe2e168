using System.Buffers.Binary;
using TeamComms.Protocol;

namespace TeamComms.Server.Attachments;

/// <summary>Seals one chunk into <paramref name="destination"/>; returns the bytes written.</summary>
internal delegate int ChunkSealer(long index, bool last, ReadOnlySpan<byte> plaintext, Span<byte> destination);

/// <summary>Opens one sealed chunk into <paramref name="plaintext"/>; false when it does not authenticate.</summary>
internal delegate bool ChunkOpener(long index, bool last, ReadOnlySpan<byte> sealedChunk, Span<byte> plaintext);

/// <summary>
/// The sealed attachment format both storages use: <c>magic (4) ‖ key version (4) ‖ chunk size (4) ‖ length (8)</c>
/// followed by chunks of 64 KiB, each sealed on its own and bound (by the caller's <see cref="ChunkSealer"/>) to the
/// file id, the chunk index and whether it is the last, so a file cannot be truncated, reordered or swapped for
/// another without the read failing.
/// </summary>
internal static class AttachmentFileFormat
{
    public const int ChunkSize = 64 * 1024;
    public const int HeaderSize = 20;

    /// <summary>
    /// Seals <paramref name="body"/> into <paramref name="output"/> (seekable: the length goes into the header at the end).
    /// Throws <c>attachment_too_large</c> beyond <paramref name="maxBytes"/>. Returns the plaintext length and its first bytes.
    /// </summary>
    public static async Task<(long Size, byte[] Head)> WriteAsync(Stream body, Stream output, ReadOnlyMemory<byte> magic, int version,
        int overhead, ChunkSealer seal, long maxBytes, CancellationToken ct)
    {
        var header = new byte[HeaderSize];
        magic.Span.CopyTo(header);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), version);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), ChunkSize);
        await output.WriteAsync(header, ct).ConfigureAwait(false);
        var current = new byte[ChunkSize];
        var next = new byte[ChunkSize];
        var currentLength = await FillAsync(body, current, ct).ConfigureAwait(false);
        var head = current[..Math.Min(currentLength, 16)];
        var sealedChunk = new byte[ChunkSize + overhead];
        long size = 0;
        for (long index = 0; ; index++)
        {
            size += currentLength;
            if (size > maxBytes)
            {
                throw new ApiException(ErrorCode.AttachmentTooLarge, $"attachments are limited to {maxBytes} bytes here");
            }
            var nextLength = currentLength == ChunkSize ? await FillAsync(body, next, ct).ConfigureAwait(false) : 0;
            var last = nextLength == 0;
            var written = seal(index, last, current.AsSpan(0, currentLength), sealedChunk);
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
        return (size, head);
    }

    /// <summary>
    /// Reads and checks the header: the magic, the chunk size and the length the record says. Returns the key version,
    /// or null when the header does not match (the caller says how that is reported).
    /// </summary>
    public static async Task<int?> ReadHeaderAsync(Stream input, ReadOnlyMemory<byte> magic, long expectedSize, CancellationToken ct)
    {
        var header = new byte[HeaderSize];
        try
        {
            await input.ReadExactlyAsync(header, ct).ConfigureAwait(false);
        }
        catch (EndOfStreamException)
        {
            return null;
        }
        if (!header.AsSpan(0, 4).SequenceEqual(magic.Span) || BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(8)) != ChunkSize ||
            BinaryPrimitives.ReadInt64BigEndian(header.AsSpan(12)) != expectedSize)
        {
            return null;
        }
        return BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4));
    }

    /// <summary>
    /// Opens the chunks after the header, writing the plaintext to <paramref name="destination"/> (or only checking them
    /// when it is null). Returns the index of the first chunk that does not authenticate (or is cut short), or -1 when all do.
    /// </summary>
    public static async Task<long> CopyChunksAsync(Stream input, long size, int overhead, ChunkOpener open, Stream? destination, CancellationToken ct)
    {
        var sealedChunk = new byte[ChunkSize + overhead];
        var plain = new byte[ChunkSize];
        var remaining = size;
        for (long index = 0; ; index++)
        {
            var length = (int)Math.Min(ChunkSize, remaining);
            try
            {
                await input.ReadExactlyAsync(sealedChunk.AsMemory(0, length + overhead), ct).ConfigureAwait(false);
            }
            catch (EndOfStreamException)
            {
                return index;
            }
            remaining -= length;
            var last = remaining == 0;
            if (!open(index, last, sealedChunk.AsSpan(0, length + overhead), plain.AsSpan(0, length)))
            {
                return index;
            }
            if (destination is not null)
            {
                await destination.WriteAsync(plain.AsMemory(0, length), ct).ConfigureAwait(false);
            }
            if (last)
            {
                return -1;
            }
        }
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
}
