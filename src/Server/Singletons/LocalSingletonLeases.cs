using System.Collections.Concurrent;

namespace TeamComms.Server.Singletons;

/// <summary>One node: there is nobody to share with, so every lease is held and the work runs until stopping.</summary>
internal sealed class LocalSingletonLeases : ISingletonLeases
{
    private readonly ConcurrentDictionary<string, bool> _running = new(StringComparer.Ordinal);

    public async Task RunAsync(string name, Func<CancellationToken, Task> work, CancellationToken stopping)
    {
        SingletonLeaseNames.Check(name);
        _running[name] = true;
        try
        {
            await work(stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        finally
        {
            _running.TryRemove(name, out _);
        }
    }

    public bool IsHeld(string name) => true;
}
