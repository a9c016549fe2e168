using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;
using TeamComms.Protocol;
using TeamComms.Server.Connections;

namespace TeamComms.Server.Cluster;

/// <summary>
/// This node's membership of the cluster:
/// <list type="bullet">
/// <item>its <b>lease</b>: a heartbeat key <c>hb.&lt;node&gt;</c> in <c>{prefix}_nodes</c> (bucket age limit = the
/// lease), renewed every third of the lease. A node that cannot renew for a whole lease stops serving — it closes its
/// clients' connections (1001, "reconnect elsewhere") and reports not-ready — until it renews again and has caught up,
/// so a node cut off from the cluster cannot keep serving a session that was revoked elsewhere;</item>
/// <item><b>confirmations</b>: on <c>{prefix}.confirm</c> it answers "applied through entry N" once it has, which is how
/// a revocation on one node waits until every live node has closed the session's connections
/// (<see cref="ConfirmEverywhereAsync"/>);</item>
/// <item><b>key sharing</b>: every few seconds it wraps the cluster's secrets to nodes that registered since.</item>
/// </list>
/// </summary>
internal sealed partial class ClusterNode : IAsyncDisposable
{
    private readonly ClusterEngine _engine;
    private readonly ClusterOptions _options;
    private readonly JetStreamRoomLog _log;
    private readonly ClusterKeys _keys;
    private readonly ConnectionRegistry _connections;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private INatsKVStore? _nodes;
    private long _lastRenewTicks = DateTime.UtcNow.Ticks;
    private volatile bool _leaseHeld = true;

    public ClusterNode(ClusterEngine engine, ClusterOptions options, JetStreamRoomLog log, ClusterKeys keys, ConnectionRegistry connections, ILogger<ClusterNode> logger)
    {
        _engine = engine;
        _options = options;
        _log = log;
        _keys = keys;
        _connections = connections;
        _logger = logger;
    }

    public bool LeaseHeld => _leaseHeld;

    /// <summary>Null when the node may serve clients, otherwise why not (for /healthz).</summary>
    public string? NotServingReason(ClusterAlarm alarm) =>
        alarm.Raised ? "alarm: " + alarm.Reason
        : !_leaseHeld ? "lost its cluster lease (NATS unreachable); reconnect to another node"
        : !_log.CaughtUp ? $"catching up with the cluster log (applied {_log.AppliedEntry} of {_log.StreamLast})"
        : null;

    public async Task StartAsync(CancellationToken ct)
    {
        _nodes = await _engine.BucketAsync("nodes", _options.Lease, ct).ConfigureAwait(false);
        await RenewAsync(ct).ConfigureAwait(false);
        var sub = await _engine.Connection.SubscribeCoreAsync<byte[]>(_engine.Subject("confirm"), cancellationToken: _stop.Token).ConfigureAwait(false);
        _loops.Add(Task.Run(() => ConfirmLoopAsync(sub, _stop.Token), CancellationToken.None));
        _loops.Add(Task.Run(() => LeaseLoopAsync(_stop.Token), CancellationToken.None));
        _loops.Add(Task.Run(() => ShareKeysLoopAsync(_stop.Token), CancellationToken.None));
    }

    private async Task RenewAsync(CancellationToken ct)
    {
        var value = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(value, _log.AppliedEntry);
        await _nodes!.PutAsync($"hb.{_options.NodeId}", value, cancellationToken: ct).ConfigureAwait(false);
        Interlocked.Exchange(ref _lastRenewTicks, DateTime.UtcNow.Ticks);
    }

