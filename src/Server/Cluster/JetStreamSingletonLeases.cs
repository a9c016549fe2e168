using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using TeamComms.Server.Singletons;

namespace TeamComms.Server.Cluster;

/// <summary>
/// Singleton work in cluster mode. A lease is a key in the bucket <c>{prefix}_leases</c>, whose age limit is the
/// cluster lease (<see cref="ClusterOptions.Lease"/>): a node takes it by creating the key (which fails while another
/// node's key is alive), renews it every third of the lease by a compare-and-set on its revision, and deletes it when it
/// stops. A holder that dies stops renewing; its key expires one lease after its last renewal and another node creates
/// it. A holder that cannot renew cancels its work two thirds of a lease after the last renewal it sent, so it has
/// stopped before its key can expire and anyone else can start (the margin is one third of a lease, for the work to
/// observe its cancellation).
/// </summary>
internal sealed partial class JetStreamSingletonLeases(ClusterEngine engine, ClusterOptions options, TimeProvider time, ILogger<JetStreamSingletonLeases> logger)
    : ISingletonLeases
{
    private readonly ConcurrentDictionary<string, bool> _held = new(StringComparer.Ordinal);
    private volatile Task<INatsKVStore>? _bucket;

    private readonly ConcurrentDictionary<string, bool> _names = new(StringComparer.Ordinal);

    public bool IsHeld(string name) => _held.ContainsKey(name);

    /// <summary>Every lease this node runs work for (held or waiting), for the <c>teamcomms_cluster_singleton_held</c> gauge.</summary>
    public IEnumerable<string> Names => _names.Keys;

    public async Task RunAsync(string name, Func<CancellationToken, Task> work, CancellationToken stopping)
    {
        SingletonLeaseNames.Check(name);
        _names[name] = true;
        var period = options.Lease / 3;
        while (!stopping.IsCancellationRequested)
        {
            var sentAt = time.GetTimestamp();
            INatsKVStore bucket;
            ulong revision;
            try
            {
                bucket = await BucketAsync(stopping).ConfigureAwait(false);
                var claim = await bucket.TryCreateAsync(name, options.NodeId, cancellationToken: stopping).ConfigureAwait(false);
                if (!claim.Success)
                {
                    await Task.Delay(period, time, stopping).ConfigureAwait(false);
                    continue;
                }
                revision = claim.Value;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (!stopping.IsCancellationRequested)
            {
                // NATS unreachable, an election, or this node's connection gone: try again later.
                LogClaimFailed(logger, name, ex.Message);
                await DelayQuietlyAsync(period, stopping).ConfigureAwait(false);
                continue;
            }
            try
            {
                if (await HoldAsync(name, bucket, revision, sentAt, work, stopping).ConfigureAwait(false))
                {
                    return; // the work finished by itself
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Runs the work while renewing; true when the work returned by itself, false when the lease was lost or stopping.</summary>
    private async Task<bool> HoldAsync(string name, INatsKVStore bucket, ulong revision, long lastRenewSent,
        Func<CancellationToken, Task> work, CancellationToken stopping)
    {
        var period = options.Lease / 3;
        var giveUpAfter = options.Lease * 2 / 3;
        _held[name] = true;
        LogAcquired(logger, name, options.NodeId);
        using var lease = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var job = Task.Run(() => work(lease.Token), CancellationToken.None);
        var lost = false;
        try
        {
            while (!stopping.IsCancellationRequested && !job.IsCompleted)
            {
                await Task.WhenAny(job, Task.Delay(period, time, stopping)).ConfigureAwait(false);
                if (stopping.IsCancellationRequested || job.IsCompleted)
                {
                    break;
                }
                var sent = time.GetTimestamp();
                try
                {
                    using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                    attempt.CancelAfter(period);
                    revision = await bucket.UpdateAsync(name, options.NodeId, revision, cancellationToken: attempt.Token).ConfigureAwait(false);
                    lastRenewSent = sent;
                }
                catch (NatsKVWrongLastRevisionException)
                {
                    lost = true; // it expired and someone else holds it now
                    break;
                }
                catch (Exception) when (!stopping.IsCancellationRequested)
                {
                    // Renewal failed (NATS unreachable, election); the clock below decides.
                }
                if (time.GetElapsedTime(lastRenewSent) >= giveUpAfter)
                {
                    lost = true;
                    break;
                }
            }
        }
        finally
        {
            _held.TryRemove(name, out _);
            await lease.CancelAsync().ConfigureAwait(false);
            try
            {
                await job.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception ex)
            {
                LogWorkFailed(logger, name, ex);
            }
            if (lost)
            {
                LogLost(logger, name);
            }
            else
            {
                await ReleaseAsync(bucket, name, revision).ConfigureAwait(false);
            }
        }
        return !lost && !stopping.IsCancellationRequested;
    }

    /// <summary>Deletes the key (only if it is still ours), so another node takes over at once instead of after a lease.</summary>
    private async Task ReleaseAsync(INatsKVStore bucket, string name, ulong revision)
    {
        try
        {
            await bucket.DeleteAsync(name, new NatsKVDeleteOpts { Revision = revision }).AsTask()
                .WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Unreachable: the key expires one lease after the last renewal instead.
        }
    }

    /// <summary>Creates (or opens) the bucket once; a failed attempt is retried on the next call. Concurrent creation is harmless.</summary>
    private Task<INatsKVStore> BucketAsync(CancellationToken ct)
    {
        var task = _bucket;
        if (task is null || task.IsFaulted || task.IsCanceled)
        {
            task = engine.BucketAsync("leases", options.Lease, CancellationToken.None);
            _bucket = task;
        }
        return task.WaitAsync(ct);
    }

    private async Task DelayQuietlyAsync(TimeSpan delay, CancellationToken ct)
    {
        try
        {
            await Task.Delay(delay, time, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(EventId = 9501, Level = LogLevel.Information, Message = "Singleton lease {Name} taken by node {Node}: its work runs here")]
    private static partial void LogAcquired(ILogger logger, string name, string node);

    [LoggerMessage(EventId = 9502, Level = LogLevel.Warning, Message = "Singleton lease {Name} lost (not renewed in time): its work was stopped here and moves to another node")]
    private static partial void LogLost(ILogger logger, string name);

    [LoggerMessage(EventId = 9504, Level = LogLevel.Debug, Message = "Singleton lease {Name}: claim failed ({Reason}); retrying")]
    private static partial void LogClaimFailed(ILogger logger, string name, string reason);

    [LoggerMessage(EventId = 9503, Level = LogLevel.Error, Message = "Singleton work {Name} failed")]
    private static partial void LogWorkFailed(ILogger logger, string name, Exception ex);
}
