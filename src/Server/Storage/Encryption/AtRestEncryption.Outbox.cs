using System.Buffers.Binary;
using TeamComms.Crypto.Keys;

namespace TeamComms.Server.Storage.Encryption;

/// <summary>
/// Sealing for federation outbox entries: a proposal to another server's room waits in <c>fed_outbox</c> until that
/// server takes it, and its content is message content like any event's. An entry is
/// <c>0xE3 ‖ room key (8) ‖ key version (4) ‖ nonce ‖ ciphertext ‖ tag</c>, sealed with the room's data key and bound
/// to <c>room ‖ version ‖ its row key</c>, so it cannot be moved to another destination or position.
/// </summary>
internal sealed partial class AtRestEncryption
{
    public const byte OutboxMarker = 0xE3;

    private const int OutboxHeaderSize = 1 + 8 + 4;

    /// <summary>Seals an outbox entry under the room's current data key, creating the room's first key in <paramref name="batch"/> if needed.</summary>
    public byte[] SealOutboxEntry(long roomKey, ReadOnlySpan<byte> rowKey, ReadOnlySpan<byte> plaintext, StoreBatch batch)
    {
        var (version, key) = WriteKey(roomKey, batch);
        var result = new byte[OutboxHeaderSize + plaintext.Length + SealingKey.Overhead];
        result[0] = OutboxMarker;
        BinaryPrimitives.WriteInt64BigEndian(result.AsSpan(1), roomKey);
        BinaryPrimitives.WriteInt32BigEndian(result.AsSpan(9), version);
        key.Seal(plaintext, RecordAd(roomKey, version, rowKey), result.AsSpan(OutboxHeaderSize));
        return result;
    }

    /// <summary>True when a stored outbox value was sealed by <see cref="SealOutboxEntry"/>.</summary>
    public static bool IsSealedOutboxEntry(ReadOnlySpan<byte> value) =>
        value.Length >= OutboxHeaderSize + SealingKey.Overhead && value[0] == OutboxMarker;

    /// <summary>Opens an outbox entry for the same row key; a value that does not authenticate is tampering or damage.</summary>
    public byte[] OpenOutboxEntry(ReadOnlySpan<byte> rowKey, byte[] value)
    {
        if (!IsSealedOutboxEntry(value))
        {
            throw new InvalidDataException("a federation outbox entry is stored unencrypted in an encrypted data directory");
        }
        var roomKey = BinaryPrimitives.ReadInt64BigEndian(value.AsSpan(1));
        var version = BinaryPrimitives.ReadInt32BigEndian(value.AsSpan(9));
        var plain = new byte[value.Length - OutboxHeaderSize - SealingKey.Overhead];
        if (!GetKey(roomKey, version).TryOpen(value.AsSpan(OutboxHeaderSize), RecordAd(roomKey, version, rowKey), plain))
        {
            throw new InvalidDataException($"a federation outbox entry of room {roomKey} does not authenticate: the data directory was modified or damaged");
        }
        return plain;
    }
}
