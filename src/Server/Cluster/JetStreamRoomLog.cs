using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using TeamComms.Protocol;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Cluster;

/// <summary>
/// The room log in cluster mode. <see cref="AppendAsync"/> publishes the proposal (batched with others into one sealed
/// log entry) to the JetStream log; every node, this one included, applies the log in order by feeding each proposal,
/// stamped with its place in the log and the log's timestamp, into its own <see cref="LocalRoomLog"/>. The sequencing
/// code, the storage layer and the fan-out are the single node's; only the inputs are decided by the log, so every
/// node computes the same room logs: the same seqs, timestamps, ids, chain hashes and stream positions. A proposal's
/// caller completes when this node's own apply has passed it, with the outcome the sequencer decided.
/// </summary>
internal sealed partial class JetStreamRoomLog : IRoomLog, IRowReplicator, IPositionWaiter, IAsyncDisposable, IDisposable
{
    private readonly LocalRoomLog _local;
    private readonly ClusterEngine _engine;
    private readonly ClusterKeys _keys;
    private readonly ClusterOptions _options;
    private readonly RoomStore _roomStore;
    private readonly RocksStore _store;
    private readonly ClusterAlarm _alarm;
    private readonly ILogger _logger;
    private readonly IReadOnlyList<IAppliedEntryObserver> _observers;
    private readonly Channel<Outgoing> _outgoing = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, Outgoing[]> _pending = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly string _bootId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
    private Task? _publisher;
    private Task? _applier;
    private long _appliedEntry;
    private long _streamLast;
    private volatile bool _caughtUp;
    private volatile Task _lastReplicated = Task.CompletedTask;

    public JetStreamRoomLog(LocalRoomLog local, ClusterEngine engine, ClusterKeys keys, ClusterOptions options, RoomStore roomStore,
        RocksStore store, ClusterAlarm alarm, IEnumerable<IAppliedEntryObserver> observers, ILogger<JetStreamRoomLog> logger)
    {
        _local = local;
        _engine = engine;
        _keys = keys;
        _options = options;
        _roomStore = roomStore;
        _store = store;
        _alarm = alarm;
        _observers = [.. observers];
        _logger = logger;
    }

    /// <summary>The cluster's epoch: derived from the log stream's identity, the same on every node, so resume tokens work on any node.</summary>
    public ulong Epoch { get; private set; }

    public long LastPosition => _local.LastPosition;

    /// <summary>The last log entry this node applied completely.</summary>
    public long AppliedEntry => Interlocked.Read(ref _appliedEntry);

    /// <summary>The log's last entry as last seen by this node.</summary>
    public long StreamLast => Interlocked.Read(ref _streamLast);

    /// <summary>True once this node applied everything the log held when it last looked, and the log is healthy.</summary>
    public bool CaughtUp => _caughtUp && !_alarm.Raised;

    public LocalRoomLog Local => _local;

    public Task<AppendOutcome> AppendAsync(Proposal proposal)
    {
        if (_alarm.Raised)
        {
            return Task.FromResult(AppendOutcome.Fail(ErrorCode.Unavailable, "this node stopped applying the cluster log: " + _alarm.Reason));
        }
        if (!_engine.IsConnected)
        {
            return Task.FromResult(AppendOutcome.Fail(ErrorCode.Unavailable,
                "the cluster engine (NATS) is unreachable; sends fail until it is back, reads continue"));
        }
        if (!ProposalCodec.CanEncode(proposal))
        {
            return Task.FromResult(AppendOutcome.Fail(ErrorCode.ClusterUnsupported, $"{proposal.GetType().Name} is not supported in cluster mode yet"));
        }
        proposal = Prepare(proposal);
        var outgoing = new Outgoing(proposal, ProposalCodec.ToBytes(proposal));
        if (!_outgoing.Writer.TryWrite(outgoing))
        {
            return Task.FromResult(AppendOutcome.Fail(ErrorCode.Unavailable, "the server is shutting down"));
        }
        return outgoing.Completion.Task;
    }

    public Task<T> BarrierAsync<T>(Func<long, T> action) => _local.BarrierAsync(action);

    /// <summary>Inputs the publisher decides: a new room's id (an alert's key is chosen by its proposer, from this node's key partition).</summary>
    private Proposal Prepare(Proposal proposal) => proposal switch
    {
        CreateRoomProposal { PresetRoomId: null } p => p with { PresetRoomId = Identifiers.NewRoomId(ServerName) },
        ProvisionRoomProposal { PresetRoomId: null } p => p with { PresetRoomId = Identifiers.NewRoomId(ServerName) },
        AttentionRoomProposal { PresetRoomId: null } p => p with { PresetRoomId = Identifiers.NewRoomId(ServerName) },
        _ => proposal,
    };

    internal string ServerName { get; set; } = "";

    public Task Replicate(IReadOnlyList<StagedWrite> rows)
    {
        var task = AppendAsync(new SystemProposal(default, "replica:" + _options.NodeId, [], rows));
        _lastReplicated = task;
        return task;
    }

    /// <summary>Completes when every row this node replicated so far has been applied here.</summary>
    public Task FlushReplicatedAsync() => _lastReplicated;

    public async Task<bool> WaitForPositionAsync(long position, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (_local.LastPosition < position)
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(5).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>Waits until this node applied the log entry <paramref name="entry"/> (or gives up).</summary>
    public async Task<bool> WaitForEntryAsync(long entry, TimeSpan timeout, CancellationToken ct = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (AppliedEntry < entry)
        {
            if (DateTime.UtcNow > deadline || _alarm.Raised)
            {
                return false;
            }
            await Task.Delay(2, ct).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>Stops publishing and applying, then the local sequencer (it drains its queue).</summary>
    public void Dispose()
    {
        DisposeAsync().AsTask().GetAwaiter().GetResult();
        _local.Dispose();
        _engine.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        _outgoing.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var task in new[] { _publisher, _applier })
        {
            if (task is not null)
            {
                try
                {
                    await task.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
                {
                }
            }
        }
        foreach (var (_, list) in _pending)
        {
            foreach (var o in list)
            {
                o.Completion.TrySetResult(AppendOutcome.Fail(ErrorCode.Unavailable, "the server is shutting down"));
            }
        }
        _stop.Dispose();
    }

    /// <summary>A proposal waiting to be published, and its caller.</summary>
    private sealed class Outgoing(Proposal proposal, byte[] encoded)
    {
        public Proposal Proposal { get; } = proposal;
        public byte[] Encoded { get; } = encoded;
        public TaskCompletionSource<AppendOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>Told, after this node applied a log entry's proposals, what they were (sessions revoked elsewhere, directory changes).</summary>
internal interface IAppliedEntryObserver
{
    void OnApplied(string originNode, IReadOnlyList<Proposal> proposals);
}
