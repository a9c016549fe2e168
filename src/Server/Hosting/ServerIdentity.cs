namespace TeamComms.Server.Hosting;

/// <summary>The server's name (the part after <c>@</c> in every local id). Fixed once the data directory exists.</summary>
public sealed class ServerIdentity(string serverName)
{
    public string ServerName { get; } = serverName;
}
