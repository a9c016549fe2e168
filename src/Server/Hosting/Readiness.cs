namespace TeamComms.Server.Hosting;

/// <summary>Whether the server accepts clients: set once storage is open, the log runs and the first admin exists.</summary>
public sealed class Readiness
{
    private volatile bool _ready;

    public bool IsReady => _ready;

    public void MarkReady() => _ready = true;

    public void MarkNotReady() => _ready = false;
}
