using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using RocksDbSharp;
using TeamComms.Server.Storage.Encryption;

namespace TeamComms.Server.Storage;

/// <summary>
/// The embedded RocksDB database: opening, column families, the data-directory format version and migrations.
/// It is the only type that owns a <see cref="RocksDb"/>; the typed stores in this folder read and write through it.
/// </summary>
internal sealed partial class RocksStore : IDisposable
{
    /// <summary>
    /// The data-directory format this build writes. Version 1 had no epoch; version 2 stored events in plaintext
    /// (see <see cref="Migrate"/>); version 3 encrypts them at rest; version 4 indexes event ids (workplace features).
    /// </summary>
    public const int CurrentFormatVersion = 4;

    internal static readonly string[] ColumnFamilyNames =
    [
        "meta", "events", "rooms", "room_ids", "room_members", "user_rooms", "users", "user_names",
        "sessions", "session_tokens", "user_sessions", "txns", "read_markers", "cursors", "setup_tokens",
        "room_keys",
        // Company directory and audit log (issue 4); see KeyCodec.Directory.cs for their key layouts.
        "profiles", "directory", "directory_index", "audit", "audit_heads",
        // Federation (RocksStore.Federation.cs): partners, keys and pending sends; outboxes; push cursors; proposal nonces.
        "federation", "fed_outbox", "fed_cursors", "fed_nonces",
        // Workplace features (issue 7, RocksStore.Workplace.cs): event ids, relations, settings, attachments, held content.
        "event_ids", "relations", "workplace", "attachments", "held_events",
        // Two-person approvals and compliance officers' export recipients (issue 5); see KeyCodec.Security.cs.
        "security",
        // Attention features (issue 7: receipts, alerts, quiet hours, push, incidents); see KeyCodec.Attention.cs.
        "attention",
    ];

    private readonly RocksDb _db;
    private readonly WriteOptions _syncWrite;
    private readonly WriteOptions _asyncWrite;
    private readonly ILogger _logger;

    public RocksStore(string dataDirectory, StorageOptions options, ILogger logger, KeyOptions? keys = null, RestoreKeys? restore = null)
    {
        _logger = logger;
        DataDirectory = Path.GetFullPath(dataDirectory);
        DbPath = Path.Combine(DataDirectory, "db");
        Directory.CreateDirectory(DbPath);

        var table = new BlockBasedTableOptions()
            .SetBlockCache(Cache.CreateLru((ulong)options.BlockCacheMiB * 1024 * 1024))
            .SetFilterPolicy(BloomFilterPolicy.Create(10, false))
            .SetFormatVersion(5);
        var compression = options.Compression ? Compression.Lz4 : Compression.No;
        var dbOptions = new DbOptions()
            .SetCreateIfMissing(true)
            .SetCreateMissingColumnFamilies(true)
            .IncreaseParallelism(Math.Max(2, Environment.ProcessorCount))
            .SetKeepLogFileNum(5)
            .SetMaxLogFileSize(16 * 1024 * 1024)
            .SetWalRecoveryMode(Recovery.PointInTime)
            .SetCompression(compression);
        if (!options.DisableEncryptionForTests && restore is null && File.Exists(Path.Combine(DbPath, "CURRENT")))
        {
            // Check the key before the read-write open, which rewrites the manifest and flushes the WAL: a refused
            // start (missing, unsafe or wrong key) leaves the data directory exactly as it was.
            var readOnlyFamilies = new ColumnFamilies { { "meta", new ColumnFamilyOptions() } };
            using var readOnly = RocksDb.OpenReadOnly(new DbOptions(), DbPath, readOnlyFamilies, false);
            var meta = readOnly.GetColumnFamily("meta");
            AtRestEncryption.Preflight(DataDirectory, key => readOnly.Get(System.Text.Encoding.UTF8.GetBytes(key), meta), keys ?? new KeyOptions(), logger);
        }
        var families = new ColumnFamilies(CfOptions(table, compression));
        foreach (var name in ColumnFamilyNames)
        {
            families.Add(name, CfOptions(table, compression));
        }
        _db = RocksDb.Open(dbOptions, DbPath, families);
        foreach (var name in ColumnFamilyNames)
        {
            _handles[name] = _db.GetColumnFamily(name);
        }
        Meta = _handles["meta"];
        Events = _handles["events"];
        Rooms = _handles["rooms"];
        RoomIds = _handles["room_ids"];
        RoomMembers = _handles["room_members"];
        UserRooms = _handles["user_rooms"];
        Users = _handles["users"];
        UserNames = _handles["user_names"];
        Sessions = _handles["sessions"];
        SessionTokens = _handles["session_tokens"];
        UserSessions = _handles["user_sessions"];
        Txns = _handles["txns"];
        ReadMarkers = _handles["read_markers"];
        Cursors = _handles["cursors"];
        SetupTokens = _handles["setup_tokens"];
        RoomKeys = _handles["room_keys"];

        _syncWrite = new WriteOptions().SetSync(options.SyncWrites);
        _asyncWrite = new WriteOptions().SetSync(false);
        try
        {
            (FormatVersion, Epoch, IsNew) = CheckFormat(options, keys ?? new KeyOptions(), restore);
        }
        catch
        {
            // A refused start (wrong key, unsafe key file, newer format) must release the database and its lock.
            AtRest?.Dispose();
            _db.Dispose();
            throw;
        }
    }

