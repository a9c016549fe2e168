using TeamComms.Client;
using TeamComms.Protocol.Events;

namespace TeamComms.Tests.Infrastructure;

/// <summary>Reads a connection's events in the background so tests can wait for a condition without sleeping.</summary>
public sealed class EventCollector : IAsyncDisposable
{
    private readonly List<RoomEvent> _events = [];
    private readonly Lock _lock = new();
    private readonly Task _pump;
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public EventCollector(TeamCommsConnection connection)
    {
        Connection = connection;
        _pump = Task.Run(async () =>
        {
            try
            {
                await foreach (var e in connection.Events.ReadAllAsync(_stop.Token))
                {
                    lock (_lock)
                    {
                        _events.Add(e);
                        _changed.TrySetResult();
                        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    public TeamCommsConnection Connection { get; }

    public IReadOnlyList<RoomEvent> Snapshot()
    {
        lock (_lock)
        {
            return [.. _events];
        }
    }

    public IReadOnlyList<RoomEvent> InRoom(string roomId) => Snapshot().Where(e => e.RoomId == roomId).ToList();

    /// <summary>Waits (event-driven, with a generous safety timeout) until <paramref name="condition"/> holds.</summary>
    public async Task<IReadOnlyList<RoomEvent>> WaitAsync(Func<IReadOnlyList<RoomEvent>, bool> condition, int timeoutSeconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (condition(_events))
                {
                    return [.. _events];
                }
                changed = _changed.Task;
            }
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                throw new TimeoutException($"condition not met; {_events.Count} events received");
            }
            await Task.WhenAny(changed, Task.Delay(remaining));
        }
    }

    public Task<IReadOnlyList<RoomEvent>> WaitForMessagesAsync(string roomId, int count, int timeoutSeconds = 20) =>
        WaitAsync(es => es.Count(e => e.RoomId == roomId && e.Type == EventTypes.Message) >= count, timeoutSeconds);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _pump;
        _stop.Dispose();
    }
}
