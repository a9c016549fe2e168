using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using RocksDbSharp;
using TeamComms.Crypto;
using TeamComms.Crypto.Age;
using TeamComms.Crypto.Keys;

namespace TeamComms.Server.Storage.Encryption;

/// <summary>
/// Encryption at rest for the data directory. Every stored event is sealed with its room's data key
/// (XChaCha20-Poly1305, associated data binding it to <c>room ‖ seq ‖ key version</c>). Each room data key is stored
/// in <c>room_keys</c> wrapped by the server's KEK and, as a small age file, to the company recipients (escrow key,
/// optional recovery key). The KEK never touches the database; only its id and a check value do.
/// <para>
/// Stored event value: <c>0xE1 ‖ key version (4, BE) ‖ nonce (24) ‖ ciphertext ‖ tag (16)</c>; the plaintext is the
/// record described in <see cref="StoredEvent"/>. Live fan-out keeps using the in-memory plaintext frame; only
/// reads from disk (history, replay, heads) decrypt.
/// </para>
/// </summary>
internal sealed partial class AtRestEncryption : IDisposable
{
    public const byte EncryptedMarker = 0xE1;
    private const int HeaderSize = 5;
    /// <summary>Bytes encryption adds to a stored event.</summary>
    public const int Overhead = HeaderSize + SealingKey.Overhead;
    /// <summary>Records rewrapped per atomic batch during rotations (small, so a crash test can stop between batches).</summary>
    internal const int RewrapBatchSize = 16;
    private static readonly byte[] s_kekCheckPlain = "teamcomms kek check v1"u8.ToArray();

    private readonly RocksStore _store;
    private readonly KeyOptions _options;
    private readonly ILogger _logger;
    private readonly ColumnFamilyHandle _roomKeys;
    private readonly object _kekLock = new();
    private readonly ConcurrentDictionary<long, int> _current = new();
    private readonly ConcurrentDictionary<(long Room, int Version), SealingKey> _cache = new();
    private KeyEncryptionKey _kek;
    private KeyEncryptionKey? _nextKek;
    private KekRotationRecord? _rotation;
    private KekSourceRecord _source;
    private readonly string? _keyFilePath;
    // Replaced whole (never mutated) when an approved change of the company recipients takes effect.
    private volatile AgeRecipient[] _company;
    private SigningKey _signingKey = null!;

    private AtRestEncryption(RocksStore store, KeyOptions options, ILogger logger, KeyEncryptionKey kek, KekSourceRecord source,
        string? keyFilePath, AgeRecipient[] company)
    {
        _store = store;
        _options = options;
        _logger = logger;
        _roomKeys = store.RoomKeys;
        _kek = kek;
        _source = source;
        _keyFilePath = keyFilePath;
        _company = company;
    }

    /// <summary>The id of the KEK that wraps every data key now.</summary>
    public string KekId => _kek.Id;

    /// <summary><c>file</c> or <c>passphrase</c>.</summary>
    public string KekSource => _source.Kind;

    /// <summary>The key file in use, when the KEK comes from one.</summary>
    public string? KeyFilePath => _keyFilePath;

    /// <summary>True while a KEK rotation is under way.</summary>
    public bool KekRotationPending => _rotation is not null;

    /// <summary>
    /// The approved company recipients (escrow, optional recovery) that data keys are wrapped to and backups
    /// encrypted to. A recipient changed in the configuration is not among them until a security officer approves it.
    /// </summary>
    public IReadOnlyList<AgeRecipient> CompanyRecipients => _company;

    /// <summary>The server's Ed25519 key (signs backup manifests), stored wrapped like a data key.</summary>
    public SigningKey SigningKey => _signingKey;

    /// <summary>Security-relevant things the start did (key created, rotation finished, recipients changed), for the audit log.</summary>
    public List<string> StartupEvents { get; } = [];

    /// <summary>Number of rooms that have a data key.</summary>
    public int RoomCount => _current.Count;

    // ---- events ------------------------------------------------------------------------------------------------

    /// <summary>Seals a stored event value with the room's current data key, creating the room's first key in <paramref name="batch"/> if needed.</summary>
    public byte[] SealEvent(long roomKey, long seq, ReadOnlySpan<byte> plaintext, StoreBatch batch)
    {
        var (version, key) = WriteKey(roomKey, batch);
        var result = new byte[plaintext.Length + Overhead];
        result[0] = EncryptedMarker;
        BinaryPrimitives.WriteInt32BigEndian(result.AsSpan(1), version);
        Span<byte> ad = stackalloc byte[25];
        EventAd(ad, roomKey, seq, version);
        key.Seal(plaintext, ad, result.AsSpan(HeaderSize));
        return result;
    }