    /// <summary>Encryption at rest; null only in the test-only plaintext configuration.</summary>
    public AtRestEncryption? AtRest { get; private set; }

    private readonly Dictionary<string, ColumnFamilyHandle> _handles = [];

    public string DataDirectory { get; }
    public string DbPath { get; }
    public int FormatVersion { get; }
    /// <summary>Random id of this data directory's lineage; resume tokens carry it.</summary>
    public ulong Epoch { get; }
    /// <summary>True when this start created the data directory.</summary>
    public bool IsNew { get; }

    public ColumnFamilyHandle Meta { get; }
    public ColumnFamilyHandle Events { get; }
    public ColumnFamilyHandle Rooms { get; }
    public ColumnFamilyHandle RoomIds { get; }
    public ColumnFamilyHandle RoomMembers { get; }
    public ColumnFamilyHandle UserRooms { get; }
    public ColumnFamilyHandle Users { get; }
    public ColumnFamilyHandle UserNames { get; }
    public ColumnFamilyHandle Sessions { get; }
    public ColumnFamilyHandle SessionTokens { get; }
    public ColumnFamilyHandle UserSessions { get; }
    public ColumnFamilyHandle Txns { get; }
    public ColumnFamilyHandle ReadMarkers { get; }
    public ColumnFamilyHandle Cursors { get; }
    public ColumnFamilyHandle SetupTokens { get; }
    public ColumnFamilyHandle RoomKeys { get; }

    internal RocksDb Db => _db;

    /// <summary>A column family by name (one of <see cref="ColumnFamilyNames"/>).</summary>
    public ColumnFamilyHandle Family(string name) =>
        _handles.TryGetValue(name, out var handle) ? handle : throw new ArgumentException($"no column family '{name}'", nameof(name));

    /// <summary>Commits a batch atomically. <paramref name="durable"/> syncs the WAL when the server is configured to.</summary>
    public void Write(WriteBatch batch, bool durable = true) => _db.Write(batch, durable ? _syncWrite : _asyncWrite);

    public byte[]? Get(ReadOnlySpan<byte> key, ColumnFamilyHandle cf) => _db.Get(key, cf);

