using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TeamComms.Server.Storage;
using TeamComms.Server.Workplace;

namespace TeamComms.Server.Retention;

/// <summary>
/// Makes removed content leave the disk. RocksDB keeps an overwritten value in the write-ahead log and in older SST
/// files until a flush and a compaction drop it, so after redactions and purges this compacts the rooms concerned
/// (<see cref="RocksStore.CompactRemovedContent"/>). Requests within <see cref="WorkplaceOptions.CompactionDelay"/>
/// are coalesced into one compaction; one runs at a time, in the background.
/// </summary>
internal sealed partial class ContentCompactor(RocksStore store, IOptions<WorkplaceOptions> options, TimeProvider time, ILogger<ContentCompactor> logger) : IDisposable
{
    private readonly Lock _lock = new();
    private readonly HashSet<long> _pending = [];
    private ITimer? _timer;
    private bool _running;
    private bool _stopped;
    private Task _current = Task.CompletedTask;
    private TaskCompletionSource _idle = Completed();
    private long _runs;

    /// <summary>Compactions done since start.</summary>
    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>Asks for the rooms' removed content to be compacted away.</summary>
    public void Request(IEnumerable<long> roomKeys)
    {
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }
            var before = _pending.Count;
            _pending.UnionWith(roomKeys);
            if (_pending.Count == before && (_running || _timer is not null))
            {
                return;
            }
            if (_idle.Task.IsCompleted)
            {
                _idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            if (_running || _timer is not null)
            {
                return;
            }
            var delay = options.Value.CompactionDelay;
            if (delay <= TimeSpan.Zero)
            {
                StartLocked();
            }
            else
            {
                _timer = time.CreateTimer(_ => OnTimer(), null, delay, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>Completes when nothing is pending and no compaction runs.</summary>
    public Task WhenIdleAsync()
    {
        lock (_lock)
        {
            return _idle.Task;
        }
    }

    /// <summary>Stops taking requests and waits for a running compaction (before the database closes).</summary>
    public async Task StopAsync()
    {
        Task current;
        lock (_lock)
        {
            _stopped = true;
            _timer?.Dispose();
            _timer = null;
            current = _current;
        }
        await current.ConfigureAwait(false);
    }

    private void OnTimer()
    {
        lock (_lock)
        {
            _timer?.Dispose();
            _timer = null;
            if (!_running && !_stopped)
            {
                StartLocked();
            }
        }
    }

    private void StartLocked()
    {
        _running = true;
        _current = Task.Run(Run);
    }

    private void Run()
    {
        while (true)
        {
            long[] rooms;
            lock (_lock)
            {
                if (_pending.Count == 0 || _stopped)
                {
                    _running = false;
                    _idle.TrySetResult();
                    return;
                }
                rooms = [.. _pending];
                _pending.Clear();
            }
            try
            {
                store.CompactRemovedContent(rooms);
                Interlocked.Increment(ref _runs);
                LogCompacted(logger, rooms.Length);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogFailed(logger, ex);
            }
        }
    }

    public void Dispose() => _timer?.Dispose();

    private static TaskCompletionSource Completed()
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        tcs.SetResult();
        return tcs;
    }

    [LoggerMessage(EventId = 9101, Level = LogLevel.Information, Message = "Compacted removed content of {Rooms} room(s) off the disk")]
    private static partial void LogCompacted(ILogger logger, int rooms);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Error, Message = "Compacting removed content failed; it is retried with the next removal")]
    private static partial void LogFailed(ILogger logger, Exception ex);
}
