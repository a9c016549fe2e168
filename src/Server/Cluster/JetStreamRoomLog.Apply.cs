using Microsoft.Extensions.Logging;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using TeamComms.Protocol;
using TeamComms.Server.Rooms;

namespace TeamComms.Server.Cluster;

internal sealed partial class JetStreamRoomLog
{
    private const int MaxInFlight = 8192;
    private readonly Queue<Applying> _inFlight = new();
    private ClusterMetrics _metrics = null!;

    /// <summary>
    /// Opens the log: connects, creates or checks the stream, records or checks its identity (the epoch) and this node's
    /// place in it, then starts the applier and the publisher. Throws if JetStream lost entries this node applied.
    /// </summary>
    public async Task OpenAsync(ClusterMetrics metrics, CancellationToken ct)
    {
        _metrics = metrics;
        var (info, epoch) = await _engine.OpenLogAsync(ct).ConfigureAwait(false);
        await _keys.OpenAsync(ct).ConfigureAwait(false);
        var recorded = _roomStore.GetMetaLong("cluster_epoch");
        var (applied, _) = LocalRoomLog.ReadAppliedStamp(_roomStore);
        if (recorded == 0)
        {
            if (_local.LastPosition > 0 && applied == 0)
            {
                throw new ClusterStartException("this data directory holds a single node's data; a cluster node starts from an empty data directory " +
                    "or from a healthy node's checkpoint (docs/operations.md, \"Adding a node\")");
            }
            _store.Put("cluster_epoch"u8, Storage.KeyCodec.Long((long)epoch), _store.Meta);
        }
        else if ((ulong)recorded != epoch)
        {
            _alarm.Raise($"the log stream {_engine.StreamName} is not the one this node applied (epoch {(ulong)recorded:x}, now {epoch:x}): " +
                "it was deleted and recreated, so JetStream lost entries this node applied. Rebuild the stream's nodes from a healthy node's checkpoint.");
            throw new ClusterStartException(_alarm.Reason!);
        }
        Epoch = epoch;
        var last = (long)info.State.LastSeq;
        Interlocked.Exchange(ref _streamLast, last);
        if (last < applied)
        {
            _alarm.Raise($"JetStream lost data this node applied: the log ends at entry {last} but this node applied up to {applied}. " +
                "Refusing to continue; see docs/operations.md, \"When JetStream lost data\".");
            throw new ClusterStartException(_alarm.Reason!);
        }
        Interlocked.Exchange(ref _appliedEntry, applied);
        _caughtUp = last == applied;
        _applier = Task.Run(() => ApplyLoopAsync(_stop.Token), CancellationToken.None);
        _publisher = Task.Run(() => PublishLoopAsync(_stop.Token), CancellationToken.None);
    }