    public bool HasKey(ReadOnlySpan<byte> key, ColumnFamilyHandle cf) => _db.HasKey(key, cf);

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ColumnFamilyHandle cf, bool durable = true) =>
        _db.Put(key, value, cf, durable ? _syncWrite : _asyncWrite);

    public void Delete(ReadOnlySpan<byte> key, ColumnFamilyHandle cf, bool durable = true) =>
        _db.Remove(key, cf, durable ? _syncWrite : _asyncWrite);

    /// <summary>An iterator bounded to keys starting with <paramref name="prefix"/>.</summary>
    public Iterator PrefixIterator(ColumnFamilyHandle cf, ReadOnlySpan<byte> prefix)
    {
        var readOptions = new ReadOptions()
            .SetIterateLowerBound(prefix.ToArray())
            .SetIterateUpperBound(KeyCodec.PrefixUpperBound(prefix));
        return _db.NewIterator(cf, readOptions);
    }

    /// <summary>Every (key, value) whose key starts with <paramref name="prefix"/>, in key order.</summary>
    public IEnumerable<(byte[] Key, byte[] Value)> ScanPrefix(ColumnFamilyHandle cf, byte[] prefix)
    {
        using var it = PrefixIterator(cf, prefix);
        for (it.SeekToFirst(); it.Valid(); it.Next())
        {
            yield return (it.Key(), it.Value());
        }
    }

    /// <summary>Flushes memtables to SST files (tests and backups).</summary>
    public void Flush()
    {
        var fo = new FlushOptions().SetWaitForFlush(true);
        _db.Flush(fo);
        foreach (var name in ColumnFamilyNames)
        {
            Native.Instance.rocksdb_flush_cf(_db.Handle, fo.Handle, _handles[name].Handle);
        }
    }

    /// <summary>Creates a consistent on-disk checkpoint (hard links where possible) in <paramref name="directory"/>.</summary>
    public void Checkpoint(string directory)
    {
        using var cp = _db.Checkpoint();
        cp.Save(directory, 0);
    }

    public string? GetProperty(string name) => _db.GetProperty(name);

    private static ColumnFamilyOptions CfOptions(BlockBasedTableOptions table, Compression compression) =>
        new ColumnFamilyOptions()
            .SetBlockBasedTableFactory(table)
            .SetCompression(compression);

    private (int Version, ulong Epoch, bool IsNew) CheckFormat(StorageOptions options, KeyOptions keys, RestoreKeys? restore)
    {
        var versionBytes = _db.Get("format_version"u8, Meta);
        if (versionBytes is null)
        {
            using var it = _db.NewIterator(Events);
            it.SeekToFirst();
            if (it.Valid() || _db.Get("server_name"u8, Meta) is not null)
            {
                throw new StorageFormatException($"The data directory {DataDirectory} has data but no format version; it was not written by TeamComms.");
            }
            OpenKeys(options, keys, restore);
            var epoch = NewEpoch();
            using var batch = new WriteBatch();
            batch.Put("format_version"u8, KeyCodec.Long(CurrentFormatVersion), Meta);
            batch.Put("epoch"u8, KeyCodec.Long((long)epoch), Meta);
            _db.Write(batch, _syncWrite);
            return (CurrentFormatVersion, epoch, true);
        }
        var version = (int)KeyCodec.ReadLong(versionBytes);
        if (version > CurrentFormatVersion)
        {
            throw new StorageFormatException(
                $"The data directory {DataDirectory} has format version {version}, newer than this server's {CurrentFormatVersion}. " +
                "Run the TeamComms version that wrote it, or a newer one; downgrades are not supported.");
        }
        // Keys first: a wrong or missing key stops the start before any migration writes, and the encryption
        // migration needs them.
        OpenKeys(options, keys, restore);
        if (version < CurrentFormatVersion)
        {
            Migrate(version);
        }
        var epochBytes = _db.Get("epoch"u8, Meta) ?? throw new StorageFormatException("The data directory has no epoch.");
        return (CurrentFormatVersion, (ulong)KeyCodec.ReadLong(epochBytes), false);
    }

    /// <summary>
    /// Upgrades the data directory one version at a time, each step in one atomic batch, so a crash mid-way leaves
    /// a directory at a well-defined version that the next start continues from.
    /// </summary>
    private void Migrate(int from)
    {
        for (var v = from; v < CurrentFormatVersion; v++)
        {
            using var batch = new WriteBatch();
            switch (v)
            {
                case 1:
                    // Format 1 had no data-directory epoch, so resume tokens could not tell two lineages apart.
                    batch.Put("epoch"u8, KeyCodec.Long((long)NewEpoch()), Meta);
                    break;
                case 2:
                    // Format 2 stored events in plaintext: seal each with its room's data key (in batches; a crash
                    // part-way leaves version 2 and the next start continues, skipping what is already sealed).
                    EncryptPlaintextEvents();
                    break;
                case 3:
                    // Format 3 had no event-id index; relations (threads, reactions, edits, ...) refer to events by id.
                    IndexEventIds();
                    break;
                default:
                    throw new StorageFormatException($"No migration from format version {v}.");
            }
            batch.Put("format_version"u8, KeyCodec.Long(v + 1), Meta);
            _db.Write(batch, _syncWrite);
            LogMigrated(_logger, v, v + 1);
        }
    }

    private void OpenKeys(StorageOptions options, KeyOptions keys, RestoreKeys? restore)
    {
        if (!options.DisableEncryptionForTests)
        {
            AtRest = AtRestEncryption.Open(this, keys, _logger, restore);
        }
    }

    private void EncryptPlaintextEvents()
    {
        if (AtRest is null)
        {
            return; // the test-only plaintext configuration
        }
        var count = 0L;
        using var batch = new StoreBatch(this);
        using (var it = _db.NewIterator(Events))
        {
            for (it.SeekToFirst(); it.Valid(); it.Next())
            {
                var value = it.Value();
                if (value.Length > 0 && value[0] == AtRestEncryption.EncryptedMarker)
                {
                    continue;
                }
                var (room, seq) = KeyCodec.ParseRoomSeq(it.GetKeySpan());
                batch.PutEvent(room, seq, value);
                if (++count % 4096 == 0)
                {
                    batch.Commit();
                    batch.Clear();
                }
            }
        }
        batch.Commit();
        // Drop the plaintext versions from the SST files and the WAL.
        Flush();
        CompactAll();
        LogEncrypted(_logger, count);
    }

    /// <summary>Compacts every column family, so overwritten values (plaintext, old key wraps) leave the SST files.</summary>
    public void CompactAll()
    {
        foreach (var name in ColumnFamilyNames)
        {
            _db.CompactRange(Array.Empty<byte>(), null, _handles[name]);
        }
    }

    /// <summary>Flushes and compacts the key-holding column families after a rotation.</summary>
    public void CompactKeys()
    {
        Flush();
        _db.CompactRange(Array.Empty<byte>(), null, RoomKeys);
        _db.CompactRange(Array.Empty<byte>(), null, Meta);
    }

    private static ulong NewEpoch()
    {
        Span<byte> b = stackalloc byte[8];
        RandomNumberGenerator.Fill(b);
        // Keep it positive as a signed long so it round-trips through the meta codec unchanged.
        return BitConverter.ToUInt64(b) & 0x7FFF_FFFF_FFFF_FFFF;
    }

    public void Dispose()
    {
        AtRest?.Dispose();
        _db.Dispose();
    }

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Encrypted {Count} plaintext events at rest")]
    private static partial void LogEncrypted(ILogger logger, long count);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Migrated the data directory from format {From} to {To}")]
    private static partial void LogMigrated(ILogger logger, int from, int to);
}

/// <summary>The data directory cannot be used by this server version.</summary>
public sealed class StorageFormatException(string message) : Exception(message);
