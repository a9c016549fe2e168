using TeamComms.Protocol;

namespace TeamComms.Server.Hosting;

/// <summary>Top-level settings, section <c>TeamComms</c>. See docs/operations.md for every setting.</summary>
public sealed class TeamCommsOptions
{
    public const string Section = "TeamComms";

    /// <summary>Where the RocksDB database and keys live. Default <c>./data</c>; <c>--data</c> on the command line.</summary>
    public string DataDirectory { get; set; } = "./data";

    /// <summary>
    /// The server name in every local id (<c>alice@acme.example</c>). Fixed when the data directory is created;
    /// a different value later refuses the start.
    /// </summary>
    public string ServerName { get; set; } = "localhost";

    /// <summary>Checks the settings; a misconfigured server refuses to start and says why.</summary>
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            yield return "TeamComms:DataDirectory must be set";
        }
        if (!Identifiers.IsValidServerName(ServerName))
        {
            yield return $"TeamComms:ServerName '{ServerName}' is not a valid server name (lower-case DNS name, optional :port)";
        }
    }
}
