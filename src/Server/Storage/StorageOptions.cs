namespace TeamComms.Server.Storage;

/// <summary>Storage settings, section <c>TeamComms:Storage</c>.</summary>
public sealed class StorageOptions
{
    /// <summary>
    /// Sync the write-ahead log before acknowledging (the default). <c>false</c> trades durability across a power
    /// loss or kernel crash for throughput: a process crash still loses nothing, a machine crash may lose the last
    /// second of acknowledged events.
    /// </summary>
    public bool SyncWrites { get; set; } = true;

    /// <summary>Most events in one group commit. A batch also closes as soon as the queue is empty.</summary>
    public int MaxBatchEvents { get; set; } = 1024;

    /// <summary>Sends fail with <c>storage_full</c> while the data volume has less than this many bytes free.</summary>
    public long MinFreeBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>RocksDB block compression. Off only for the at-rest marker scan test.</summary>
    public bool Compression { get; set; } = true;

    /// <summary>RocksDB block cache size in MiB.</summary>
    public int BlockCacheMiB { get; set; } = 64;

    /// <summary>
    /// Test-only: store events in plaintext (the negative control of the at-rest marker test). Internal, so no
    /// configuration file or environment variable can set it.
    /// </summary>
    internal bool DisableEncryptionForTests { get; set; }
}
