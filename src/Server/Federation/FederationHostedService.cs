using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using TeamComms.Server.Singletons;

namespace TeamComms.Server.Federation;

/// <summary>
/// Starts the outbox senders and the backfill worker after the room log, and stops them before it. The senders run
/// under the singleton lease <see cref="LeaseName"/>: on a single node at once (synchronously, as before leases), in
/// cluster mode on exactly one node at a time, moving to another node when the holder dies. Backfill runs on every
/// node: each node fetches the content its own copy lacks, and what it stores goes through the room log (idempotent).
/// </summary>
internal sealed class FederationHostedService(IOptions<FederationOptions> options, FederationSenders senders, FollowerBackfill backfill,
    ISingletonLeases leases) : IHostedService, IDisposable
{
    public const string LeaseName = "federation-outbox";
    private readonly CancellationTokenSource _stopping = new();
    private Task? _lease;
    private int _stopped;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Enabled)
        {
            _lease = SingletonWork.RunAsync(leases, LeaseName, _ =>
            {
                senders.Start();
                return Task.CompletedTask;
            }, senders.StopAsync, _stopping.Token);
            backfill.Start();
        }
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Stopping twice (or after disposal) is a no-op beyond the first time, as for the senders and backfill.
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }
        if (_lease is not null)
        {
            try
            {
                await _lease.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        await senders.DisposeAsync().ConfigureAwait(false);
        await backfill.DisposeAsync().ConfigureAwait(false);
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
