namespace TeamComms.Server.Singletons;

/// <summary>
/// Singleton work: jobs that must run on exactly one node at a time (reminders and escalation timers, retention jobs,
/// federation outboxes). On one node the work simply runs. In cluster mode it runs under a lease held in JetStream's
/// key-value store: on the node that holds the lease, and it moves to another node when the holder dies or is cut off
/// (docs/architecture.md, "Singleton work").
/// <para>
/// A job is written once, for both modes: put the body in <c>work</c>, stop when its token is cancelled, and make each
/// step safe to repeat (a node can lose the lease in the middle of a step, and the next holder starts that step again).
/// </para>
/// </summary>
public interface ISingletonLeases
{
    /// <summary>
    /// Runs <paramref name="work"/> whenever this node holds the lease called <paramref name="name"/> (1–64 of
    /// <c>a-z 0-9 -</c>), until <paramref name="stopping"/> is cancelled. The token given to <paramref name="work"/> is
    /// cancelled when the lease is lost, before any other node can take it; the work is started again if this node
    /// regains it. Returns when stopping is cancelled (and the work has returned).
    /// </summary>
    Task RunAsync(string name, Func<CancellationToken, Task> work, CancellationToken stopping);

    /// <summary>Whether this node holds the named lease now (metrics, admin views).</summary>
    bool IsHeld(string name);
}
