using System.Diagnostics;

namespace TeamComms.Load;

/// <summary>
/// One room member's receive-side accounting. Only that member's receive loop touches it while the run is going
/// (no shared counters on the delivery path); the runner sums members at the end. Messages of a room are numbered
/// 0, 1, 2, … by the generator, and message k is sent by the room's sender k mod S, so per member: a bit per index
/// catches duplicates; an index below the highest already seen from the same sender is out of order (each sender's
/// messages must arrive in the order it sent them; messages of different senders may interleave either way); and an
/// index never seen by the end of the drain is lost.
/// </summary>
internal sealed class Member(Run run, int room, int index, bool slow)
{
    private ulong[] _seen = new ulong[4];
    private int[] _highest = [];

    public int Room { get; } = room;
    public int Index { get; } = index;
    public bool Slow { get; } = slow;
    public long Received { get; private set; }
    public long ReceivedInWindow { get; private set; }
    public long Duplicated { get; private set; }
    public long OutOfOrder { get; private set; }
    public long Foreign { get; private set; }
    public int Evictions;
    public int Reconnects;

    /// <summary>The member's connection, set by the runner.</summary>
    public IMemberConnection Connection { get; set; } = null!;

    private long _paceStart;
    private long _paced;

    /// <summary>Called by the target's receive loop for every message payload.</summary>
    public void OnPayload(ReadOnlySpan<byte> payload, long now)
    {
        if (!Payload.TryRead(payload, out var room, out var k, out var intended) || room != Room)
        {
            Foreign++;
            return;
        }
        var word = k >> 6;
        if (word >= _seen.Length)
        {
            Array.Resize(ref _seen, Math.Max(word + 1, _seen.Length * 2));
        }
        var bit = 1UL << (k & 63);
        if ((_seen[word] & bit) != 0)
        {
            Duplicated++;
            return;
        }
        _seen[word] |= bit;
        Received++;
        if (_highest.Length == 0)
        {
            _highest = new int[run.Rooms[Room].Senders.Length];
            _highest.AsSpan().Fill(-1);
        }
        ref var highest = ref _highest[k % _highest.Length];
        if (k < highest)
        {
            OutOfOrder++;
        }
        else
        {
            highest = k;
        }
        run.OnDelivered(this, k, intended, now);
        if (now >= run.MeasureStart && now < run.MeasureEnd)
        {
            ReceivedInWindow++;
        }
    }

    /// <summary>Distinct message indexes received below <paramref name="sent"/>.</summary>
    public long DistinctBelow(int sent)
    {
        long n = 0;
        for (var k = 0; k < sent; k++)
        {
            var word = k >> 6;
            if (word < _seen.Length && (_seen[word] & (1UL << (k & 63))) != 0)
            {
                n++;
            }
        }
        return n;
    }

    /// <summary>
    /// A slow member reads at a tenth of its room's message rate while the run sends; afterwards it reads at full
    /// speed so that what it missed can arrive (late, not lost).
    /// </summary>
    public ValueTask PaceAsync(int messages)
    {
        if (!Slow || !run.Sending || run.SlowRatePerSecond <= 0)
        {
            return ValueTask.CompletedTask;
        }
        var now = Stopwatch.GetTimestamp();
        if (_paceStart == 0)
        {
            _paceStart = now;
        }
        _paced += messages;
        var due = _paceStart + (long)(_paced / run.SlowRatePerSecond * Stopwatch.Frequency);
        if (due <= now)
        {
            return ValueTask.CompletedTask;
        }
        return new ValueTask(Task.Delay(TimeSpan.FromTicks((due - now) * TimeSpan.TicksPerSecond / Stopwatch.Frequency)));
    }
}

/// <summary>A member's connection to a target.</summary>
internal interface IMemberConnection : IAsyncDisposable
{
    /// <summary>Queues one message to the member's room; never blocks the caller.</summary>
    void Send(int index, long intendedTicks);
}

/// <summary>
/// One adapter per target behind this interface, so that every target runs the same workload through the same
/// measurement code. An adapter starts (or finds) its server, provisions rooms, and opens member connections whose
/// receive loops call <see cref="Member.OnPayload"/>.
/// </summary>
internal interface ILoadTarget : IAsyncDisposable
{
    string Name { get; }

    /// <summary>The server process (for CPU and RSS), or null when the target was given by --url.</summary>
    ServerProcess? Server { get; }

    Task StartAsync(CancellationToken ct);

    /// <summary>Connects the target to the run (send failures the server reports).</summary>
    void Attach(Run run);

    /// <summary>Error frames the server sent, by name.</summary>
    IReadOnlyDictionary<string, int> Errors { get; }

    /// <summary>Creates <paramref name="rooms"/> rooms of <paramref name="roomSize"/> members (and their accounts).</summary>
    Task ProvisionAsync(int rooms, int roomSize, CancellationToken ct);

    Task<IMemberConnection> ConnectAsync(Member member, CancellationToken ct);

    /// <summary>Opens one idle, authenticated connection (the --idle scenario); <paramref name="n"/> is its number.</summary>
    Task<IAsyncDisposable> ConnectIdleAsync(int n, CancellationToken ct);

    /// <summary>Provisions what <see cref="ConnectIdleAsync"/> needs for <paramref name="count"/> connections.</summary>
    Task ProvisionIdleAsync(int count, CancellationToken ct);
}
