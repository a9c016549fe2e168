using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using TeamComms.Server.Federation;

namespace TeamComms.Tests.Infrastructure;

/// <summary>
/// Two or three real servers in this process, each on its own loopback port with its own data directory, named
/// a.test, b.test, c.test, federating with each other in the loopback test mode. Servers can be stopped and started
/// again on the same port and data directory.
/// </summary>
public sealed class FederatedServers : IAsyncDisposable
{
    private readonly Dictionary<string, string?> _extra;
    private readonly TimeProvider? _time;
    private Func<FederatedServer, Dictionary<string, string?>>? _perServer;

    private FederatedServers(Dictionary<string, string?> extra, TimeProvider? time)
    {
        _extra = extra;
        _time = time;
    }

    public List<FederatedServer> Servers { get; } = [];

    public FederatedServer this[int i] => Servers[i];

    public FederatedServer A => Servers[0];
    public FederatedServer B => Servers[1];
    public FederatedServer C => Servers[2];

    /// <summary>Starts <paramref name="count"/> servers; with <paramref name="partner"/>, every pair lists each other as partners.</summary>
    public static async Task<FederatedServers> StartAsync(int count, Dictionary<string, string?>? settings = null, TimeProvider? time = null, bool partner = true,
        Func<int, int, string>? name = null, Func<FederatedServer, Dictionary<string, string?>>? perServer = null)
    {
        var cluster = new FederatedServers(settings ?? [], time) { _perServer = perServer };
        for (var i = 0; i < count; i++)
        {
            var port = FreePort();
            var serverName = name?.Invoke(i, port) ?? $"{(char)('a' + i)}.test";
            var server = new FederatedServer(serverName, port, TempDirectory.Create("tc-fed-" + (char)('a' + i)));
            await server.StartAsync(cluster.Settings(server), time);
            cluster.Servers.Add(server);
        }
        if (partner)
        {
            foreach (var s in cluster.Servers)
            {
                foreach (var other in cluster.Servers.Where(o => o != s))
                {
                    await s.AddPartnerAsync(other);
                }
            }
        }
        return cluster;
    }

    internal Dictionary<string, string?> Settings(FederatedServer server)
    {
        var settings = new Dictionary<string, string?>
        {
            ["urls"] = $"http://127.0.0.1:{server.Port}",
            ["TeamComms:ServerName"] = server.Name,
            ["TeamComms:Federation:Enabled"] = "true",
            ["TeamComms:Federation:AllowInsecureLoopback"] = "true",
            ["TeamComms:Federation:KeyRefetchInterval"] = "00:00:00",
            ["TeamComms:Federation:RetryBase"] = "00:00:00.050",
            ["TeamComms:Federation:RetryMax"] = "00:00:01",
            ["TeamComms:Federation:RequestTimeout"] = "00:00:10",
        };
        foreach (var (k, v) in _extra)
        {
            settings[k] = v;
        }
        foreach (var (k, v) in _perServer?.Invoke(server) ?? [])
        {
            settings[k] = v;
        }
        return settings;
    }

    /// <summary>Stops a server (a clean shutdown); its port stays reserved for <see cref="RestartAsync"/>.</summary>
    public Task StopAsync(FederatedServer server) => server.StopAsync();

    /// <summary>Starts a stopped server again on the same port and data directory.</summary>
    public Task RestartAsync(FederatedServer server) => server.StartAsync(Settings(server), _time);

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var s in Servers)
        {
            await s.DisposeAsync();
        }
    }
}

/// <summary>One server of a <see cref="FederatedServers"/> cluster.</summary>
public sealed class FederatedServer(string name, int port, string dataDirectory) : IAsyncDisposable
{
    public string Name { get; } = name;
    public int Port { get; } = port;
    public string DataDirectory { get; } = dataDirectory;
    public string BaseUrl => $"http://127.0.0.1:{Port}";
    public TestServer Server { get; private set; } = null!;
    public bool Running { get; private set; }

    public IServiceProvider Services => Server.Services;

    internal FederationSenders Senders => Services.GetRequiredService<FederationSenders>();

    internal async Task StartAsync(Dictionary<string, string?> settings, TimeProvider? time)
    {
        Server = await TestServer.StartAsync(settings, time, DataDirectory);
        Running = true;
    }

    internal async Task StopAsync()
    {
        if (Running)
        {
            Running = false;
            await Server.StopAsync();
        }
    }

    public Task<TestUser> CreateUserAsync(string? username = null) => Server.CreateUserAsync(username);

    public async Task AddPartnerAsync(FederatedServer other, string? baseUrl = null)
    {
        using var admin = await Server.AdminAsync();
        await admin.AddPartnerAsync(other.Name, baseUrl ?? other.BaseUrl);
    }

    public async Task<IReadOnlyList<System.Text.Json.Nodes.JsonObject>> AuditAsync()
    {
        using var admin = await Server.AdminAsync();
        return await admin.FederationAuditAsync(1000);
    }

    /// <summary>Waits until the audit log holds an entry of <paramref name="kind"/> matching <paramref name="detail"/>.</summary>
    public async Task<System.Text.Json.Nodes.JsonObject> WaitForAuditAsync(string kind, string? detail = null, int timeoutSeconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (true)
        {
            var entries = await AuditAsync();
            var hit = entries.FirstOrDefault(e => e["kind"]!.GetValue<string>() == kind
                && (detail is null || e["detail"]!.GetValue<string>().Contains(detail, StringComparison.Ordinal)));
            if (hit is not null)
            {
                return hit;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no audit entry {kind} '{detail}' on {Name}; have: " + string.Join("; ", entries.Select(e => e.ToJsonString())));
            }
            // Refusals are recorded synchronously by the request that caused them; a short poll only covers sender threads.
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        TempDirectory.Delete(DataDirectory);
    }
}
