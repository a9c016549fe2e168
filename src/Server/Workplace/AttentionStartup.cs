using Microsoft.Extensions.Hosting;
using TeamComms.Server.Api;
using TeamComms.Server.Workplace.Alerts;
using TeamComms.Server.Workplace.Notifications;
using TeamComms.Server.Workplace.Push;

namespace TeamComms.Server.Workplace;

/// <summary>Start: adds the workplace calls, loads push devices and open alerts (rescheduling reminders). Stop: stops the timers and loops.</summary>
internal sealed class AttentionStartup(AttentionCalls calls, ClientCalls clientCalls, PushService push, AlertService alerts, AlertSignals signals,
    SummaryService summaries) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        calls.Register(clientCalls);
        push.Start();
        alerts.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        signals.Complete();
        alerts.Dispose();
        summaries.Dispose();
        push.Dispose();
        return Task.CompletedTask;
    }
}
