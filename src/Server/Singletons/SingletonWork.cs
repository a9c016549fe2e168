namespace TeamComms.Server.Singletons;

/// <summary>
/// A timer-driven job under a lease (<see cref="ISingletonLeases"/>): <c>gained</c> when this node takes the lease (the
/// job reloads what is due and arms its timers), <c>lost</c> when it loses it or stops (the job disarms; a pass in
/// flight notices and returns). On one node the lease is taken at once, synchronously, so the job starts exactly as it
/// did before leases existed.
/// </summary>
internal static class SingletonWork
{
    public static Task RunAsync(ISingletonLeases leases, string name, Func<CancellationToken, Task> gained, Func<Task> lost,
        CancellationToken stopping) =>
        leases.RunAsync(name, async held =>
        {
            await gained(held).ConfigureAwait(false);
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, held).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (held.IsCancellationRequested)
            {
            }
            finally
            {
                await lost().ConfigureAwait(false);
            }
        }, stopping);
}
