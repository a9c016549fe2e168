using System.Diagnostics;
using System.Text.RegularExpressions;

namespace TeamComms.Load;

/// <summary>
/// A server under test as a separate OS process (optionally under <c>taskset</c>), with its CPU time and RSS read
/// from /proc. The process and its fresh data directory are removed on dispose.
/// </summary>
internal sealed partial class ServerProcess : IAsyncDisposable
{
    private static readonly long s_clockTicks = 100; // USER_HZ on Linux x86-64; /proc/<pid>/stat counts in it
    private readonly Process _process;
    private readonly string? _dataDirectory;
    private readonly List<string> _output = [];
    private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServerProcess(Process process, string? dataDirectory)
    {
        _process = process;
        _dataDirectory = dataDirectory;
    }

    public int Pid => _process.Id;

    public string OutputText
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output.TakeLast(40));
            }
        }
    }

    /// <summary>
    /// Starts <paramref name="fileName"/> and waits for a line matching <paramref name="ready"/>; its first group
    /// (if any) is returned, e.g. the URL Kestrel listens on.
    /// </summary>
    public static async Task<(ServerProcess Process, string Match)> StartAsync(string fileName, IEnumerable<string> args,
        IDictionary<string, string> environment, Regex ready, string? cpus, string? dataDirectory, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(cpus is null ? fileName : "taskset")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (cpus is not null)
        {
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(cpus);
            psi.ArgumentList.Add(fileName);
        }
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var (k, v) in environment)
        {
            psi.Environment[k] = v;
        }
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {fileName}");
        var server = new ServerProcess(process, dataDirectory);
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (server._output)
            {
                server._output.Add(line);
            }
            var m = ready.Match(line);
            if (m.Success)
            {
                server._ready.TrySetResult(m.Groups.Count > 1 ? m.Groups[1].Value : line);
            }
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _ = process.WaitForExitAsync().ContinueWith(_ => server._ready.TrySetException(
            new InvalidOperationException($"{fileName} exited:\n{server.OutputText}")), TaskScheduler.Default);
        try
        {
            var match = await server._ready.Task.WaitAsync(timeout).ConfigureAwait(false);
            return (server, match);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>User + system CPU seconds so far, from /proc/&lt;pid&gt;/stat.</summary>
    public double CpuSeconds()
    {
        var stat = File.ReadAllText($"/proc/{Pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After "pid (comm) ": state is field 0, utime field 11, stime field 12.
        return (long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture)) / (double)s_clockTicks;
    }

    /// <summary>Current and peak resident set size in KiB (VmRSS, VmHWM).</summary>
    public (long RssKiB, long PeakKiB) Memory()
    {
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = ParseKiB(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = ParseKiB(line);
            }
        }
        return (rss, peak);
    }

    private static long ParseKiB(string line) =>
        long.Parse(DigitsRegex().Match(line).Value, System.Globalization.CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
        }
        _process.Dispose();
        if (_dataDirectory is not null)
        {
            try
            {
                Directory.Delete(_dataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    [GeneratedRegex(@"\d+")]
    private static partial Regex DigitsRegex();
}
