namespace TeamComms.Server.Workplace;

/// <summary>
/// Runs callbacks at given times on one <see cref="TimeProvider"/> timer (tests advance a fake clock; nothing sleeps).
/// Entries are not deduplicated: a callback checks whether its work is still due. Callbacks run on the timer's thread
/// one at a time and must not block for long; an exception in one does not stop the others.
/// </summary>
internal sealed class DueQueue<T> : IDisposable
{
    private readonly TimeProvider _time;
    private readonly Action<T, long> _onDue;
    private readonly Action<Exception> _onError;
    private readonly PriorityQueue<T, long> _queue = new();
    private readonly Lock _lock = new();
    private readonly ITimer _timer;
    private long _armedFor = long.MaxValue;
    private int _running;
    private bool _disposed;

    /// <param name="onDue">Called with the entry and the current time (Unix ms).</param>
    public DueQueue(TimeProvider time, Action<T, long> onDue, Action<Exception> onError)
    {
        _time = time;
        _onDue = onDue;
        _onError = onError;
        _timer = time.CreateTimer(_ => Run(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Runs <paramref name="item"/> at <paramref name="dueMs"/> (Unix ms), or at once if that has passed.</summary>
    public void Schedule(T item, long dueMs)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _queue.Enqueue(item, dueMs);
            if (dueMs < _armedFor)
            {
                Arm(dueMs);
            }
        }
    }

    private void Arm(long dueMs)
    {
        _armedFor = dueMs;
        var delay = dueMs - _time.GetUtcNow().ToUnixTimeMilliseconds();
        _timer.Change(TimeSpan.FromMilliseconds(Math.Max(delay, 0)), Timeout.InfiniteTimeSpan);
    }

    private void Run()
    {
        while (true)
        {
            // One runner at a time; a concurrent tick (the timer re-armed for "now" while running) leaves the work to it.
            if (Interlocked.Exchange(ref _running, 1) != 0)
            {
                return;
            }
            try
            {
                Drain();
            }
            finally
            {
                Volatile.Write(ref _running, 0);
            }
            // An entry scheduled after the drain looked, whose tick found the runner still busy, would wait for the
            // next arm: look once more now that the runner is free.
            lock (_lock)
            {
                if (_disposed || !_queue.TryPeek(out _, out var due) || due > _time.GetUtcNow().ToUnixTimeMilliseconds())
                {
                    return;
                }
            }
        }
    }

    private void Drain()
    {
        while (true)
        {
            T item;
            long now;
            lock (_lock)
            {
                now = _time.GetUtcNow().ToUnixTimeMilliseconds();
                if (_disposed || !_queue.TryPeek(out item!, out var due) || due > now)
                {
                    _armedFor = long.MaxValue;
                    if (!_disposed && _queue.TryPeek(out _, out var next))
                    {
                        Arm(next);
                    }
                    return;
                }
                _queue.Dequeue();
            }
            try
            {
                _onDue(item, now);
            }
            catch (Exception ex)
            {
                _onError(ex);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _queue.Clear();
        }
        _timer.Dispose();
    }
}
