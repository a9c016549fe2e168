using System.Buffers.Binary;
using TeamComms.Crypto.Keys;

namespace TeamComms.Server.Storage.Encryption;

/// <summary>
/// Sealing for the workplace features' room data beside the log: small records (poll votes and tallies, report
/// reasons) and attachment files, both with the room's data key like its events. A record is
/// <c>0xE2 ‖ key version (4) ‖ nonce ‖ ciphertext ‖ tag</c> bound to <c>room ‖ version ‖ its row key</c>; a file chunk is
/// bound to <c>room ‖ version ‖ file id ‖ chunk index ‖ last</c>, so chunks cannot be reordered, dropped at the end or
/// moved to another file.
/// </summary>
internal sealed partial class AtRestEncryption
{
    public const byte RecordMarker = 0xE2;

    /// <summary>Bytes sealing adds to one attachment chunk.</summary>
    public const int ChunkOverhead = SealingKey.Overhead;

    /// <summary>Seals a room-scoped record under the room's current data key.</summary>
    public byte[] SealRoomRecord(long roomKey, ReadOnlySpan<byte> rowKey, ReadOnlySpan<byte> plaintext)
    {
        var version = CurrentVersion(roomKey);
        if (version == 0)
        {
            throw new InvalidOperationException($"room {roomKey} has no data key yet");
        }
        return SealRecord(roomKey, version, GetKey(roomKey, version), rowKey, plaintext);
    }

    /// <summary>
    /// Like <see cref="SealRoomRecord(long, ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>, on the sequencer thread for a row
    /// of <paramref name="batch"/>: the room's data key may have been created in that same batch (its first event).
    /// </summary>
    public byte[] SealRoomRecord(long roomKey, ReadOnlySpan<byte> rowKey, ReadOnlySpan<byte> plaintext, StoreBatch batch)
    {
        var (version, key) = WriteKey(roomKey, batch);
        return SealRecord(roomKey, version, key, rowKey, plaintext);
    }

    private static byte[] SealRecord(long roomKey, int version, SealingKey key, ReadOnlySpan<byte> rowKey, ReadOnlySpan<byte> plaintext)
    {
        var result = new byte[plaintext.Length + HeaderSize + SealingKey.Overhead];
        result[0] = RecordMarker;
        BinaryPrimitives.WriteInt32BigEndian(result.AsSpan(1), version);
        key.Seal(plaintext, RecordAd(roomKey, version, rowKey), result.AsSpan(HeaderSize));
        return result;
    }

    /// <summary>Opens a record sealed by <see cref="SealRoomRecord"/> for the same room and row key.</summary>
    public byte[] OpenRoomRecord(long roomKey, ReadOnlySpan<byte> rowKey, byte[] value)
    {
        if (value.Length < HeaderSize + SealingKey.Overhead || value[0] != RecordMarker)
        {
            throw new InvalidDataException($"a record of room {roomKey} is stored unencrypted in an encrypted data directory");
        }
        var version = BinaryPrimitives.ReadInt32BigEndian(value.AsSpan(1));
        var plain = new byte[value.Length - HeaderSize - SealingKey.Overhead];
        if (!GetKey(roomKey, version).TryOpen(value.AsSpan(HeaderSize), RecordAd(roomKey, version, rowKey), plain))
        {
            throw new InvalidDataException($"a record of room {roomKey} does not authenticate: the data directory was modified or damaged");
        }
        return plain;
    }

    /// <summary>The data-key version new attachment files of a room are sealed with (0 when the room has no key yet).</summary>
    public int AttachmentKeyVersion(long roomKey) => CurrentVersion(roomKey);

    /// <summary>Seals one chunk of an attachment file into <paramref name="destination"/> (plaintext length + <see cref="ChunkOverhead"/>).</summary>
    public void SealChunk(long roomKey, int version, ReadOnlySpan<byte> fileId, long index, bool last, ReadOnlySpan<byte> plaintext, Span<byte> destination) =>
        GetKey(roomKey, version).Seal(plaintext, ChunkAd(roomKey, version, fileId, index, last), destination);

    /// <summary>Opens one chunk; false when it does not authenticate (tampered, reordered, truncated or another file's).</summary>
    public bool TryOpenChunk(long roomKey, int version, ReadOnlySpan<byte> fileId, long index, bool last, ReadOnlySpan<byte> sealedChunk, Span<byte> plaintext) =>
        GetKey(roomKey, version).TryOpen(sealedChunk, ChunkAd(roomKey, version, fileId, index, last), plaintext);

    private static byte[] RecordAd(long roomKey, int version, ReadOnlySpan<byte> rowKey)
    {
        var ad = new byte[5 + 8 + 4 + rowKey.Length];
        "tcrr1"u8.CopyTo(ad);
        BinaryPrimitives.WriteInt64BigEndian(ad.AsSpan(5), roomKey);
        BinaryPrimitives.WriteInt32BigEndian(ad.AsSpan(13), version);
        rowKey.CopyTo(ad.AsSpan(17));
        return ad;
    }

    private static byte[] ChunkAd(long roomKey, int version, ReadOnlySpan<byte> fileId, long index, bool last)
    {
        var ad = new byte[5 + 8 + 4 + fileId.Length + 8 + 1];
        "tcat1"u8.CopyTo(ad);
        BinaryPrimitives.WriteInt64BigEndian(ad.AsSpan(5), roomKey);
        BinaryPrimitives.WriteInt32BigEndian(ad.AsSpan(13), version);
        fileId.CopyTo(ad.AsSpan(17));
        BinaryPrimitives.WriteInt64BigEndian(ad.AsSpan(17 + fileId.Length), index);
        ad[^1] = last ? (byte)1 : (byte)0;
        return ad;
    }
}
