using Microsoft.Extensions.Hosting;
using TeamComms.Server.Api;
using TeamComms.Server.Attachments;
using TeamComms.Server.Conversations;
using TeamComms.Server.Moderation;
using TeamComms.Server.Retention;

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
    ContentCompactor compactor) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        conversations.Register(calls);
        moderation.Register(calls);
        AttachmentEndpoints.Register(calls, attachments);
        polls.Start();
        retention.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await retention.StopAsync().ConfigureAwait(false);
        await polls.StopAsync().ConfigureAwait(false);
        await compactor.StopAsync().ConfigureAwait(false);
    }
}
