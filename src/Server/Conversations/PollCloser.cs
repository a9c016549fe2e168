using Microsoft.Extensions.Logging;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Hosting;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Conversations;

/// <summary>
/// Closes polls at their closing time: a <see cref="TimeProvider"/> timer armed for the earliest closing time of the
/// polls hosted here (kept in <c>workplace['S' ‖ closes at ‖ room ‖ seq]</c>, so restarts keep them), which appends the
/// final <c>poll.results</c> through the room log. Votes after the closing time are refused anyway. The timer is armed
/// only while this node holds the <c>poll-closer</c> lease (<see cref="Activate"/>, <see cref="Deactivate"/>): on one
/// node always; in cluster mode on one node at a time, which reloads the closing times when it takes the lease over.
/// </summary>
internal sealed partial class PollCloser(IRoomLog log, RoomRegistry rooms, EventStore events, WorkplaceStore store, ServerIdentity identity,
    TimeProvider time, ILogger<PollCloser> logger) : IDisposable
{
    private readonly Lock _lock = new();
    private readonly SortedSet<(long At, long Room, long Seq)> _due = [];
    private ITimer? _timer;
    private long _armedFor = long.MaxValue;
    private bool _stopped;
    private bool _active;
    private Task _closing = Task.CompletedTask;

    /// <summary>The singleton lease under which closings run.</summary>
    public const string LeaseName = "poll-closer";

    public void Start()
    {
        lock (_lock)
        {
            foreach (var entry in store.PollClosings())
            {
                _due.Add(entry);
            }
            _timer = time.CreateTimer(_ => OnTimer(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            ArmLocked();
        }
    }

    /// <summary>This node holds the lease: reload the closing times (another node may have closed some) and arm.</summary>
    public void Activate()
    {
        lock (_lock)
        {
            _due.Clear();
            foreach (var entry in store.PollClosings())
            {
                _due.Add(entry);
            }
            _active = true;
            _armedFor = long.MaxValue;
            ArmLocked();
        }
    }

    /// <summary>This node lost the lease (or stops): disarm. A closing in flight finishes; closing twice is refused harmlessly.</summary>
    public Task Deactivate()
    {
        lock (_lock)
        {
            _active = false;
            _armedFor = long.MaxValue;
            _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return _closing;
        }
    }

    /// <summary>A poll with a closing time was created (called after its batch is durable).</summary>
    public void Schedule(long closesAt, long roomKey, long pollSeq)
    {
        lock (_lock)
        {
            _due.Add((closesAt, roomKey, pollSeq));
            ArmLocked();
        }
    }

    /// <summary>Completes when the closings started so far are done.</summary>
    public Task WhenIdleAsync()
    {
        lock (_lock)
        {
            return _closing;
        }
    }

    private void ArmLocked()
    {
        if (_stopped || !_active || _timer is null || _due.Count == 0)
        {
            return;
        }
        var first = _due.Min.At;
        if (first == _armedFor)
        {
            return;
        }
        _armedFor = first;
        var delay = TimeSpan.FromMilliseconds(Math.Max(0, first - time.GetUtcNow().ToUnixTimeMilliseconds()));
        _timer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    private void OnTimer()
    {
        List<(long At, long Room, long Seq)> due;
        lock (_lock)
        {
            _armedFor = long.MaxValue;
            if (!_active)
            {
                return;
            }
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            due = _due.TakeWhile(d => d.At <= now).ToList();
            foreach (var d in due)
            {
                _due.Remove(d);
            }
            var previous = _closing;
            _closing = due.Count == 0 ? previous : Task.Run(async () =>
            {
                await previous.ConfigureAwait(false);
                await CloseAsync(due).ConfigureAwait(false);
            });
            ArmLocked();
        }
    }

    private async Task CloseAsync(List<(long At, long Room, long Seq)> due)
    {
        var system = new Actor("_system@" + identity.ServerName, 0, 0);
        foreach (var (at, roomKey, seq) in due)
        {
            if (rooms.Get(roomKey) is not { } room || !events.TryGet(roomKey, seq, out var stored))
            {
                continue;
            }
            var id = EventCodec.Read(stored.Wire).Id;
            var outcome = await log.AppendAsync(new ClosePollProposal(system, room.RoomId, id, Scheduled: true)).ConfigureAwait(false);
            if (!outcome.Ok && outcome.Error != ErrorCode.PollClosed)
            {
                LogCloseFailed(logger, room.RoomId, seq, outcome.Message ?? "");
                lock (_lock)
                {
                    // Try again in a minute (for example after a full disk).
                    _due.Add((time.GetUtcNow().ToUnixTimeMilliseconds() + 60_000, roomKey, seq));
                    ArmLocked();
                }
            }
        }
    }

    public async Task StopAsync()
    {
        Task closing;
        lock (_lock)
        {
            _stopped = true;
            _timer?.Dispose();
            closing = _closing;
        }
        await closing.ConfigureAwait(false);
    }

    public void Dispose() => _timer?.Dispose();

    [LoggerMessage(EventId = 9131, Level = LogLevel.Warning, Message = "Closing the poll at {Room} seq {Seq} failed ({Reason}); retrying in a minute")]
    private static partial void LogCloseFailed(ILogger logger, string room, long seq, string reason);
}
