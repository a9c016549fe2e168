using System.Globalization;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;
using TeamComms.Protocol;
using TeamComms.Server.Federation;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Cluster;

/// <summary>
/// The cluster's one federation identity. The signing-key ring (every key with its seed and validity) is a cluster
/// secret distributed like the log key (<see cref="ClusterKeys"/>): it exists in NATS only wrapped (age) to each node's
/// X25519 public key, under a generation number — <c>fedring-&lt;g&gt;.&lt;node&gt;</c> in the <c>{prefix}_keys</c>
/// bucket, with <c>fedring-gen</c> naming the current generation. The first node creates generation 1 from its own
/// ring (so a server that becomes a cluster keeps its identity); every node adopts the current generation at start,
/// stores it sealed at rest like a single server's keys, and publishes the same keys at <c>GET /v1/federation/keys</c>.
/// A rotation on any node writes generation g+1 wrapped to every registered node, then moves <c>fedring-gen</c>; every
/// node polls the generation and adopts the new ring within <see cref="PollInterval"/>.
/// </summary>
internal sealed partial class ClusterFederationKeys(ClusterKeys keys, ClusterEngine engine, ClusterOptions options, ILogger<ClusterFederationKeys> logger)
    : IAsyncDisposable
{
    internal const string RingPrefix = "fedring";
    private const string GenerationKey = "fedring-gen";
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private readonly SemaphoreSlim _rotating = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private ServerKeyRing? _ring;
    private INatsKVStore? _bucket;
    private Task? _watch;
    private long _generation;

    /// <summary>The ring generation this node signs with.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    private static string Name(long generation) => $"{RingPrefix}-{generation.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Adopts the cluster's ring (creating it from this node's keys if this is the first node) and starts following rotations.</summary>
    public async Task OpenAsync(ServerKeyRing ring, CancellationToken ct)
    {
        _ring = ring;
        _bucket = await engine.BucketAsync("keys", TimeSpan.Zero, ct).ConfigureAwait(false);
        var generation = await ReadGenerationAsync(ct).ConfigureAwait(false);
        if (generation == 0)
        {
            var secret = await keys.ShareSecretAsync(Name(1), () => FederationRecordJson.Encode(ring.Export()), ct).ConfigureAwait(false);
            await _bucket.TryCreateAsync(GenerationKey, "1", cancellationToken: ct).ConfigureAwait(false); // someone else may have set it
            Adopt(1, secret);
        }
        else
        {
            await CatchUpAsync(generation, ct).ConfigureAwait(false);
        }
        ring.ClusterRotate = RotateAsync;
        _watch = Task.Run(() => WatchAsync(_stop.Token), CancellationToken.None);
    }

    private async Task<long> ReadGenerationAsync(CancellationToken ct)
    {
        var entry = await _bucket!.TryGetEntryAsync<string>(GenerationKey, cancellationToken: ct).ConfigureAwait(false);
        return entry.Success && long.TryParse(entry.Value.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var g) ? g : 0;
    }

    private async Task CatchUpAsync(long generation, CancellationToken ct)
    {
        // The generation is moved only after the ring is wrapped to every registered node, so this node's copy exists
        // (or a running node wraps it soon, for a node that registered after the rotation).
        var secret = await keys.ShareSecretAsync(Name(generation),
            () => throw new InvalidOperationException($"the federation key ring {generation} has no creator"), ct).ConfigureAwait(false);
        Adopt(generation, secret);
    }

    private void Adopt(long generation, byte[] secret)
    {
        var ring = FederationRecordJson.Decode<List<OwnKeyRecord>>(secret);
        _ring!.Adopt(ring);
        var previous = Interlocked.Exchange(ref _generation, generation);
        keys.ShareAlso(Name(generation), secret, previous > 0 && previous != generation ? Name(previous) : null);
        LogAdopted(logger, generation, _ring.KeyId);
    }

    /// <summary>Rotates the cluster's key: a new ring generation wrapped to every node, then adopted everywhere. Returns the new key id.</summary>
    private async Task<string> RotateAsync()
    {
        var ct = _stop.Token;
        await _rotating.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var current = await ReadGenerationAsync(ct).ConfigureAwait(false);
            if (current > Generation)
            {
                await CatchUpAsync(current, ct).ConfigureAwait(false); // rotate the newest ring, not a stale one
            }
            var next = current + 1;
            var claim = await _bucket!.TryCreateAsync($"{Name(next)}-creator", options.NodeId, cancellationToken: ct).ConfigureAwait(false);
            if (!claim.Success)
            {
                throw new ApiException(ErrorCode.Unavailable, "another node is rotating the federation key right now; try again");
            }
            var ring = _ring!.RotatedRing();
            var secret = FederationRecordJson.Encode(ring);
            await keys.ShareWithNewNodesAsync(new Dictionary<string, byte[]> { [Name(next)] = secret }, ct).ConfigureAwait(false);
            await _bucket.PutAsync(GenerationKey, next.ToString(CultureInfo.InvariantCulture), cancellationToken: ct).ConfigureAwait(false);
            Adopt(next, secret);
            return _ring.KeyId;
        }
        finally
        {
            _rotating.Release();
        }
    }

    private async Task WatchAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(PollInterval, ct).ConfigureAwait(false);
                var generation = await ReadGenerationAsync(ct).ConfigureAwait(false);
                if (generation > Generation && await _rotating.WaitAsync(0, ct).ConfigureAwait(false))
                {
                    try
                    {
                        await CatchUpAsync(generation, ct).ConfigureAwait(false);
                    }
                    finally
                    {
                        _rotating.Release();
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException or InvalidDataException or OperationCanceledException)
            {
                LogWatchFailed(logger, ex.Message); // NATS unreachable for now: the next poll tries again
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_watch is not null)
        {
            try
            {
                await _watch.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
            {
            }
        }
        _stop.Dispose();
        _rotating.Dispose();
    }

    [LoggerMessage(EventId = 9501, Level = LogLevel.Information, Message = "Federation identity: adopted the cluster's key ring generation {Generation} (current key {KeyId})")]
    private static partial void LogAdopted(ILogger logger, long generation, string keyId);

    [LoggerMessage(EventId = 9502, Level = LogLevel.Warning, Message = "Federation identity: checking for a rotated key ring failed: {Reason}")]
    private static partial void LogWatchFailed(ILogger logger, string reason);
}
