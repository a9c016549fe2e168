using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace TeamComms.Tests.Cluster;

/// <summary>
/// Real nats-server processes (>= 2.10.27, from scripts/fetch-nats-server.sh) on loopback: by default three in one
/// JetStream cluster, with <c>sync_interval: always</c>, client and route authentication, and a store directory each;
/// optionally one alone, and optionally with TLS (<see cref="NatsClusterOptions"/>).
/// </summary>
/// <remarks>
/// Isolation (the cause of the old "cluster never forms" flake): several clusters run at once in one test run (the
/// test classes run in parallel) and on a shared machine. Every instance has its own cluster name and route password,
/// so servers of two instances can never route to each other even when one binds a port another instance used before
/// (which happened: a server killed by case 1 or 2 frees its route port for 15 s; with one cluster name "tc" and one
/// route password for all, the peers' explicit routes reached a server of a cluster started meanwhile, and the two
/// clusters merged: "Duplicate Server Name", duplicate routes, "no suitable peers for placement"). Ports come from
/// below the kernel's ephemeral range, and one test process never hands out a port twice, so neither another
/// instance nor an outgoing connection takes a port a stopped server comes back to.
/// </remarks>
public sealed class NatsCluster : IAsyncDisposable
{
    public const string User = "teamcomms";
    public const string Password = "cluster-test-secret";
    private static readonly HttpClient Monitor = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly string _root;
    private readonly NatsClusterOptions _options;
    private readonly int _count;
    private readonly Process?[] _processes;
    private readonly int[] _clientPorts;
    private readonly int[] _routePorts;
    private readonly int[] _monitorPorts;
    private readonly Queue<string>[] _logs;
    private readonly string _routePassword = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));

    private NatsCluster(string root, NatsClusterOptions options)
    {
        _root = root;
        _options = options;
        _count = options.Servers;
        _processes = new Process?[_count];
        _logs = [.. Enumerable.Range(0, _count).Select(_ => new Queue<string>())];
        var ports = Ports.Take(3 * _count);
        _clientPorts = ports[.._count];
        _routePorts = ports[_count..(2 * _count)];
        _monitorPorts = ports[(2 * _count)..];
        ClusterName = "tc-" + Path.GetFileName(root).Replace('.', '-');
    }

    /// <summary>This instance's JetStream cluster name (unique per instance).</summary>
    public string ClusterName { get; }

    /// <summary>How many nats-servers this instance runs (3, or 1 with <see cref="NatsClusterOptions.Servers"/>).</summary>
    public int Count => _count;

    public IReadOnlyList<string> Urls => [.. _clientPorts.Select(p => $"nats://127.0.0.1:{p}")];

    /// <summary>The HTTP monitoring endpoint of server <paramref name="i"/> (/healthz, /jsz, /routez, /varz).</summary>
    public Uri MonitorUrl(int i) => new($"http://127.0.0.1:{_monitorPorts[i]}/");

    public string StoreDirectory(int i) => Path.Combine(_root, $"js{i}");

    public static string Binary
    {
        get
        {
            var fromEnv = Environment.GetEnvironmentVariable("TEAMCOMMS_NATS_SERVER");
            if (!string.IsNullOrEmpty(fromEnv))
            {
                return fromEnv;
            }
            var local = Path.Combine(Infrastructure.Repo.Root, ".nats", "root", "usr", "sbin", "nats-server");
            if (File.Exists(local))
            {
                return local;
            }
            var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, UseShellExecute = false };
            psi.ArgumentList.Add(Path.Combine(Infrastructure.Repo.Root, "scripts", "fetch-nats-server.sh"));
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0 ? output.Trim().Split('\n')[^1] : throw new InvalidOperationException("scripts/fetch-nats-server.sh failed");
        }
    }

    public static Task<NatsCluster> StartAsync() => StartAsync(new NatsClusterOptions());

    public static async Task<NatsCluster> StartAsync(NatsClusterOptions options)
    {
        if (options.Servers is not (1 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(options), "1 or 3 servers");
        }
        var cluster = new NatsCluster(Directory.CreateTempSubdirectory("tc-nats-").FullName, options);
        for (var i = 0; i < cluster._count; i++)
        {
            cluster.Start(i);
        }
        try
        {
            await cluster.WaitReadyAsync(TimeSpan.FromSeconds(180));
        }
        catch
        {
            await cluster.DisposeAsync(); // no nats-server outlives a failed start
            throw;
        }
        return cluster;
    }

    /// <summary>Client options for a connection to this instance (user, password and, with TLS, its CA).</summary>
    public NatsOpts ClientOptions() => NatsOpts.Default with
    {
        Url = string.Join(',', Urls),
        AuthOpts = new NatsAuthOpts { Username = User, Password = Password },
        TlsOpts = _options.TlsCaFile is { } ca
            ? new NatsTlsOpts
            {
                Mode = TlsMode.Require,
                CaFile = ca,
                // With client verification the harness presents the server's certificate (it is made for both uses).
                CertFile = _options.TlsVerifyClients ? _options.TlsCertFile : null,
                KeyFile = _options.TlsVerifyClients ? _options.TlsKeyFile : null,
            }
            : NatsTlsOpts.Default,
    };

    private NatsConnection Connect() => new(ClientOptions());

    /// <summary>
    /// Waits until every server is up and JetStream is ready for a stream of <see cref="Count"/> replicas: each server's
    /// /healthz is ok, all of them name the same meta leader of a meta group of <see cref="Count"/> peers, the leader
    /// sees every other peer current, and a probe stream of that many replicas can be created (on a loaded machine
    /// that takes from a few seconds to a minute). Fails at once, with the server's log, when a server exits (a port
    /// taken, a bad configuration). Call it after restarting servers, before starting nodes on them.
    /// </summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var state = "not polled yet";
        for (var i = 0; i < _count; i++)
        {
            await WaitListeningAsync(i, deadline);
        }
        while (true)
        {
            state = await MetaStateAsync();
            if (state.Length == 0)
            {
                break;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw NotReady(timeout, "the JetStream meta group did not settle: " + state, null);
            }
            await Task.Delay(250);
        }
        await using var nats = Connect();
        var js = new NatsJSContext(nats);
        var probe = "TC_READY_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        while (true)
        {
            try
            {
                await js.CreateStreamAsync(new StreamConfig(probe, [$"tc-ready.{probe}"]) { NumReplicas = _count });
                await js.DeleteStreamAsync(probe);
                return;
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException && DateTime.UtcNow < deadline)
            {
                ThrowIfExited();
                await Task.Delay(500);
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException)
            {
                throw NotReady(timeout, "the probe stream could not be created: " + ex.Message, ex);
            }
        }
    }

    /// <summary>Empty when ready, else what is still missing.</summary>
    private async Task<string> MetaStateAsync()
    {
        ThrowIfExited();
        string? leader = null;
        for (var i = 0; i < _count; i++)
        {
            try
            {
                using var health = await Monitor.GetAsync(new Uri(MonitorUrl(i), "healthz"));
                if (!health.IsSuccessStatusCode)
                {
                    return $"n{i} /healthz: {(int)health.StatusCode} {await health.Content.ReadAsStringAsync()}";
                }
                if (_count == 1)
                {
                    return "";
                }
                using var jsz = JsonDocument.Parse(await Monitor.GetStringAsync(new Uri(MonitorUrl(i), "jsz")));
                if (!jsz.RootElement.TryGetProperty("meta_cluster", out var meta))
                {
                    return $"n{i} has no meta group yet";
                }
                var name = meta.TryGetProperty("leader", out var l) ? l.GetString() : null;
                var size = meta.TryGetProperty("cluster_size", out var s) ? s.GetInt32() : 0;
                if (string.IsNullOrEmpty(name) || size != _count)
                {
                    return $"n{i} sees meta leader '{name}' and cluster size {size}";
                }
                if (leader is not null && leader != name)
                {
                    return $"servers disagree on the meta leader ({leader}, {name})";
                }
                leader = name;
                if (name == $"n{i}")
                {
                    var current = meta.TryGetProperty("replicas", out var replicas)
                        ? replicas.EnumerateArray().Count(r => r.TryGetProperty("current", out var c) && c.GetBoolean() &&
                            !(r.TryGetProperty("offline", out var o) && o.GetBoolean()))
                        : 0;
                    if (current != _count - 1)
                    {
                        return $"meta leader n{i} sees {current} of {_count - 1} peers current";
                    }
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException)
            {
                return $"n{i} monitoring: {ex.Message}";
            }
        }
        return leader is null || !leader.StartsWith('n') ? "no meta leader" : "";
    }

    private void ThrowIfExited()
    {
        for (var i = 0; i < _count; i++)
        {
            if (_processes[i] is { HasExited: true } p)
            {
                throw new InvalidOperationException($"nats-server n{i} exited with code {p.ExitCode}:\n" + string.Join('\n', Log(i).TakeLast(15)));
            }
        }
    }

    private TimeoutException NotReady(TimeSpan timeout, string why, Exception? inner) =>
        new($"the NATS cluster {ClusterName} was not ready within {timeout.TotalSeconds:F0} s: {why}\n" +
            string.Join('\n', Enumerable.Range(0, _count).Select(i => $"--- n{i}:\n" + string.Join('\n', Log(i).TakeLast(15)))), inner);

    /// <summary>Deletes a stream (simulates JetStream losing it).</summary>
    public async Task DeleteStreamAsync(string stream)
    {
        await using var nats = Connect();
        await new NatsJSContext(nats).DeleteStreamAsync(stream);
    }

    /// <summary>The last lines a server printed (for failure messages).</summary>
    public IReadOnlyList<string> Log(int i)
    {
        lock (_logs)
        {
            return [.. _logs[i]];
        }
    }

    /// <summary>Starts (or restarts, on the same ports and store) server <paramref name="i"/>.</summary>
    public void Start(int i)
    {
        var config = Path.Combine(_root, $"n{i}.conf");
        var tls = _options.TlsCertFile is { } cert
            ? $$"""tls { cert_file: "{{cert}}", key_file: "{{_options.TlsKeyFile}}", ca_file: "{{_options.TlsCaFile}}", verify: {{(_options.TlsVerifyClients ? "true" : "false")}}, timeout: 5 }"""
            : "";
        var cluster = "";
        if (_count > 1)
        {
            // Routes to the others (listing itself too is allowed; nats-server skips it, but leaving it out is plainer).
            var routes = string.Join(", ", _routePorts.Where((_, j) => j != i).Select(p => $"\"nats-route://route:{_routePassword}@127.0.0.1:{p}\""));
            cluster = $$"""
                cluster {
                  name: {{ClusterName}}
                  listen: 127.0.0.1:{{_routePorts[i]}}
                  authorization { user: route, password: "{{_routePassword}}" }
                  routes: [ {{routes}} ]
                  {{tls}}
                }
                """;
        }
        File.WriteAllText(config, $$"""
            server_name: n{{i}}
            listen: 127.0.0.1:{{_clientPorts[i]}}
            http: 127.0.0.1:{{_monitorPorts[i]}}
            authorization { user: {{User}}, password: "{{Password}}" }
            {{tls}}
            jetstream { store_dir: "{{StoreDirectory(i)}}", sync_interval: always, max_memory_store: 64MB, max_file_store: 2GB }
            {{cluster}}
            """);
        var psi = new ProcessStartInfo(Binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(config);
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, e) => Keep(i, e.Data);
        process.ErrorDataReceived += (_, e) => Keep(i, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes[i]?.Dispose();
        _processes[i] = process;
    }

    private void Keep(int i, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_logs)
        {
            _logs[i].Enqueue(line);
            if (_logs[i].Count > 200)
            {
                _logs[i].Dequeue();
            }
        }
    }

    public int Pid(int i) => _processes[i]!.Id;

    /// <summary>kill -9.</summary>
    public void Kill(int i)
    {
        if (_processes[i] is { HasExited: false } p)
        {
            p.Kill();
            p.WaitForExit();
        }
    }

    /// <summary>A clean shutdown (SIGTERM: nats-server flushes and leaves the cluster).</summary>
    public void Stop(int i) => Signal(i, "TERM", wait: true);

    public void Pause(int i) => Signal(i, "STOP", wait: false);

    public void Resume(int i) => Signal(i, "CONT", wait: false);

    private void Signal(int i, string signal, bool wait)
    {
        using var kill = Process.Start("kill", $"-{signal} {_processes[i]!.Id}");
        kill.WaitForExit();
        if (wait)
        {
            _processes[i]!.WaitForExit(30_000);
        }
    }

    /// <summary>Finds which server leads the stream's Raft group, from the JetStream API through a client connection.</summary>
    public async Task<int> StreamLeaderAsync(string stream)
    {
        await using var nats = Connect();
        var js = new NatsJSContext(nats);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                var info = await js.GetStreamAsync(stream);
                if (info.Info.Cluster?.Leader is { } leader && leader.StartsWith('n'))
                {
                    return int.Parse(leader.AsSpan(1));
                }
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("no stream leader");
            }
            await Task.Delay(200);
        }
    }

    private async Task WaitListeningAsync(int i, DateTime deadline)
    {
        while (true)
        {
            ThrowIfExited();
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, _clientPorts[i]);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = 0; i < _count; i++)
        {
            if (_processes[i] is { } p)
            {
                try
                {
                    if (!p.HasExited)
                    {
                        Resume(i);
                    }
                }
                catch (InvalidOperationException)
                {
                }
                Kill(i);
                p.Dispose();
            }
        }
        await Task.Yield();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>
    /// Hands out loopback ports below the kernel's ephemeral range (so no outgoing connection is given one), never the
    /// same twice in one test process, starting at a random point so that test runs sharing the machine rarely meet.
    /// Each port is checked free when handed out.
    /// </summary>
    private static class Ports
    {
        private static readonly Lock Gate = new();
        private static readonly (int Low, int High) Range = PickRange();
        private static int _next = Range.Low + Random.Shared.Next(Range.High - Range.Low);

        public static int[] Take(int count)
        {
            var ports = new int[count];
            lock (Gate)
            {
                for (var k = 0; k < count; k++)
                {
                    ports[k] = NextFree();
                }
            }
            return ports;
        }

        private static int NextFree()
        {
            for (var tries = 0; tries < Range.High - Range.Low; tries++)
            {
                var port = _next;
                _next = _next + 1 >= Range.High ? Range.Low : _next + 1;
                try
                {
                    using var listener = new TcpListener(IPAddress.Loopback, port);
                    listener.Start();
                    return port;
                }
                catch (SocketException)
                {
                }
            }
            throw new InvalidOperationException("no free loopback port");
        }

        private static (int Low, int High) PickRange()
        {
            try
            {
                var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                var (low, high) = (int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
                if (low >= 12_000)
                {
                    return (10_000, low);
                }
                if (high <= 62_000)
                {
                    return (high + 1, 65_000);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
            }
            return (20_000, 32_000);
        }
    }
}

/// <summary>How a <see cref="NatsCluster"/> runs: 3 clustered servers (default) or 1, and optionally TLS.</summary>
public sealed record NatsClusterOptions
{
    public int Servers { get; init; } = 3;

    /// <summary>PEM files: with a certificate, clients (and routes) must use TLS, verified against <see cref="TlsCaFile"/>.</summary>
    public string? TlsCertFile { get; init; }

    public string? TlsKeyFile { get; init; }

    public string? TlsCaFile { get; init; }

    /// <summary><c>verify: true</c>: clients must present a certificate signed by the CA (mutual TLS).</summary>
    public bool TlsVerifyClients { get; init; }
}
