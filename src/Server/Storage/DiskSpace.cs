using System.Diagnostics;

namespace TeamComms.Server.Storage;

/// <summary>
/// Watches free space on the data volume so that appends fail cleanly with <c>storage_full</c> before RocksDB
/// itself runs out of space (a RocksDB write that hits ENOSPC puts the database into a read-only error state).
/// A reading (one statvfs, about 1.4 µs here) is reused for at most 1 ms, so a busy log checks at most a thousand
/// times a second whatever its batch rate. This is a cache throttle on the real monotonic clock, not product timing.
/// </summary>
internal sealed class DiskSpace(string path, long minFreeBytes)
{
    private static readonly long s_refreshTicks = Stopwatch.Frequency / 1000;
    private long _free = long.MaxValue;
    private long _checkedAt = long.MinValue;

    public long MinFreeBytes => minFreeBytes;

    /// <summary>Free bytes on the volume.</summary>
    public long FreeBytes()
    {
        var now = Stopwatch.GetTimestamp();
        if (_checkedAt == long.MinValue || now - _checkedAt >= s_refreshTicks)
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
    public bool HasRoom() => minFreeBytes <= 0 || FreeBytes() >= minFreeBytes;
}
