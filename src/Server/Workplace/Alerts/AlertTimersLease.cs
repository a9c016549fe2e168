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

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _running = SingletonWork.RunAsync(leases, LeaseName, timers.StartAsync, () => timers.StopAsync(CancellationToken.None),
            _stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(false);
    }

    public void Dispose() => _stopping.Dispose();
}
