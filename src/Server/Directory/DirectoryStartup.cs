using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TeamComms.Server.Api;
using TeamComms.Server.Audit;

namespace TeamComms.Server.CompanyDirectory;

/// <summary>
/// Start: loads the directory into memory, adds the directory's WebSocket calls, starts the audit stream and the
/// timer that signs the audit head. Stop: signs the head one last time and flushes the stream.
/// </summary>
internal sealed partial class DirectoryStartup(
    DirectoryService directory,
    DirectoryCalls calls,
    ClientCalls clientCalls,
    AuditLog audit,
    AuditStream stream,
    IOptions<AuditOptions> options,
    TimeProvider time,
    ILogger<DirectoryStartup> logger) : IHostedService, IDisposable
{
    private ITimer? _signTimer;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        directory.Load();
        calls.Register(clientCalls);
        stream.Start();
        var interval = options.Value.SignInterval;
        _signTimer = time.CreateTimer(_ => SignHead(), null, interval, interval);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _signTimer?.Dispose();
        SignHead();
        await stream.FlushAsync().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
    }

    private void SignHead()
    {
        try
        {
            audit.SignHead();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogSignFailed(logger, ex);
        }
    }

    public void Dispose() => _signTimer?.Dispose();

    [LoggerMessage(EventId = 8101, Level = LogLevel.Error, Message = "Signing the audit head failed; the next interval tries again")]
    private static partial void LogSignFailed(ILogger logger, Exception ex);
}
