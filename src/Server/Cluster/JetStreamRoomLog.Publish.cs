using System.Diagnostics;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using TeamComms.Protocol;
using TeamComms.Server.Rooms;

namespace TeamComms.Server.Cluster;

internal sealed partial class JetStreamRoomLog
{
    /// <summary>How long a retried publish waits for its acknowledgement before it is sent again.</summary>
    internal static readonly TimeSpan RetryAttemptTimeout = TimeSpan.FromSeconds(1);

    private long _batchCounter;

    /// <summary>The highest stream sequence JetStream acknowledged to this node's publishes (the applier's stall check).</summary>
    private long _ackedSeq;

    private void NotePublished(long seq)
    {
        long seen;
        while ((seen = Interlocked.Read(ref _ackedSeq)) < seq && Interlocked.CompareExchange(ref _ackedSeq, seq, seen) != seen)
        {
        }
    }

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
                // The first attempt waits the connection's request timeout (a quorum fsync on a loaded machine can take a
                // while). A retry waits only RetryAttemptTimeout: a publish sent while the stream had no leader (an
                // election) is never answered, and waiting 3 s for that silence after each attempt delayed the first
                // publish to the new leader by up to 3 s. Re-sending sooner is safe: the message id makes JetStream
                // store the entry once and answer the repeat with the first one's sequence.
                using var attemptTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                if (attempt > 1)
                {
                    attemptTimeout.CancelAfter(RetryAttemptTimeout);
                }
                var ack = await _engine.JetStream.PublishAsync(_engine.SubjectFor(_options.NodeId), data, opts: opts, cancellationToken: attemptTimeout.Token).ConfigureAwait(false);
                ack.EnsureSuccess();
                NotePublished((long)ack.Seq);
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
