using TeamComms.Server.Backups;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Connections;
using TeamComms.Server.Hosting;
using TeamComms.Server.Storage;

namespace TeamComms.Server.AdminConsole;

/// <summary>
/// The admin console's view of the server (<c>GET /v1/admin/figures</c>): connections, rooms, users, message rate,
/// outbound queues and evictions, storage size, uptime, and the status of backups and escrow. It reports key ids and
/// counts, never a secret, a key or a path to one. /metrics stays the source for monitoring systems; this is the
/// same counters read once for a person.
/// </summary>
internal sealed class ServerFigures
{
    /// <summary>The message rate is averaged over this window: short enough to show a burst, long enough not to flicker.</summary>
    private static readonly TimeSpan s_rateWindow = TimeSpan.FromMinutes(1);

    private readonly ServerMetrics _metrics;
    private readonly ConnectionRegistry _connections;
    private readonly RoomStore _rooms;
    private readonly DirectoryService _directory;
    private readonly RocksStore _store;
    private readonly BackupService _backups;
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _startedAt;
    // At most this many samples: console polling every few seconds fits many times over; a flood cannot grow it.
    private const int MaxSamples = 256;
    private readonly Lock _samplesLock = new();
    private readonly Queue<(long At, long Count)> _samples = new();

    public ServerFigures(ServerMetrics metrics, ConnectionRegistry connections, RoomStore rooms, DirectoryService directory, RocksStore store,
        BackupService backups, ServerStart start, TimeProvider time)
    {
        _metrics = metrics;
        _connections = connections;
        _rooms = rooms;
        _directory = directory;
        _store = store;
        _backups = backups;
        _time = time;
        _startedAt = start.At;
        _samples.Enqueue((time.GetUtcNow().ToUnixTimeMilliseconds(), metrics.MessagesIn));
    }

    public object Read()
    {
        var now = _time.GetUtcNow();
        var connections = _connections.All().ToList();
        var queued = connections.Sum(c => c.Queue.Bytes);
        long rooms = 0, archived = 0;
        foreach (var room in _rooms.AllRooms())
        {
            rooms++;
            archived += room.Archived ? 1 : 0;
        }
        var users = _directory.Snapshot.Users.Values;
        var atRest = _store.AtRest;
        return new
        {
            server_time = now.ToUnixTimeMilliseconds(),
            started_at = _startedAt.ToUnixTimeMilliseconds(),
            uptime_seconds = (long)(now - _startedAt).TotalSeconds,
            connections = connections.Count,
            rooms = new { total = rooms, archived },
            users = new
            {
                total = users.Count(),
                active = users.Count(u => u is { Active: true, Deleted: false }),
                deactivated = users.Count(u => !u.Active),
            },
            messages = new { total = _metrics.MessagesIn, per_second = MessageRate(now.ToUnixTimeMilliseconds()) },
            deliveries = _metrics.Deliveries,
            queues = new
            {
                queued_bytes = queued,
                largest_queue_bytes = connections.Count == 0 ? 0 : connections.Max(c => c.Queue.Bytes),
                evictions = _metrics.Evictions,
            },
            storage = Storage(),
            backups = Backups(),
            escrow = new
            {
                encryption_at_rest = atRest is not null,
                kek_source = atRest?.KekSource,
                kek_id = atRest?.KekId,
                kek_rotation_pending = atRest?.KekRotationPending ?? false,
                recipients = atRest?.CompanyRecipients.Select(r => r.KeyId).ToList() ?? [],
                configured = atRest is { CompanyRecipients.Count: > 0 },
            },
        };
    }

    /// <summary>Events per second over the last minute, from samples taken when the figures are read.</summary>
    private double MessageRate(long now)
    {
        var count = _metrics.MessagesIn;
        lock (_samplesLock)
        {
            _samples.Enqueue((now, count));
            var windowMs = (long)s_rateWindow.TotalMilliseconds;
            // Keep one sample at or before the window's start, so the rate covers the whole window once it has elapsed.
            while (_samples.Count > MaxSamples || (_samples.Count > 2 && _samples.ElementAt(1).At <= now - windowMs))
            {
                _samples.Dequeue();
            }
            var (at, first) = _samples.Peek();
            var elapsedMs = now - at;
            return elapsedMs <= 0 ? 0 : Math.Round((count - first) * 1000.0 / elapsedMs, 2);
        }
    }

    private object Storage()
    {
        var dbBytes = DirectorySize(_store.DbPath);
        long? free = null;
        try
        {
            free = new DriveInfo(_store.DataDirectory).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // Unknown: reported as null.
        }
        return new { database_bytes = dbBytes, attachments_bytes = DirectorySize(_backups.AttachmentsDirectory), free_bytes = free };
    }

    private object Backups()
    {
        var manifests = new List<BackupManifest>();
        if (System.IO.Directory.Exists(_backups.Directory))
        {
            foreach (var file in System.IO.Directory.EnumerateFiles(_backups.Directory, "*.manifest.json"))
            {
                try
                {
                    manifests.Add(SignedManifest.Parse(File.ReadAllBytes(file)).Manifest);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
                {
                    // A manifest being written or damaged: not counted. A restore checks every manifest for itself.
                }
            }
        }
        var last = manifests.MaxBy(m => m.CreatedAt);
        return new
        {
            count = manifests.Count,
            total_bytes = manifests.Sum(m => m.Size),
            last = last is null ? null : new
            {
                file = last.File,
                created_at = last.CreatedAt.ToUnixTimeMilliseconds(),
                size = last.Size,
                sha256 = last.Sha256,
                recipients = last.Recipients,
                kek_id = last.KekId,
            },
        };
    }

    private static long DirectorySize(string path)
    {
        if (!System.IO.Directory.Exists(path))
        {
            return 0;
        }
        long total = 0;
        foreach (var file in new DirectoryInfo(path).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }))
        {
            try
            {
                total += file.Length;
            }
            catch (FileNotFoundException)
            {
                // RocksDB deleted it (compaction) while we walked: it no longer counts.
            }
        }
        return total;
    }
}
