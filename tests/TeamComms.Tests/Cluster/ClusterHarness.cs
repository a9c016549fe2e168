using TeamComms.Client;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Cluster;

/// <summary>Three TeamComms nodes (real processes) in cluster mode on a <see cref="NatsCluster"/>.</summary>
public sealed class ClusterHarness : IAsyncDisposable
{
    public const string AdminPassword = "cluster-admin-password-1";
    private readonly string _root = Directory.CreateTempSubdirectory("tc-cluster-").FullName;
    private readonly Dictionary<string, string>[] _env = new Dictionary<string, string>[3];
    private readonly List<ServerProcess> _extra = [];

    private ClusterHarness(NatsCluster nats) => Nats = nats;

    public NatsCluster Nats { get; }

    public ServerProcess?[] Nodes { get; } = new ServerProcess?[3];

    public const string Stream = "TEAMCOMMS_LOG";

    public static Task<ClusterHarness> StartAsync(int nodes = 3, IDictionary<string, string>? extra = null) =>
        StartAsync(nodes, extra, new NatsClusterOptions());

    /// <summary>Starts the nats-servers as <paramref name="natsOptions"/> says (one server, TLS), then the nodes.</summary>
    public static async Task<ClusterHarness> StartAsync(int nodes, IDictionary<string, string>? extra, NatsClusterOptions natsOptions)
    {
        var nats = await NatsCluster.StartAsync(natsOptions);
        var harness = new ClusterHarness(nats);
        for (var i = 0; i < nodes; i++)
        {
            harness._env[i] = harness.Environment(i, extra);
        }
        try
        {
            // Start them together, as an operator's systemd would: the first to claim creates the admin.
            await Task.WhenAll(Enumerable.Range(0, nodes).Select(harness.StartNodeAsync));
        }
        catch
        {
            await harness.DisposeAsync(); // no nats-server or node outlives a failed start
            throw;
        }
        return harness;
    }

    private Dictionary<string, string> Environment(int i, IDictionary<string, string>? extra)
    {
        var env = new Dictionary<string, string>
        {
            ["TEAMCOMMS__CLUSTER__ENABLED"] = "true",
            ["TEAMCOMMS__CLUSTER__NODEID"] = $"node{i + 1}",
            ["TEAMCOMMS__CLUSTER__NODEINDEX"] = $"{i + 1}",
            ["TEAMCOMMS__CLUSTER__USER"] = NatsCluster.User,
            ["TEAMCOMMS__CLUSTER__PASSWORD"] = NatsCluster.Password,
            ["TEAMCOMMS__CLUSTER__LEASE"] = "00:00:06",
            ["TEAMCOMMS__ACCOUNTS__BOOTSTRAPPASSWORD"] = AdminPassword,
        };
        for (var u = 0; u < Nats.Urls.Count; u++)
        {
            // Each node lists the servers starting with "its own", as an operator would co-locate them.
            env[$"TEAMCOMMS__CLUSTER__URLS__{u}"] = Nats.Urls[(u + i) % Nats.Urls.Count];
        }
        if (extra is not null)
        {
            foreach (var (k, v) in extra)
            {
                env[k] = v;
            }
        }
        return env;
    }

    public string DataDirectory(int i) => Path.Combine(_root, $"node{i + 1}");

    public async Task StartNodeAsync(int i) => await StartNodeAsync(i, null);

    public async Task StartNodeAsync(int i, IDictionary<string, string>? overrides)
    {
        var env = new Dictionary<string, string>(_env[i]);
        if (overrides is not null)
        {
            foreach (var (k, v) in overrides)
            {
                env[k] = v;
            }
        }
        Nodes[i] = await ServerProcess.StartAsync(DataDirectory(i), env);
    }

    /// <summary>
    /// Starts one more node process with node <paramref name="template"/>'s settings and <paramref name="overrides"/>,
    /// in <paramref name="dataDirectory"/>. It is not one of <see cref="Nodes"/>; it is killed with the harness.
    /// </summary>
    public async Task<ServerProcess> StartNodeLikeAsync(int template, string dataDirectory, IDictionary<string, string> overrides)
    {
        var env = new Dictionary<string, string>(_env[template]);
        foreach (var (k, v) in overrides)
        {
            env[k] = v;
        }
        var node = await ServerProcess.StartAsync(dataDirectory, env);
        lock (_extra)
        {
            _extra.Add(node);
        }
        return node;
    }

    public async Task KillNodeAsync(int i)
    {
        if (Nodes[i] is { } node)
        {
            await node.KillAsync();
            await node.DisposeAsync();
            Nodes[i] = null;
        }
    }

    public void PauseNode(int i) => Signal(Nodes[i]!.Pid, "STOP");

    public void ResumeNode(int i) => Signal(Nodes[i]!.Pid, "CONT");

    private static void Signal(int pid, string signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", $"-{signal} {pid}");
        kill.WaitForExit();
    }

    public Uri Url(int i) => Nodes[i]!.BaseUrl;

    /// <summary>Logs in as the first admin on node <paramref name="i"/>.</summary>
    public async Task<TeamCommsHttpClient> AdminAsync(int i)
    {
        var http = new TeamCommsHttpClient(Url(i));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                http.AccessToken = (await http.LoginAsync("admin", AdminPassword)).AccessToken;
                return http;
            }
            catch (TeamCommsException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100); // the admin's rows are still on their way to this node
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var extra in _extra)
        {
            await extra.DisposeAsync();
        }
        for (var i = 0; i < Nodes.Length; i++)
        {
            if (Nodes[i] is { } node)
            {
                try
                {
                    Signal(node.Pid, "CONT");
                }
                catch (InvalidOperationException)
                {
                }
                await node.DisposeAsync();
            }
        }
        await Nats.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