    /// <summary>Opens a stored event value. A value that is not encrypted, or does not authenticate, is corruption or tampering.</summary>
    public byte[] OpenEvent(long roomKey, long seq, byte[] value)
    {
        if (value.Length < Overhead || value[0] != EncryptedMarker)
        {
            throw new InvalidDataException($"event {roomKey}/{seq} is stored unencrypted in an encrypted data directory");
        }
        var version = BinaryPrimitives.ReadInt32BigEndian(value.AsSpan(1));
        var key = GetKey(roomKey, version);
        var plain = new byte[value.Length - Overhead];
        Span<byte> ad = stackalloc byte[25];
        EventAd(ad, roomKey, seq, version);
        if (!key.TryOpen(value.AsSpan(HeaderSize), ad, plain))
        {
            throw new InvalidDataException($"event {roomKey}/{seq} does not authenticate: the data directory was modified or damaged");
        }
        return plain;
    }

    /// <summary>The data-key version an encrypted stored value was sealed with (tests and diagnostics).</summary>
    public static int KeyVersionOf(ReadOnlySpan<byte> value) =>
        value.Length >= Overhead && value[0] == EncryptedMarker ? BinaryPrimitives.ReadInt32BigEndian(value[1..]) : 0;

    private static void EventAd(Span<byte> ad, long roomKey, long seq, int version)
    {
        "tcev1"u8.CopyTo(ad);
        BinaryPrimitives.WriteInt64BigEndian(ad[5..], roomKey);
        BinaryPrimitives.WriteInt64BigEndian(ad[13..], seq);
        BinaryPrimitives.WriteInt32BigEndian(ad[21..], version);
    }

    // ---- room data keys ----------------------------------------------------------------------------------------

    private (int Version, SealingKey Key) WriteKey(long roomKey, StoreBatch batch)
    {
        if (batch.PendingKeys.TryGetValue(roomKey, out var pending))
        {
            return pending;
        }
        if (_current.TryGetValue(roomKey, out var version))
        {
            return (version, GetKey(roomKey, version));
        }
        // A room's first event: its first data key is written in the same atomic batch as the event.
        var key = CreateDataKey(roomKey, 1, out var record);
        batch.PutRaw(KeyCodec.RoomKeyVersion(roomKey, 1), record, _roomKeys);
        batch.PendingKeys[roomKey] = (1, key);
        return (1, key);
    }

    /// <summary>Called after a batch commits: its new room keys become current.</summary>
    public void OnCommitted(Dictionary<long, (int Version, SealingKey Key)> pending)
    {
        foreach (var (room, (version, key)) in pending)
        {
            Cache(room, version, key);
            _current.AddOrUpdate(room, version, (_, v) => Math.Max(v, version));
        }
    }

    /// <summary>The current data-key version of a room, 0 for a room without events.</summary>
    public int CurrentVersion(long roomKey) => _current.TryGetValue(roomKey, out var v) ? v : 0;

    /// <summary>
    /// Starts a new data key for a room: new events use it, old events keep theirs. Call between two group commits
    /// (at a room-log barrier). The new key record is one durable put, so a crash leaves either version current.
    /// </summary>
    public int RotateRoomKey(long roomKey)
    {
        var version = CurrentVersion(roomKey) + 1;
        var key = CreateDataKey(roomKey, version, out var record);
        _store.Put(KeyCodec.RoomKeyVersion(roomKey, version), record, _roomKeys);
        FaultInjection.Hit("room-key-rotation");
        Cache(roomKey, version, key);
        _current[roomKey] = version;
        return version;
    }

    private SealingKey CreateDataKey(long roomKey, int version, out byte[] record)
    {
        var key = SealingKey.Generate(out var raw);
        try
        {
            record = EncryptionJson.Encode(WrapSecret(raw, DataKeyAd(roomKey, version), Now()));
            return key;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(raw);
        }
    }

    private SealingKey GetKey(long roomKey, int version)
    {
        if (_cache.TryGetValue((roomKey, version), out var key))
        {
            return key;
        }
        var bytes = _store.Get(KeyCodec.RoomKeyVersion(roomKey, version), _roomKeys)
            ?? throw new InvalidDataException($"room {roomKey} has no data key version {version}");
        var raw = UnwrapWithKek(EncryptionJson.Decode<WrappedSecretRecord>(bytes), DataKeyAd(roomKey, version), $"data key {roomKey}/{version}");
        try
        {
            key = SealingKey.Import(raw);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(raw);
        }
        return Cache(roomKey, version, key);
    }

