using System.Collections.Concurrent;
using TeamComms.Server.Rooms;

namespace TeamComms.Server.Federation;

/// <summary>
/// Waiters for forwarded proposals, by nonce. Completed when the ordered event arrives in the hub's push and is
/// stored here, or when the hub refuses the proposal.
/// </summary>
internal sealed class ForwardRegistry
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<ForwardResult>> _waiters = new(StringComparer.Ordinal);

    public Task<ForwardResult> Track(string nonce) =>
        _waiters.GetOrAdd(nonce, _ => new TaskCompletionSource<ForwardResult>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Complete(string nonce, ForwardResult result)
    {
        if (_waiters.TryRemove(nonce, out var tcs))
        {
            tcs.TrySetResult(result);
        }
    }

    public void Forget(string nonce) => _waiters.TryRemove(nonce, out _);

    public int Count => _waiters.Count;
}