    private async Task ApplyLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested && !_alarm.Raised)
        {
            try
            {
                await ApplyFromDurableStampAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (StoppedApplyingException)
            {
                // A storage failure: wait for what is in flight, then re-read the durable stamp and go again.
                await DrainQuietlyAsync().ConfigureAwait(false);
                _local.ResumeStamped();
                await Task.Delay(1000, ct).ConfigureAwait(false);
            }
            catch (LogEntryFormatException ex)
            {
                await DrainQuietlyAsync().ConfigureAwait(false);
                _alarm.Raise(ex.Message);
                return;
            }
            catch (Exception ex)
            {
                LogApplyError(_logger, ex.Message);
                await DrainQuietlyAsync().ConfigureAwait(false);
                _local.ResumeStamped();
                try
                {
                    await Task.Delay(500, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task ApplyFromDurableStampAsync(CancellationToken ct)
    {
        var (entry, index) = LocalRoomLog.ReadAppliedStamp(_roomStore);
        // An entry is applied proposal by proposal; a crash between two group commits leaves it half applied, so the
        // next start re-reads it and skips the proposals at or below the durable index.
        var start = entry == 0 ? 1 : entry;
        var skipThrough = entry == 0 ? -1 : index;
        var expected = start;
        while (true)
        {
            // An ordered consumer is an ephemeral R1 consumer on one server. When that server stops answering (paused,
            // partitioned) it delivers nothing, and the client notices only after two missed idle heartbeats (about
            // 30 s by default): this node would apply nothing, and so acknowledge nothing, meanwhile. The stall check
            // recreates it from the next expected entry as soon as JetStream acknowledged one of this node's publishes
            // that has not been delivered for StallAfter.
            using var stalled = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var consumer = await _engine.JetStream.CreateOrderedConsumerAsync(_engine.StreamName, new NatsJSOrderedConsumerOpts
            {
                DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
                OptStartSeq = (ulong)expected,
            }, ct).ConfigureAwait(false);
            Interlocked.Exchange(ref _lastDelivery, System.Diagnostics.Stopwatch.GetTimestamp());
            var check = Task.Run(() => StallCheckAsync(stalled), CancellationToken.None);
            try
            {
                await ConsumeAsync(consumer, expected, entry, skipThrough, stalled.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested && stalled.IsCancellationRequested)
            {
            }
            finally
            {
                await stalled.CancelAsync().ConfigureAwait(false);
                await check.ConfigureAwait(false);
            }
            if (ct.IsCancellationRequested || _alarm.Raised)
            {
                return;
            }
            expected = Interlocked.Read(ref _consumedNext);
            if (Interlocked.Exchange(ref _stallDetected, 0) == 1)
            {
                LogConsumerStalled(_logger, expected, StallAfter.TotalSeconds);
            }
        }
    }

    /// <summary>How long an acknowledged publish of this node may stay undelivered before the consumer is recreated.</summary>
    private static readonly TimeSpan StallAfter = TimeSpan.FromSeconds(2);

    private long _lastDelivery;
    private long _consumedNext;
    private int _stallDetected;

    private async Task StallCheckAsync(CancellationTokenSource stalled)
    {
        try
        {
            while (!stalled.IsCancellationRequested)
            {
                await Task.Delay(250, stalled.Token).ConfigureAwait(false);
                var quiet = System.Diagnostics.Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastDelivery));
                if (Interlocked.Read(ref _ackedSeq) >= Interlocked.Read(ref _consumedNext) && quiet > StallAfter)
                {
                    Interlocked.Exchange(ref _stallDetected, 1);
                    await stalled.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Applies what the consumer delivers, in stream order, keeping <see cref="_consumedNext"/> (the next entry expected)
    /// for a recreated consumer. Returns when an alarm stopped applying or <paramref name="ct"/> ended the consumer.
    /// </summary>
    private async Task ConsumeAsync(INatsJSConsumer consumer, long expected, long entry, int skipThrough, CancellationToken ct)
    {
        Interlocked.Exchange(ref _consumedNext, expected);
        await foreach (var msg in consumer.ConsumeAsync<byte[]>(cancellationToken: ct).ConfigureAwait(false))
        {
            Interlocked.Exchange(ref _lastDelivery, System.Diagnostics.Stopwatch.GetTimestamp());
            var meta = msg.Metadata ?? throw new InvalidOperationException("a JetStream message without metadata");
            var seq = (long)meta.Sequence.Stream;
            if (seq < expected)
            {
                continue; // redelivered after a consumer reset
            }
            if (seq > expected)
            {
                await DrainInFlightAsync().ConfigureAwait(false);
                _alarm.Raise(expected == 1 && entry == 0
                    ? $"the log no longer holds its first entries (it starts at {seq}); a new node joins from a healthy node's checkpoint, not from the log"
                    : $"JetStream lost log entries {expected}..{seq - 1} (or they aged out) before this node applied them; rebuild this node from a healthy node's checkpoint");
                return;
            }
            expected = seq + 1;
            Interlocked.Exchange(ref _consumedNext, expected);
            var data = msg.Data ?? [];
            ApplyEntry(seq, meta.Timestamp.ToUnixTimeMilliseconds(), data, seq == entry ? skipThrough : -1);
            var last = Math.Max(seq + (long)meta.NumPending, Interlocked.Read(ref _streamLast));
            Interlocked.Exchange(ref _streamLast, last);
            while (_inFlight.Count > MaxInFlight || (_inFlight.Count > 0 && _inFlight.Peek().Task.IsCompleted))
            {
                await CompleteOldestAsync().ConfigureAwait(false);
            }
            if (meta.NumPending == 0)
            {
                await DrainInFlightAsync().ConfigureAwait(false);
                _caughtUp = AppliedEntry >= Interlocked.Read(ref _streamLast);
            }
        }
    }

    private void ApplyEntry(long seq, long timestampMs, byte[] data, int skipThrough)
    {
        var entry = LogEntry.Open(data, _keys.Find);
        Outgoing[]? mine = null;
        if (entry.Node == _options.NodeId)
        {
            _pending.TryRemove(entry.Batch, out mine);
        }
        var count = entry.Proposals.Count;
        if (count == 0 || skipThrough >= count - 1)
        {
            _inFlight.Enqueue(new Applying(seq, true, Task.FromResult(AppendOutcome.Fail(ErrorCode.Unavailable, "")), null, entry.Node, null));
            return;
        }
        for (var i = 0; i <= skipThrough; i++)
        {
            mine?[i].Completion.TrySetResult(AppendOutcome.Fail(ErrorCode.Unavailable, "applied before this node restarted"));
        }
        for (var i = Math.Max(0, skipThrough + 1); i < count; i++)
        {
            // This node's own proposals are applied as the original objects (they carry the connection that gets the
            // Ack with the event); everyone else's as decoded from the entry. Both are the same data.
            var original = mine is not null && i < mine.Length ? mine[i].Proposal : entry.Proposals[i];
            var stamped = original with { Stamp = new LogStamp(seq, i, timestampMs) };
            var task = _local.AppendAsync(stamped);
            _inFlight.Enqueue(new Applying(seq, i == count - 1, task, mine is not null && i < mine.Length ? mine[i] : null,
                entry.Node, i == count - 1 ? entry.Proposals : null));
        }
        _metrics.Applied(count);
    }

    private async Task CompleteOldestAsync()
    {
        var item = _inFlight.Dequeue();
        var outcome = await item.Task.ConfigureAwait(false);
        if (outcome.Error is ErrorCode.StorageUnavailable or ErrorCode.StorageFull or ErrorCode.Internal && _local.StampedHalted)
        {
            item.Caller?.Completion.TrySetResult(AppendOutcome.Fail(outcome.Error.Value,
                "this node's storage failed while applying the send; it is in the cluster log and appears once the node recovers"));
            _metrics.ApplyFailed();
            throw new StoppedApplyingException();
        }
        item.Caller?.Completion.TrySetResult(outcome);
        if (item.LastOfEntry)
        {
            Interlocked.Exchange(ref _appliedEntry, item.Entry);
            if (item.Proposals is { } proposals)
            {
                foreach (var observer in _observers)
                {
                    try
                    {
                        observer.OnApplied(item.Node, proposals);
                    }
                    catch (Exception ex)
                    {
                        LogObserverFailed(_logger, ex);
                    }
                }
            }
        }
    }

    private async Task DrainInFlightAsync()
    {
        StoppedApplyingException? stopped = null;
        while (_inFlight.Count > 0)
        {
            try
            {
                await CompleteOldestAsync().ConfigureAwait(false);
            }
            catch (StoppedApplyingException ex)
            {
                stopped ??= ex;
            }
        }
        if (stopped is not null)
        {
            throw stopped;
        }
    }

    private async Task DrainQuietlyAsync()
    {
        try
        {
            await DrainInFlightAsync().ConfigureAwait(false);
        }
        catch (StoppedApplyingException)
        {
        }
    }

    private sealed record Applying(long Entry, bool LastOfEntry, Task<AppendOutcome> Task, Outgoing? Caller, string Node, IReadOnlyList<Proposal>? Proposals);

    private sealed class StoppedApplyingException : Exception;

    [LoggerMessage(EventId = 9202, Level = LogLevel.Error, Message = "Applying the cluster log failed; retrying from the last durable entry: {Reason}")]
    private static partial void LogApplyError(ILogger logger, string reason);

    [LoggerMessage(EventId = 9204, Level = LogLevel.Warning, Message = "The log consumer delivered nothing for {Seconds} s while this node's publishes were acknowledged (its server may be paused); recreating it from entry {Next}")]
    private static partial void LogConsumerStalled(ILogger logger, long next, double seconds);

    [LoggerMessage(EventId = 9203, Level = LogLevel.Error, Message = "An observer of applied log entries failed")]
    private static partial void LogObserverFailed(ILogger logger, Exception ex);
}

/// <summary>Cluster mode cannot start; the message says why and what to do.</summary>
internal sealed class ClusterStartException(string message) : Exception(message);
