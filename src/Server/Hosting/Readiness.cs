namespace TeamComms.Server.Hosting;

/// <summary>
/// Whether the server accepts clients: set once storage is open, the log runs and the first admin exists. In cluster
/// mode a <see cref="Gate"/> adds the node's own conditions (caught up with the log, lease held, no alarm).
/// </summary>
public sealed class Readiness
{
    private volatile bool _ready;

    public bool IsReady => _ready && Gate?.Invoke() is null;

    /// <summary>Why the server is not ready, or "ok".</summary>
    public string Status => !_ready ? "starting" : Gate?.Invoke() ?? "ok";

    /// <summary>Extra readiness conditions: returns null when ready, otherwise the reason (cluster mode).</summary>
    public Func<string?>? Gate { get; set; }

    public void MarkReady() => _ready = true;

    public void MarkNotReady() => _ready = false;
}
