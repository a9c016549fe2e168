using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace TeamComms.FederationBench;

/// <summary>One TeamComms server as its own OS process, on a loopback port with a fresh data directory.</summary>
internal sealed partial class ServerNode : IAsyncDisposable
{
    public const string AdminPassword = "bench-admin-password";
    private readonly Process _process;
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServerNode(string name, int port, string data, Process process)
    {
        Name = name;
        Port = port;
        Data = data;
        _process = process;
    }

    public string Name { get; }
    public int Port { get; }
    public string Data { get; }
    public string BaseUrl => $"http://127.0.0.1:{Port}";
    public int Pid => _process.Id;

    public static async Task<ServerNode> StartAsync(string name, bool federation, bool syncWrites)
    {
        var port = FreePort();
        var data = Path.Combine(Path.GetTempPath(), $"tc-fedbench-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(data);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "TeamComms.Server.dll"));
        psi.ArgumentList.Add("--urls");
        psi.ArgumentList.Add($"http://127.0.0.1:{port}");
        psi.ArgumentList.Add("--data");
        psi.ArgumentList.Add(data);
        var env = psi.Environment;
        env["TEAMCOMMS__SERVERNAME"] = name;
        env["TEAMCOMMS__ACCOUNTS__BOOTSTRAPPASSWORD"] = AdminPassword;
        env["TEAMCOMMS__ACCOUNTS__ARGON2MEMORYKIB"] = "8";
        env["TEAMCOMMS__ACCOUNTS__ARGON2PASSES"] = "1";
        env["TEAMCOMMS__STORAGE__MINFREEBYTES"] = "0";
        env["TEAMCOMMS__STORAGE__SYNCWRITES"] = syncWrites ? "true" : "false";
        env["TEAMCOMMS__CONNECTIONS__FRAMESPERSECOND"] = "100000";
        env["TEAMCOMMS__CONNECTIONS__FRAMEBURST"] = "100000";
        env["TEAMCOMMS__CONNECTIONS__QUEUEBYTELIMIT"] = "67108864";
        env["Logging__LogLevel__Default"] = "Warning";
        env["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        if (federation)
        {
            env["TEAMCOMMS__FEDERATION__ENABLED"] = "true";
            env["TEAMCOMMS__FEDERATION__ALLOWINSECURELOOPBACK"] = "true";
        }
        var process = Process.Start(psi)!;
        var node = new ServerNode(name, port, data, process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null && ListeningRegex().IsMatch(e.Data))
            {
                node._listening.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine($"[{name}] {e.Data}");
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await node._listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return node;
    }

    /// <summary>CPU seconds the process used so far (user + system).</summary>
    public double CpuSeconds
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime.TotalSeconds;
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
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try
        {
            Directory.Delete(Data, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex(@"Now listening on: http://")]
    private static partial Regex ListeningRegex();
}
