using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.Connections;
using TeamComms.Server.FanOut;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Hosting;

/// <summary>
/// Start-up and shutdown. Start opens storage (checking the format version), starts the room log, creates the first
/// admin on an empty data directory and then reports ready. Stop tells every client to go away (1001, resume
/// elsewhere), drains the log and closes storage so that nothing acknowledged is lost.
/// </summary>
internal sealed partial class TeamCommsLifecycle(IServiceProvider services, Readiness readiness, ILogger<TeamCommsLifecycle> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var store = services.GetRequiredService<RocksStore>();
        LogOpened(logger, store.DataDirectory, store.FormatVersion, store.IsNew);
        services.GetRequiredService<IRoomLog>();
        var accounts = services.GetRequiredService<AccountService>();
        if (await accounts.BootstrapAsync().ConfigureAwait(false) is { } admin)
        {
            if (admin.GeneratedPassword is { } password)
            {
                // Printed once, to the console only: it is not stored anywhere in clear.
                Console.WriteLine("====================================================================");
                Console.WriteLine(" TeamComms: first start. An admin account was created:");
                Console.WriteLine($"   username: {admin.Username}");
                Console.WriteLine($"   password: {password}");
                Console.WriteLine(" This password is shown once. Log in and change it, or create");
                Console.WriteLine(" named admins and deactivate this one.");
                Console.WriteLine("====================================================================");
            }
            LogBootstrapped(logger, admin.Username);
        }
        readiness.MarkReady();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        readiness.MarkNotReady();
        await services.GetRequiredService<ConnectionRegistry>().CloseAllAsync(CloseCode.GoingAway, "server shutting down").ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Data directory {Path} (format {Version}, new: {IsNew})")]
    private static partial void LogOpened(ILogger logger, string path, int version, bool isNew);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Created the first admin account '{Username}'")]
    private static partial void LogBootstrapped(ILogger logger, string username);
}
