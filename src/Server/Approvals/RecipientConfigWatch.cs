using Microsoft.Extensions.Hosting;

namespace TeamComms.Server.Approvals;

/// <summary>
/// At start, after the data directory is open: a change of the company recipients in the configuration file is
/// recorded, audited and held as an approval request (<see cref="ApprovalService.NoticeConfigurationAsync"/>).
/// </summary>
internal sealed class RecipientConfigWatch(ApprovalService approvals) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => approvals.NoticeConfigurationAsync();

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
