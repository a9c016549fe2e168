using System.Diagnostics.Metrics;

namespace TeamComms.Server.Hosting;

/// <summary>
/// The server's own instruments, on the <c>TeamComms.Server</c> meter. Recording is lock-free and allocation-free,
/// so it is safe on the delivery path.
/// </summary>
public sealed class ServerMetrics : IDisposable
{
    public const string MeterName = "TeamComms.Server";

    private readonly Meter _meter;
    private readonly Counter<long> _messagesIn;
    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _evictions;
    private readonly Histogram<long> _batchSize;
    private readonly Histogram<double> _commitLatency;
    private readonly Histogram<double> _sendToDurable;
    private readonly Histogram<double> _durableToWritten;
    private readonly Histogram<long> _queueDepth;
    private long _connections;

    public ServerMetrics(IMeterFactory factory)
    {
        _meter = factory.Create(MeterName);
        _meter.CreateObservableGauge("teamcomms.connections", () => Volatile.Read(ref _connections), description: "Open WebSocket connections");
        _messagesIn = _meter.CreateCounter<long>("teamcomms.messages.in", description: "Events accepted into room logs");
        _deliveries = _meter.CreateCounter<long>("teamcomms.deliveries", description: "Event frames queued to connections");
        _evictions = _meter.CreateCounter<long>("teamcomms.evictions", description: "Slow connections closed with resync");
        _batchSize = _meter.CreateHistogram<long>("teamcomms.commit.batch_size", unit: "{event}", description: "Events per group commit");
        _commitLatency = _meter.CreateHistogram<double>("teamcomms.commit.duration", unit: "ms", description: "Group commit latency (write + WAL sync)");
        _sendToDurable = _meter.CreateHistogram<double>("teamcomms.send_to_durable", unit: "ms", description: "Send frame received to event durable");
        _durableToWritten = _meter.CreateHistogram<double>("teamcomms.durable_to_written", unit: "ms", description: "Event durable to first socket write containing it");
        _queueDepth = _meter.CreateHistogram<long>("teamcomms.connection.queue_bytes", unit: "By", description: "Outbound queue depth per connection write");
    }

    public void ConnectionOpened() => Interlocked.Increment(ref _connections);
    public void ConnectionClosed() => Interlocked.Decrement(ref _connections);
    public long Connections => Volatile.Read(ref _connections);

    public void RecordCommit(int events, TimeSpan latency)
    {
        _messagesIn.Add(events);
        _batchSize.Record(events);
        _commitLatency.Record(latency.TotalMilliseconds);
    }

    public void RecordDeliveries(long count) => _deliveries.Add(count);
    public void RecordEviction() => _evictions.Add(1);
    public void RecordSendToDurable(TimeSpan elapsed) => _sendToDurable.Record(elapsed.TotalMilliseconds);
    public void RecordDurableToWritten(TimeSpan elapsed) => _durableToWritten.Record(elapsed.TotalMilliseconds);
    public void RecordQueueDepth(long bytes) => _queueDepth.Record(bytes);

    public void Dispose() => _meter.Dispose();
}
