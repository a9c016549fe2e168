using System.Diagnostics;
using System.Text.RegularExpressions;

namespace TeamComms.Tests.Infrastructure;

/// <summary>The real server as a separate OS process, for tests that kill it (-9) or read its console.</summary>
public sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServerProcess(Process process) => _process = process;

    public Uri BaseUrl { get; private set; } = null!;
    public int Pid => _process.Id;

    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_output)
            {
                return [.. _output];
            }
        }
    }

    public static async Task<ServerProcess> StartAsync(string dataDirectory, IDictionary<string, string>? environment = null, params string[] extraArgs)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Repo.ServerDll);
        psi.ArgumentList.Add("--urls");
        psi.ArgumentList.Add("http://127.0.0.1:0");
        psi.ArgumentList.Add("--data");
        psi.ArgumentList.Add(dataDirectory);
        foreach (var a in extraArgs)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["TEAMCOMMS__SERVERNAME"] = "proc.test";
        psi.Environment["TEAMCOMMS__ACCOUNTS__ARGON2MEMORYKIB"] = "8";
        psi.Environment["TEAMCOMMS__ACCOUNTS__ARGON2PASSES"] = "1";
        psi.Environment["TEAMCOMMS__STORAGE__MINFREEBYTES"] = "0";
        psi.Environment["TEAMCOMMS__CONNECTIONS__FRAMESPERSECOND"] = "100000";
        psi.Environment["TEAMCOMMS__CONNECTIONS__FRAMEBURST"] = "100000";
        psi.Environment["DOTNET_gcServer"] = "0";
        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                psi.Environment[k] = v;
            }
        }
        var process = Process.Start(psi)!;
        var server = new ServerProcess(process);
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _ = process.WaitForExitAsync().ContinueWith(_ => server._listening.TrySetException(
            new InvalidOperationException("server exited: " + string.Join('\n', server.Output))), TaskScheduler.Default);
        try
        {
            server.BaseUrl = await server._listening.Task.WaitAsync(TimeSpan.FromSeconds(120));
        }
        catch (TimeoutException)
        {
            await server.KillAsync();
            throw new TimeoutException("server did not listen within 120 s: " + string.Join('\n', server.Output.TakeLast(40)));
        }
        return server;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.Add(line);
        }
        var m = ListeningRegex().Match(line);
        if (m.Success)
        {
            _listening.TrySetResult(new Uri(m.Groups[1].Value));
        }
    }

    /// <summary>SIGKILL: no shutdown hooks, no flushes.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningRegex();
}
