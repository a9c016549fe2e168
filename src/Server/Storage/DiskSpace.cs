namespace TeamComms.Server.Storage;

/// <summary>
/// Watches free space on the data volume so that appends fail cleanly with <c>storage_full</c> before RocksDB
/// itself runs out of space (a RocksDB write that hits ENOSPC puts the database into a read-only error state).
/// The reading is cached for a short interval: statvfs per batch would cost more than the batch.
/// </summary>
internal sealed class DiskSpace(string path, long minFreeBytes, TimeProvider time)
{
    private static readonly TimeSpan s_refresh = TimeSpan.FromMilliseconds(250);
    private long _free = long.MaxValue;
    private long _checkedAt = long.MinValue;

    public long MinFreeBytes => minFreeBytes;

    /// <summary>Free bytes on the volume, refreshed at most every 250 ms (always when <paramref name="force"/>).</summary>
    public long FreeBytes(bool force = false)
    {
        var now = time.GetTimestamp();
        if (force || _checkedAt == long.MinValue || time.GetElapsedTime(_checkedAt, now) > s_refresh)
        {
            try
            {
                _free = new DriveInfo(path).AvailableFreeSpace;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
            {
                _free = long.MaxValue; // cannot tell: let RocksDB report a real failure
            }
            _checkedAt = now;
        }
        return _free;
    }

    /// <summary>True when there is room for another batch.</summary>
    public bool HasRoom() => minFreeBytes <= 0 || FreeBytes() >= minFreeBytes || FreeBytes(force: true) >= minFreeBytes;
}
