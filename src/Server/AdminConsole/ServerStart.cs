namespace TeamComms.Server.AdminConsole;

/// <summary>When this server process started serving (on the injected clock), for the console's uptime.</summary>
internal sealed class ServerStart(TimeProvider time)
{
    public DateTimeOffset At { get; } = time.GetUtcNow();
}
