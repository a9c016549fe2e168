using Microsoft.Extensions.Hosting;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Keys;

/// <summary>Sends what the key layer did while the data directory opened (key created, rotation finished, recipients changed) to the audit sink.</summary>
internal sealed class KeyStartupAudit(RocksStore store, ISecurityAuditSink audit) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var line in store.AtRest?.StartupEvents ?? [])
        {
            var parts = line.Split(' ');
            var details = parts.Skip(1).Select(p => p.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : "");
            audit.Record(parts[0], "server", details);
        }
        store.AtRest?.StartupEvents.Clear();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
