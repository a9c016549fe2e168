using System.Diagnostics;
using HdrHistogram;

namespace TeamComms.Load;

/// <summary>
/// The shared state of one run: the measurement window, the per-room message counters and in-flight windows, and
/// the latency histograms of the members that read at full speed (one per receiving thread, merged at the end, so recording never contends).
/// Latency = receive time − intended send time, both from this process's monotonic clock: with an offered rate the
/// intended time is the schedule, so a stalled server cannot hide its latency (no coordinated omission).
/// </summary>
internal sealed class Run(LoadOptions options, int rooms, int roomSize)
{
    private readonly ThreadLocal<LongHistogram> _latency = new(() => new LongHistogram(1, 120_000_000, 3), trackAllValues: true);
    private long _measureStart = long.MaxValue;
    private long _measureEnd = long.MaxValue;
    private volatile bool _sending;

    public LoadOptions Options { get; } = options;
    public int RoomCount { get; } = rooms;
    public int RoomSize { get; } = roomSize;
    public RoomState[] Rooms { get; } = Enumerable.Range(0, rooms).Select(r => new RoomState(r, options.Window)).ToArray();
    public long MeasureStart => Volatile.Read(ref _measureStart);
    public long MeasureEnd => Volatile.Read(ref _measureEnd);
    public bool Sending => _sending;
    public bool MaxRate => Options.Rate <= 0;

    /// <summary>Messages per second a slow member reads: a tenth of its room's message rate.</summary>
    public double SlowRatePerSecond { get; set; }

    public void Begin(long measureStart, long measureEnd)
    {
        Volatile.Write(ref _measureStart, measureStart);
        Volatile.Write(ref _measureEnd, measureEnd);
        _sending = true;
    }

    public void StopSending()
    {
        _sending = false;
        foreach (var room in Rooms)
        {
            room.Window.Release(Options.Window); // wake senders so they see the stop
        }
    }

    public void OnDelivered(Member member, int k, long intended, long now)
    {
        if (intended >= MeasureStart && intended < MeasureEnd && !member.Slow)
        {
            var micros = (now - intended) * 1_000_000 / Stopwatch.Frequency;
            _latency.Value!.RecordValue(Math.Clamp(micros, 1, 120_000_000));
        }
        var room = Rooms[member.Room];
        if (room.SenderOf(k) == member)
        {
            // The sender saw its own message come back: it is through the server (for TeamComms, durable and
            // fanned out), so it counts as achieved, and in max-rate mode one less is in flight.
            if (now >= MeasureStart && now < MeasureEnd)
            {
                Interlocked.Increment(ref room.DoneInWindow);
            }
            if (MaxRate)
            {
                room.Window.Release();
            }
        }
    }

    /// <summary>The server refused a send (an Error frame for its request): that message is not expected anywhere.</summary>
    public void OnSendFailed(int room, int k) => Rooms[room].Failed(k);

    public LongHistogram Latency()
    {
        var merged = new LongHistogram(1, 120_000_000, 3);
        foreach (var h in _latency.Values)
        {
            merged.Add(h);
        }
        return merged;
    }
}

/// <summary>A room's sending state.</summary>
internal sealed class RoomState(int index, int window)
{
    private readonly HashSet<int> _failed = [];
    private int _next;

    public int Index { get; } = index;
    public SemaphoreSlim Window { get; } = new(window);
    public Member[] Members { get; set; } = [];

    /// <summary>Members that send, in turn (slow members only read).</summary>
    public Member[] Senders { get; set; } = [];

    public int Sent => Volatile.Read(ref _next);
    public long SentInWindow;
    public long DoneInWindow;

    public int NextIndex() => Interlocked.Increment(ref _next) - 1;

    public Member SenderOf(int k) => Senders[k % Senders.Length];

    public void Failed(int k)
    {
        lock (_failed)
        {
            _failed.Add(k);
        }
    }

    public int FailedCount
    {
        get
        {
            lock (_failed)
            {
                return _failed.Count;
            }
        }
    }

    public bool IsFailed(int k)
    {
        lock (_failed)
        {
            return _failed.Contains(k);
        }
    }
}
