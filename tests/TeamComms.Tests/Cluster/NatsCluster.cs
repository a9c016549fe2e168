using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace TeamComms.Tests.Cluster;

/// <summary>
/// Three real nats-server processes (>= 2.10.27, from scripts/fetch-nats-server.sh) in one JetStream cluster on
/// loopback, with <c>sync_interval: always</c>, client and route authentication, and a store directory each.
/// </summary>
public sealed class NatsCluster : IAsyncDisposable
{
    public const string User = "teamcomms";
    public const string Password = "cluster-test-secret";
    private readonly string _root;
    private readonly Process?[] _processes = new Process?[3];
    private readonly int[] _clientPorts = new int[3];
    private readonly int[] _routePorts = new int[3];
    private readonly Queue<string>[] _logs = [new(), new(), new()];

    private NatsCluster(string root)
    {
        _root = root;
        for (var i = 0; i < 3; i++)
        {
            _clientPorts[i] = FreePort();
            _routePorts[i] = FreePort();
        }
    }

    public IReadOnlyList<string> Urls => [.. _clientPorts.Select(p => $"nats://127.0.0.1:{p}")];

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

    public static async Task<NatsCluster> StartAsync()
    {
        var cluster = new NatsCluster(Directory.CreateTempSubdirectory("tc-nats-").FullName);
        for (var i = 0; i < 3; i++)
        {
            cluster.Start(i);
        }
        try
        {
            await cluster.WaitListeningAsync();
            await cluster.WaitJetStreamReadyAsync();
        }
        catch
        {
            await cluster.DisposeAsync(); // no nats-server outlives a failed start
            throw;
        }
        return cluster;
    }

    /// <summary>
    /// Waits until the three servers formed one JetStream cluster that can place a 3-replica stream (on a loaded
    /// machine that takes from a few seconds to a minute), so that the nodes' start-up retries do not run out.
    /// </summary>
    private async Task WaitJetStreamReadyAsync()
    {
        await using var nats = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts
        {
            Url = string.Join(',', Urls),
            AuthOpts = new NATS.Client.Core.NatsAuthOpts { Username = User, Password = Password },
        });
        var js = new NATS.Client.JetStream.NatsJSContext(nats);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(180);
        while (true)
        {
            try
            {
                await js.CreateStreamAsync(new NATS.Client.JetStream.Models.StreamConfig("TC_READY", ["tc-ready.>"]) { NumReplicas = 3 });
                await js.DeleteStreamAsync("TC_READY");
                return;
            }
            catch (Exception ex) when (ex is NATS.Client.Core.NatsException or TimeoutException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(500);
            }
            catch (Exception ex) when (ex is NATS.Client.Core.NatsException or TimeoutException)
            {
                throw new TimeoutException("the NATS cluster did not form within 180 s: " + ex.Message + "\n" + string.Join('\n', Log(0).TakeLast(20)), ex);
            }
        }
    }

    /// <summary>Deletes a stream (simulates JetStream losing it).</summary>
    public async Task DeleteStreamAsync(string stream)
    {
        await using var nats = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts
        {
            Url = string.Join(',', Urls),
            AuthOpts = new NATS.Client.Core.NatsAuthOpts { Username = User, Password = Password },
        });
        await new NATS.Client.JetStream.NatsJSContext(nats).DeleteStreamAsync(stream);
    }

    /// <summary>The last lines a server printed (for failure messages).</summary>
    public IReadOnlyList<string> Log(int i)
    {
        lock (_logs)
        {
            return [.. _logs[i]];
        }
    }

    public void Start(int i)
    {
        var config = Path.Combine(_root, $"n{i}.conf");
        var routes = string.Join(", ", _routePorts.Where((_, j) => j != i).Select(p => $"\"nats-route://route:route-secret@127.0.0.1:{p}\""));
        File.WriteAllText(config, $$"""
            server_name: n{{i}}
            listen: 127.0.0.1:{{_clientPorts[i]}}
            authorization { user: {{User}}, password: "{{Password}}" }
            jetstream { store_dir: "{{StoreDirectory(i)}}", sync_interval: always, max_memory_store: 64MB, max_file_store: 2GB }
            cluster {
              name: tc
              listen: 127.0.0.1:{{_routePorts[i]}}
              authorization { user: route, password: "route-secret" }
              routes: [ {{routes}} ]
            }
            """);
        var psi = new ProcessStartInfo(Binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(config);
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, e) => Keep(i, e.Data);
        process.ErrorDataReceived += (_, e) => Keep(i, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
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
        await using var nats = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts
        {
            Url = string.Join(',', Urls),
            AuthOpts = new NATS.Client.Core.NatsAuthOpts { Username = User, Password = Password },
        });
        var js = new NATS.Client.JetStream.NatsJSContext(nats);
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

    private async Task WaitListeningAsync()
    {
        foreach (var port in _clientPorts)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (true)
            {
                try
                {
                    using var tcp = new TcpClient();
                    await tcp.ConnectAsync(IPAddress.Loopback, port);
                    break;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(100);
                }
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = 0; i < 3; i++)
        {
            if (_processes[i] is { } p)
            {
                try
                {
                    Resume(i);
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
}
