using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TeamComms.Server.Attachments;
using TeamComms.Server.Conversations;
using TeamComms.Server.Hosting;
using TeamComms.Server.Moderation;
using TeamComms.Server.Retention;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Workplace;

/// <summary>
/// The room log's view of the workplace services (<see cref="IRoomWorkplace"/>): the content policy, legal holds and
/// internal domains it checks against, and what it hands over after a durable batch (compaction, file deletion, poll
/// closing times, follower purges, and which events lost their content to every <see cref="IContentRemovalListener"/>). The services that act on those are resolved on first use, because they use the
/// room log themselves.
/// </summary>
internal sealed class RoomWorkplace(ContentPolicy policy, LegalHolds holds, ServerIdentity identity, IOptions<WorkplaceOptions> options,
    IServiceProvider services) : IRoomWorkplace
{
    private readonly IReadOnlyList<string> _internal =
        [LinkRules.NormalizeDomain(identity.ServerName), .. options.Value.InternalDomains.Select(LinkRules.NormalizeDomain)];

    public ContentPolicyRecord Policy => policy.Current;

    public IReadOnlyList<string> InternalDomains => _internal;

    public bool IsHeld(string roomId, string sender) => holds.IsHeld(roomId, sender);

    public void AfterCommit(WorkplaceBatchEffects effects)
    {
        if (effects.Compact.Count > 0)
        {
            services.GetRequiredService<ContentCompactor>().Request(effects.Compact);
        }
        if (effects.DeleteFiles.Count > 0)
        {
            var files = services.GetRequiredService<AttachmentStore>();
            var ids = effects.DeleteFiles.ToList();
            _ = Task.Run(async () =>
            {
                try
                {
                    await files.DeleteFilesAsync(ids).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException or RocksDbSharp.RocksDbException)
                {
                    // The retention job's collection deletes what is left (the records say the files are due).
                }
            });
        }
        if (effects.PollsScheduled.Count > 0)
        {
            var closer = services.GetRequiredService<PollCloser>();
            foreach (var (at, room, seq) in effects.PollsScheduled)
            {
                closer.Schedule(at, room, seq);
            }
        }
        if (effects.FollowerPurges.Count > 0)
        {
            services.GetRequiredService<RetentionService>().Trigger();
        }
        if (effects.Removed.Count > 0)
        {
            foreach (var listener in services.GetServices<IContentRemovalListener>())
            {
                listener.OnContentRemoved(effects.Removed);
            }
        }
    }
}