    private SealingKey Cache(long roomKey, int version, SealingKey key)
    {
        if (_cache.Count >= _options.DataKeyCacheSize)
        {
            // Evict about a quarter. Evicted keys are not disposed: a reader may still hold one; the finalizer frees it.
            foreach (var k in _cache.Keys.Take(_options.DataKeyCacheSize / 4))
            {
                _cache.TryRemove(k, out _);
            }
        }
        return _cache.GetOrAdd((roomKey, version), key);
    }

    internal static byte[] DataKeyAd(long roomKey, int version)
    {
        var ad = new byte[17];
        "tcdk1"u8.CopyTo(ad);
        BinaryPrimitives.WriteInt64BigEndian(ad.AsSpan(5), roomKey);
        BinaryPrimitives.WriteInt32BigEndian(ad.AsSpan(13), version);
        return ad;
    }

    internal static readonly byte[] SigningKeyAd = "tcsk1"u8.ToArray();

    // ---- wrapping ----------------------------------------------------------------------------------------------

    private WrappedSecretRecord WrapSecret(ReadOnlySpan<byte> secret, byte[] ad, long createdAt, byte[]? publicKey = null)
    {
        KeyEncryptionKey kek;
        lock (_kekLock)
        {
            kek = _nextKek ?? _kek;
        }
        var company = _company;
        return new WrappedSecretRecord
        {
            KekId = kek.Id,
            KekWrapped = kek.Wrap(secret, ad),
            EscrowIds = EscrowIds(company),
            EscrowWrapped = EscrowWrap(secret, ad, company),
            CreatedAt = createdAt,
            PublicKey = publicKey,
        };
    }

    /// <summary>The escrow copy: an age file to the company recipients holding <c>ad ‖ secret</c>, so a recovered secret proves where it belongs.</summary>
    private static byte[]? EscrowWrap(ReadOnlySpan<byte> secret, byte[] ad, AgeRecipient[] company)
    {
        if (company.Length == 0)
        {
            return null;
        }
        var payload = new byte[ad.Length + secret.Length];
        ad.CopyTo(payload, 0);
        secret.CopyTo(payload.AsSpan(ad.Length));
        try
        {
            return AgeFile.Encrypt(payload, company);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(payload);
        }
    }

    /// <summary>Opens an escrow copy with a recovered escrow (or recovery) identity; checks it belongs at <paramref name="ad"/>.</summary>
    internal static byte[] EscrowUnwrap(WrappedSecretRecord record, byte[] ad, IReadOnlyList<AgeIdentity> identities, string what)
    {
        if (record.EscrowWrapped is null)
        {
            throw new KeySourceException($"{what} has no escrow copy (no escrow recipient was configured when it was made)");
        }
        byte[] payload;
        try
        {
            payload = AgeFile.Decrypt(record.EscrowWrapped, identities);
        }
        catch (AgeException ex) when (ex.Error == AgeError.NoMatchingIdentity)
        {
            throw new KeySourceException($"{what} is wrapped to escrow key(s) {string.Join(", ", record.EscrowIds)}, not to the key(s) given ({string.Join(", ", identities.Select(i => i.Recipient.KeyId))})");
        }
        if (payload.Length < ad.Length || !payload.AsSpan(0, ad.Length).SequenceEqual(ad))
        {
            throw new InvalidDataException($"{what}: the escrow copy belongs to another key slot");
        }
        return payload[ad.Length..];
    }

    private byte[] UnwrapWithKek(WrappedSecretRecord record, byte[] ad, string what)
    {
        KeyEncryptionKey? kek;
        lock (_kekLock)
        {
            kek = record.KekId == _kek.Id ? _kek : record.KekId == _nextKek?.Id ? _nextKek : null;
        }
        if (kek is null)
        {
            throw new InvalidDataException($"{what} is wrapped by {record.KekId}, which is not this server's KEK ({_kek.Id})");
        }
        return kek.Unwrap(record.KekWrapped, ad) ?? throw new InvalidDataException($"{what} does not unwrap: the key store was modified or damaged");
    }

    internal static IReadOnlyList<string> EscrowIds(IEnumerable<AgeRecipient> company) => [.. company.Select(r => r.KeyId).Order(StringComparer.Ordinal)];

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public void Dispose()
    {
        _signingKey?.Dispose();
        foreach (var key in _cache.Values)
        {
            key.Dispose();
        }
        _cache.Clear();
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "{Message}")]
    private static partial void LogWarning(ILogger logger, string message);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "KEK rotated from {OldId} to {NewId}")]
    private static partial void LogKekRotated(ILogger logger, string oldId, string newId);
}