    private async Task LeaseLoopAsync(CancellationToken ct)
    {
        var period = _options.Lease / 3;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(period, ct).ConfigureAwait(false);
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
                attempt.CancelAfter(period);
                await RenewAsync(attempt.Token).ConfigureAwait(false);
                if (!_leaseHeld && _log.CaughtUp)
                {
                    _leaseHeld = true;
                    LogLeaseRegained(_logger);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NatsException or OperationCanceledException or TimeoutException)
            {
                // Renewal failed; the check below decides.
            }
            var since = DateTime.UtcNow - new DateTime(Interlocked.Read(ref _lastRenewTicks), DateTimeKind.Utc);
            if (_leaseHeld && since >= _options.Lease)
            {
                _leaseHeld = false;
                LogLeaseLost(_logger, since.TotalSeconds);
                await _connections.CloseAllAsync(CloseCode.GoingAway, "this node lost contact with the cluster; reconnect to another node").ConfigureAwait(false);
            }
        }
    }

    private async Task ConfirmLoopAsync(INatsSub<byte[]> sub, CancellationToken ct)
    {
        try
        {
            await foreach (var msg in sub.Msgs.ReadAllAsync(ct).ConfigureAwait(false))
            {
                if (msg.Data is not { Length: 8 } data || msg.ReplyTo is null)
                {
                    continue;
                }
                var entry = BinaryPrimitives.ReadInt64BigEndian(data);
                _ = Task.Run(async () =>
                {
                    if (await _log.WaitForEntryAsync(entry, _options.Lease, ct).ConfigureAwait(false))
                    {
                        await msg.ReplyAsync(System.Text.Encoding.UTF8.GetBytes(_options.NodeId), cancellationToken: ct).ConfigureAwait(false);
                    }
                }, ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            await sub.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits until every live node (every node whose heartbeat is in the bucket) has applied the log through this node's
    /// last applied entry, i.e. through a revocation this node just applied; each has then closed the connections the
    /// change ends. A node that does not answer within the lease has, by then, stopped serving by its own lease.
    /// </summary>
    public async Task ConfirmEverywhereAsync(CancellationToken ct = default)
    {
        await _log.FlushReplicatedAsync().ConfigureAwait(false);
        var entry = _log.AppliedEntry;
        var live = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var key in _nodes!.GetKeysAsync(cancellationToken: ct).ConfigureAwait(false))
        {
            if (key.StartsWith("hb.", StringComparison.Ordinal))
            {
                live.Add(key[3..]);
            }
        }
        live.Remove(_options.NodeId);
        if (live.Count == 0)
        {
            return;
        }
        var payload = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(payload, entry);
        var started = DateTime.UtcNow;
        try
        {
            await foreach (var reply in _engine.Connection.RequestManyAsync<byte[], byte[]>(_engine.Subject("confirm"), payload,
                replyOpts: new NatsSubOpts { Timeout = _options.Lease, MaxMsgs = 64 }, cancellationToken: ct).ConfigureAwait(false))
            {
                if (reply.Data is { } d)
                {
                    live.Remove(System.Text.Encoding.UTF8.GetString(d));
                }
                if (live.Count == 0)
                {
                    return;
                }
            }
        }
        catch (NatsNoRespondersException)
        {
        }
        // Not every node answered: wait out the rest of the lease, after which a silent node has stopped serving.
        var rest = _options.Lease - (DateTime.UtcNow - started);
        LogUnconfirmed(_logger, string.Join(", ", live), rest.TotalSeconds);
        if (rest > TimeSpan.Zero)
        {
            await Task.Delay(rest, ct).ConfigureAwait(false);
        }
    }

    private async Task ShareKeysLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _keys.ShareWithNewNodesAsync(_keys.SecretsForSharing(), ct).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogShareFailed(_logger, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
        }
        if (_nodes is not null)
        {
            try
            {
                await _nodes.DeleteAsync($"hb.{_options.NodeId}").AsTask().WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException or OperationCanceledException)
            {
            }
        }
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 9301, Level = LogLevel.Error, Message = "Lost the cluster lease ({Seconds:F1} s without renewal): closed every client connection; not serving until renewed and caught up")]
    private static partial void LogLeaseLost(ILogger logger, double seconds);

    [LoggerMessage(EventId = 9302, Level = LogLevel.Warning, Message = "Cluster lease renewed; serving again")]
    private static partial void LogLeaseRegained(ILogger logger);

    [LoggerMessage(EventId = 9303, Level = LogLevel.Warning, Message = "Nodes {Nodes} did not confirm within the lease; waiting {Seconds:F1} s more, after which they have stopped serving")]
    private static partial void LogUnconfirmed(ILogger logger, string nodes, double seconds);

    [LoggerMessage(EventId = 9304, Level = LogLevel.Warning, Message = "Sharing cluster keys with new nodes failed: {Reason}")]
    private static partial void LogShareFailed(ILogger logger, string reason);
}
