namespace TeamComms.Server.Connections;

/// <summary>What happened to an enqueued frame.</summary>
internal enum EnqueueResult
{
    /// <summary>Queued; a writer is already running or the queue is held.</summary>
    Queued,
    /// <summary>Queued, and the caller must start the writer.</summary>
    QueuedStartWriter,
    /// <summary>Refused: the queue passed its byte limit. The connection must be evicted.</summary>
    Overflow,
    /// <summary>Refused: the connection is closing.</summary>
    Closed,
}

/// <summary>
/// A connection's bounded outbound queue. Entries reference shared, immutable frame bytes (an event is serialized
/// once for all recipients), so enqueueing copies 24 bytes and allocates nothing once the ring has grown to the
/// connection's working size. The single writer drains it with <see cref="Drain"/>, coalescing everything pending
/// into one socket write. A byte limit bounds memory: a consumer that stops reading overflows and is evicted
/// rather than waited for.
/// </summary>
internal sealed class OutboundQueue(long byteLimit)
{
    private readonly Lock _lock = new();
    // Idle connections keep a 4-entry ring (128 bytes: a frame reference, its position and when it became durable); it grows by doubling only while frames are pending.
    private Entry[] _ring = new Entry[4];
    private int _head;
    private int _count;
    private long _bytes;
    private bool _writerActive;
    private bool _held;
    private bool _closed;
    private bool _sealed;
    private TaskCompletionSource? _drained;

    public long Bytes => Volatile.Read(ref _bytes);

    public EnqueueResult Enqueue(ReadOnlyMemory<byte> frame, long pos, long stamp = 0)
    {
        lock (_lock)
        {
            return _sealed ? EnqueueResult.Closed : EnqueueLocked(frame, pos, stamp);
        }
    }

    private EnqueueResult EnqueueLocked(ReadOnlyMemory<byte> frame, long pos, long stamp = 0)
    {
        if (_closed)
        {
            return EnqueueResult.Closed;
        }
        if (_bytes + frame.Length > byteLimit)
        {
            _closed = true;
            Clear();
            return EnqueueResult.Overflow;
        }
        if (_count == _ring.Length)
        {
            Grow();
        }
        _ring[(_head + _count) & (_ring.Length - 1)] = new Entry(frame, pos, stamp);
        _count++;
        _bytes += frame.Length;
        if (_writerActive || _held)
        {
            return EnqueueResult.Queued;
        }
        _writerActive = true;
        return EnqueueResult.QueuedStartWriter;
    }

    /// <summary>
    /// Queues <paramref name="frame"/> as the last frame this queue will ever take (a Wipe): later frames are refused,
    /// frames already queued still go out first. <see cref="Drained"/> completes once the writer has sent it.
    /// </summary>
    public EnqueueResult EnqueueFinal(ReadOnlyMemory<byte> frame)
    {
        lock (_lock)
        {
            if (_closed || _sealed)
            {
                return EnqueueResult.Closed;
            }
            var result = EnqueueLocked(frame, 0);
            _sealed = true;
            _drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return result;
        }
    }

    /// <summary>After <see cref="EnqueueFinal"/>: completes when everything queued has been written to the socket.</summary>
    public Task Drained
    {
        get
        {
            lock (_lock)
            {
                return _drained?.Task ?? Task.CompletedTask;
            }
        }
    }

    /// <summary>True while the connection's replay holds the queue (frames wait; nothing is written yet).</summary>
    public bool IsHeld
    {
        get
        {
            lock (_lock)
            {
                return _held;
            }
        }
    }

    /// <summary>Holds frames without starting the writer (during resume replay).</summary>
    public void Hold()
    {
        lock (_lock)
        {
            _held = true;
        }
    }

    /// <summary>
    /// Ends a hold: drops held event frames at or below <paramref name="replayedUpTo"/> (already sent by the replay)
    /// and reports whether the caller must start the writer.
    /// </summary>
    public bool Release(long replayedUpTo)
    {
        lock (_lock)
        {
            _held = false;
            if (_closed)
            {
                return false;
            }
            if (_count > 0)
            {
                var kept = new Entry[_ring.Length];
                var n = 0;
                long bytes = 0;
                for (var i = 0; i < _count; i++)
                {
                    var e = _ring[(_head + i) & (_ring.Length - 1)];
                    if (e.Pos != 0 && e.Pos <= replayedUpTo)
                    {
                        continue;
                    }
                    kept[n++] = e;
                    bytes += e.Frame.Length;
                }
                _ring = kept;
                _head = 0;
                _count = n;
                _bytes = bytes;
            }
            if (_count == 0 || _writerActive)
            {
                return false;
            }
            _writerActive = true;
            return true;
        }
    }

    /// <summary>
    /// Writer-only. Copies as many whole pending frames as fit into <paramref name="buffer"/>. If the first pending
    /// frame alone is larger than the buffer, it is returned in <paramref name="oversized"/> to be sent on its own.
    /// When nothing is pending the writer is marked stopped and the result is 0 with no oversized frame.
    /// </summary>
    public int Drain(Span<byte> buffer, out long maxPos, out ReadOnlyMemory<byte> oversized, out long oldestStamp)
    {
        maxPos = 0;
        oldestStamp = 0;
        oversized = default;
        lock (_lock)
        {
            if (_count == 0 || _closed)
            {
                _writerActive = false;
                // The writer asks again only after its previous send completed, so a sealed queue is fully sent.
                _drained?.TrySetResult();
                return 0;
            }
            var written = 0;
            while (_count > 0)
            {
                ref var e = ref _ring[_head];
                var length = e.Frame.Length;
                if (length > buffer.Length - written)
                {
                    if (written == 0)
                    {
                        oversized = e.Frame;
                        maxPos = e.Pos;
                        oldestStamp = e.Stamp;
                        Dequeue(ref e, length);
                    }
                    break;
                }
                e.Frame.Span.CopyTo(buffer[written..]);
                written += length;
                if (oldestStamp == 0)
                {
                    oldestStamp = e.Stamp;
                }
                if (e.Pos > maxPos)
                {
                    maxPos = e.Pos;
                }
                Dequeue(ref e, length);
            }
            if (_count == 0 && _ring.Length > 64)
            {
                _ring = new Entry[4]; // give back a burst's ring so idle connections stay small
                _head = 0;
            }
            return written;
        }
    }

    /// <summary>Refuses further frames and drops pending ones.</summary>
    public void Close()
    {
        lock (_lock)
        {
            _closed = true;
            Clear();
            _drained?.TrySetResult();
        }
    }

    private void Dequeue(ref Entry e, int length)
    {
        e = default;
        _head = (_head + 1) & (_ring.Length - 1);
        _count--;
        _bytes -= length;
    }

    private void Clear()
    {
        _ring = new Entry[4];
        _head = 0;
        _count = 0;
        _bytes = 0;
    }

    private void Grow()
    {
        var bigger = new Entry[_ring.Length * 2];
        for (var i = 0; i < _count; i++)
        {
            bigger[i] = _ring[(_head + i) & (_ring.Length - 1)];
        }
        _ring = bigger;
        _head = 0;
    }

    private readonly record struct Entry(ReadOnlyMemory<byte> Frame, long Pos, long Stamp);
}
