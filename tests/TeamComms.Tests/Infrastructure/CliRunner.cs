using System.Diagnostics;

namespace TeamComms.Tests.Infrastructure;

/// <summary>Runs the real <c>teamcomms</c> executable (<see cref="Repo.CliDll"/>) as a user would, and collects what it printed.</summary>
public static class CliRunner
{
    /// <summary>
    /// Runs the CLI with <paramref name="args"/>. <paramref name="config"/> (when given) is the CLI's config file
    /// (<c>TEAMCOMMS_CONFIG</c>: the server and the session it logged in with); <paramref name="stdin"/> (when given) is
    /// written as one line to its standard input, which is then closed. Returns the exit code and the trimmed outputs.
    /// </summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(string? config, string? stdin, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Repo.CliDll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        if (config is not null)
        {
            psi.Environment["TEAMCOMMS_CONFIG"] = config;
        }
        using var p = Process.Start(psi)!;
        if (stdin is not null)
        {
            await p.StandardInput.WriteLineAsync(stdin);
        }
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        return (p.ExitCode, (await stdout).Trim(), (await stderr).Trim());
    }
}
