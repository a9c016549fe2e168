using Microsoft.Extensions.Hosting;
using TeamComms.Server.Api;
using TeamComms.Server.Attachments;
using TeamComms.Server.Conversations;
using TeamComms.Server.Moderation;
using TeamComms.Server.Retention;
using TeamComms.Server.Singletons;

namespace TeamComms.Server.Workplace;

/// <summary>
/// Start: adds the workplace features' WebSocket calls, loads poll closing times and starts the retention timer.
/// Stop: stops the timers and waits for a running retention pass, poll closing or compaction, before the database closes.
/// </summary>
internal sealed class WorkplaceStartup(
    ClientCalls calls,
    ConversationCalls conversations,
    ModerationCalls moderation,
    AttachmentService attachments,
    PollCloser polls,
    RetentionService retention,
    ContentCompactor compactor,
    ISingletonLeases leases) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _leases = Task.CompletedTask;
    private int _stopped;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        conversations.Register(calls);
        moderation.Register(calls);
        AttachmentEndpoints.Register(calls, attachments);
        polls.Start();
        retention.Start();
        // Singleton work (issue 9): on one node both leases are taken at once, synchronously, before this returns.
        _leases = Task.WhenAll(
            SingletonWork.RunAsync(leases, PollCloser.LeaseName, _ =>
            {
                polls.Activate();
                return Task.CompletedTask;
            }, polls.Deactivate, _stopping.Token),
            SingletonWork.RunAsync(leases, RetentionService.LeaseName, _ =>
            {
                retention.Activate();
                return Task.CompletedTask;
            }, retention.Deactivate, _stopping.Token));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }
        await _leases.ConfigureAwait(false);
        await retention.StopAsync().ConfigureAwait(false);
        await polls.StopAsync().ConfigureAwait(false);
        await compactor.StopAsync().ConfigureAwait(false);
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
