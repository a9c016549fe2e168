using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TeamComms.Server.Workplace.Alerts;

/// <summary>Where the alert service asks for an open alert's next reminder tick.</summary>
internal interface IAlertSchedule
{
    /// <summary>Runs the alert's reminder tick at <paramref name="dueMs"/> (Unix ms). Duplicates are harmless: a tick checks what is due.</summary>
    void Schedule(long alertKey, long dueMs);
}

/// <summary>
/// The background timers of the alerts: each open alert's reminder ticks (re-notify the unacknowledged every interval,
/// then escalate once) on the injected <see cref="TimeProvider"/>. It is the only part of the attention features that
/// acts on its own, so it is one hosted component: cluster mode (issue 9) can run it on exactly one node under a lease.
/// <see cref="StartAsync"/> attaches to <see cref="AlertService"/> and reloads every open alert's next tick from what the
/// service loaded from the store, so a node that takes the lease over carries on where the previous holder stopped;
/// <see cref="StopAsync"/> detaches and stops firing. A node without the timers still sends, acknowledges and shows
/// alerts; only reminders and escalation wait for the node that runs them.
/// </summary>
internal sealed partial class AlertTimers(AlertService alerts, TimeProvider time, ILogger<AlertTimers> logger) : IHostedService, IAlertSchedule, IDisposable
{
    private readonly Lock _lock = new();
    private DueQueue<long>? _queue;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _queue ??= new DueQueue<long>(time, alerts.RunDue, ex => LogTimerFault(logger, ex));
        }
        var count = 0;
        foreach (var (alertKey, due) in alerts.AttachSchedule(this))
        {
            Schedule(alertKey, due);
            count++;
        }
        LogStarted(logger, count);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        alerts.AttachSchedule(null);
        DueQueue<long>? queue;
        lock (_lock)
        {
            queue = _queue;
            _queue = null;
        }
        queue?.Dispose();
        return Task.CompletedTask;
    }

    public void Schedule(long alertKey, long dueMs)
    {
        DueQueue<long>? queue;
        lock (_lock)
        {
            queue = _queue;
        }
        queue?.Schedule(alertKey, dueMs);
    }

    /// <summary>Open alerts with a tick waiting (for tests and diagnostics).</summary>
    public int Pending
    {
        get
        {
            lock (_lock)
            {
                return _queue?.Count ?? 0;
            }
        }
    }

    public void Dispose() => StopAsync(CancellationToken.None).GetAwaiter().GetResult();

    [LoggerMessage(EventId = 9110, Level = LogLevel.Information, Message = "Alert timers started with {Count} open alerts")]
    private static partial void LogStarted(ILogger logger, int count);

    [LoggerMessage(EventId = 9111, Level = LogLevel.Error, Message = "Alert timer fault")]
    private static partial void LogTimerFault(ILogger logger, Exception ex);
}
