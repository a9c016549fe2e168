using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace TeamComms.Server.Federation;

/// <summary>Starts the outbox senders and the backfill worker after the room log, and stops them before it.</summary>
internal sealed class FederationHostedService(IOptions<FederationOptions> options, FederationSenders senders, FollowerBackfill backfill) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Enabled)
        {
            senders.Start();
            backfill.Start();
        }
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await senders.DisposeAsync().ConfigureAwait(false);
        await backfill.DisposeAsync().ConfigureAwait(false);
    }
}
