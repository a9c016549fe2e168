using Microsoft.Extensions.Hosting;
using TeamComms.Server.Singletons;

namespace TeamComms.Server.Workplace.Alerts;

/// <summary>
/// Runs <see cref="AlertTimers"/> (reminders and escalation) under the <c>alert-timers</c> singleton lease: on one node
/// they start at once, synchronously, as before; in cluster mode on one node at a time, and the node that takes the
/// lease over reloads every open alert's next tick.
/// </summary>
internal sealed class AlertTimersLease(AlertTimers timers, ISingletonLeases leases) : IHostedService, IDisposable
{
    public const string LeaseName = "alert-timers";

    private readonly CancellationTokenSource _stopping = new();
    private Task _running = Task.CompletedTask;
    private int _stopped;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _running = SingletonWork.RunAsync(leases, LeaseName, timers.StartAsync, () => timers.StopAsync(CancellationToken.None),
            _stopping.Token);
        return Task.CompletedTask;
    }

    /// <summary>Releases the lease and stops the timers; a second stop (after a restart test disposed the host) does nothing.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }
        await _running.ConfigureAwait(false);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            _stopping.Cancel();
        }
        _stopping.Dispose();
    }
}
