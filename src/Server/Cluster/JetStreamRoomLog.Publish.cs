using System.Diagnostics;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using TeamComms.Protocol;
using TeamComms.Server.Rooms;

namespace TeamComms.Server.Cluster;

internal sealed partial class JetStreamRoomLog
{
    private long _batchCounter;

    /// <summary>
    /// One publish in flight per node: while it waits for its acknowledgement (a quorum fsync with
    /// <c>sync_interval: always</c>), the next entry fills up — group commit, one level up. Each entry has a message id
    /// (<c>node-boot-counter</c>), so a retry through an election is stored once inside the duplicate window.
    /// </summary>
    private async Task PublishLoopAsync(CancellationToken ct)
    {
        var reader = _outgoing.Reader;
        var batch = new List<Outgoing>(256);
        while (await reader.WaitToReadAsync(ct).ConfigureAwait(false))
        {
            if (_options.PublishDelay > TimeSpan.Zero)
            {
                await Task.Delay(_options.PublishDelay, ct).ConfigureAwait(false);
            }
            var bytes = 0;
            while (bytes < _options.MaxEntryBytes && reader.TryRead(out var next))
            {
                batch.Add(next);
                bytes += next.Encoded.Length + 8;
            }
            if (batch.Count == 0)
            {
                continue;
            }
            var items = batch.ToArray();
            batch.Clear();
            await PublishEntryAsync(items, ct).ConfigureAwait(false);
        }
    }

    private async Task PublishEntryAsync(Outgoing[] items, CancellationToken ct)
    {
        var batchId = $"{_bootId}-{++_batchCounter}";
        var data = LogEntry.SealEncoded(_options.NodeId, batchId, _keys.CurrentKeyId, _keys.Current, items.Select(o => o.Encoded).ToList());
        _pending[batchId] = items;
        var opts = new NatsJSPubOpts { MsgId = $"{_options.NodeId}-{batchId}" };
        var started = Stopwatch.GetTimestamp();
        var attempt = 0;
        ClusterFaults.Hit(_options, "before-publish");
        while (true)
        {
            attempt++;
            try
            {
                if (!_engine.IsConnected && attempt == 1)
                {
                    throw new NatsNoRespondersException();
                }
                var ack = await _engine.JetStream.PublishAsync(_engine.SubjectFor(_options.NodeId), data, opts: opts, cancellationToken: ct).ConfigureAwait(false);
                ack.EnsureSuccess();
                _metrics.Published(items.Length, data.Length, Stopwatch.GetElapsedTime(started));
                ClusterFaults.Hit(_options, "after-publish");
                return;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException or OperationCanceledException)
            {
                var elapsed = Stopwatch.GetElapsedTime(started);
                // Fail fast when NATS is unreachable; ride out an election (no stream leader) for the retry window.
                var unreachable = !_engine.IsConnected && elapsed > TimeSpan.FromSeconds(1);
                if (unreachable || elapsed > _options.PublishRetryWindow)
                {
                    LogPublishFailed(_logger, items.Length, attempt, ex.Message);
                    _metrics.PublishFailed(items.Length);
                    if (_pending.TryRemove(batchId, out var failed))
                    {
                        foreach (var o in failed)
                        {
                            o.Completion.TrySetResult(AppendOutcome.Fail(ErrorCode.Unavailable, unreachable
                                ? "the cluster engine (NATS) is unreachable; sends fail until it is back, reads continue. If it was stored after all, retrying with the same transaction id returns it"
                                : "the cluster log did not confirm the send in time; retry with the same transaction id"));
                        }
                    }
                    return;
                }
                await Task.Delay(attempt < 10 ? 50 : 250, ct).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(EventId = 9201, Level = LogLevel.Warning, Message = "Publishing a log entry of {Count} proposals failed after {Attempts} attempts: {Reason}")]
    private static partial void LogPublishFailed(ILogger logger, int count, int attempts, string reason);
}
