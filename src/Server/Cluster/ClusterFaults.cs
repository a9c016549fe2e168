namespace TeamComms.Server.Cluster;

/// <summary>
/// Test-only fault points on the cluster path (<c>TeamComms:Cluster:TestFault = point:n</c>): the process kills itself
/// (exit 137, like kill -9) the n-th time it reaches the point, so failure tests choose the moment exactly:
/// <c>before-publish</c> (a send accepted, nothing published) and <c>after-publish</c> (the entry is in the log, nobody
/// acknowledged). "After the acknowledgement" needs no hook: the test kills the node (SIGKILL) once its clients got acks.
/// </summary>
internal static class ClusterFaults
{
    private static int _hits;

    public static void Hit(ClusterOptions options, string point)
    {
        if (options.TestFault is not { } fault || !fault.StartsWith(point + ":", StringComparison.Ordinal))
        {
            return;
        }
        if (int.TryParse(fault.AsSpan(point.Length + 1), out var n) && Interlocked.Increment(ref _hits) == n)
        {
            Console.Out.Flush();
            Environment.FailFast($"test fault {fault}");
        }
    }
}
