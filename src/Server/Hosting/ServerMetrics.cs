using System.Diagnostics.Metrics;

namespace TeamComms.Server.Hosting;

/// <summary>
/// The server's own instruments, on the <c>TeamComms.Server</c> meter. Recording is lock-free and allocation-free,
/// so it is safe on the delivery path. Counters are plain interlocked fields read by observable instruments: an
/// increment costs one atomic add whether or not anything listens, and every counter is exported from the start
/// (an eviction counter that reads 0 is information, a missing one is not). /metrics exports all of them in the
/// Prometheus text format (see <see cref="MetricsEndpoint"/> and docs/operations.md).
/// </summary>
public sealed class ServerMetrics : IDisposable
{
    public const string MeterName = "TeamComms.Server";

    private readonly Meter _meter;
    private readonly Histogram<long> _batchSize;
    private readonly Histogram<double> _commitLatency;
    private readonly Histogram<double> _sendToDurable;
    private readonly Histogram<double> _durableToWritten;
    private readonly Histogram<long> _queueDepth;
    private long _connections;
    private long _messagesIn;
    private long _deliveries;
    private long _evictions;
    private long _writes;

    public ServerMetrics(IMeterFactory factory)
    {
        _meter = factory.Create(MeterName);
        _meter.CreateObservableGauge("teamcomms.connections", () => Volatile.Read(ref _connections), unit: "{connection}", description: "Open WebSocket connections");
        _meter.CreateObservableCounter("teamcomms.messages.in", () => Volatile.Read(ref _messagesIn), unit: "{event}", description: "Events appended to room logs (durable)");
        _meter.CreateObservableCounter("teamcomms.deliveries", () => Volatile.Read(ref _deliveries), unit: "{delivery}", description: "Event frames queued to connections");
        _meter.CreateObservableCounter("teamcomms.evictions", () => Volatile.Read(ref _evictions), unit: "{connection}", description: "Slow connections closed with resync (4003)");
        _meter.CreateObservableCounter("teamcomms.socket.writes", () => Volatile.Read(ref _writes), unit: "{write}", description: "Coalesced WebSocket writes");
        _batchSize = _meter.CreateHistogram<long>("teamcomms.commit.batch_size", unit: "{event}", description: "Events per group commit");
        _commitLatency = _meter.CreateHistogram<double>("teamcomms.commit.duration", unit: "ms", description: "Group commit latency (write + WAL sync)");
        _sendToDurable = _meter.CreateHistogram<double>("teamcomms.send_to_durable", unit: "ms", description: "Send frame received to event durable");
        _durableToWritten = _meter.CreateHistogram<double>("teamcomms.durable_to_written", unit: "ms", description: "Event durable to the socket write containing it completed (oldest event of each write)");
        _queueDepth = _meter.CreateHistogram<long>("teamcomms.connection.queue_bytes", unit: "By", description: "Outbound queue depth of a connection when its writer drains it");
    }

    public void ConnectionOpened() => Interlocked.Increment(ref _connections);
    public void ConnectionClosed() => Interlocked.Decrement(ref _connections);
    public long Connections => Volatile.Read(ref _connections);
    public long MessagesIn => Volatile.Read(ref _messagesIn);
    public long Deliveries => Volatile.Read(ref _deliveries);
    public long Evictions => Volatile.Read(ref _evictions);

    public void RecordCommit(int events, TimeSpan latency)
    {
        Interlocked.Add(ref _messagesIn, events);
        _batchSize.Record(events);
        _commitLatency.Record(latency.TotalMilliseconds);
    }

    public void RecordDeliveries(long count) => Interlocked.Add(ref _deliveries, count);
    public void RecordEviction() => Interlocked.Increment(ref _evictions);
    public void RecordSendToDurable(TimeSpan elapsed) => _sendToDurable.Record(elapsed.TotalMilliseconds);
    public void RecordDurableToWritten(TimeSpan elapsed) => _durableToWritten.Record(elapsed.TotalMilliseconds);

    /// <summary>One coalesced write, and the queue depth its writer found.</summary>
    public void RecordWrite(long queuedBytes)
    {
        Interlocked.Increment(ref _writes);
        _queueDepth.Record(queuedBytes);
    }

    public void Dispose() => _meter.Dispose();
}
