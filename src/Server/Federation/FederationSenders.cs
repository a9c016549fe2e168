using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TeamComms.Server.Hosting;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Federation;

/// <summary>
/// One <see cref="DestinationSender"/> per destination server, created on demand and rebuilt from storage at start.
/// The senders run while this node holds the <c>federation-outbox</c> lease (<see cref="FederationHostedService"/>): on
/// a single node always; in cluster mode on exactly one node, and a node that gains the lease starts them again from
/// the durable outbox position and cursors (<see cref="Start"/>).
/// </summary>
internal sealed class FederationSenders : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, DestinationSender> _senders = new(StringComparer.Ordinal);
    private CancellationTokenSource _stop = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _started;
    private int _disposed;

    public FederationSenders(FederationStore store, EventStore events, RoomRegistry rooms, FederationClient client, ServerKeyRing keys,
        PartnerTable partners, ForwardRegistry forwards, IFederationAudit audit, TimeProvider time, IOptions<FederationOptions> options,
        ServerIdentity identity, ILogger<FederationSenders> logger)
    {
        Store = store;
        Events = events;
        Rooms = rooms;
        Client = client;
        Keys = keys;
        Partners = partners;
        Forwards = forwards;
        Audit = audit;
        Time = time;
        Options = options.Value;
        ServerName = identity.ServerName;
        Logger = logger;
        InstanceId = NewInstanceId();
        partners.Changed += server =>
        {
            if (_senders.TryGetValue(server, out var sender))
            {
                sender.OutboxChanged();
            }
        };
    }

    public FederationStore Store { get; }
    public EventStore Events { get; }
    public RoomRegistry Rooms { get; }
    public FederationClient Client { get; }
    public ServerKeyRing Keys { get; }
    public PartnerTable Partners { get; }
    public ForwardRegistry Forwards { get; }
    public IFederationAudit Audit { get; }
    public TimeProvider Time { get; }
    public FederationOptions Options { get; }
    public string ServerName { get; }
    public ILogger Logger { get; }

    /// <summary>Prefix of this run's transaction ids, so ids never repeat across restarts, lease hand-overs and nodes.</summary>
    public string InstanceId { get; private set; }

    /// <summary>
    /// Set in cluster mode: records a destination's progress (delivered outbox entries, cursors, refusals) through the
    /// cluster log, so every node applies it. Null on a single node, where the sender writes it directly.
    /// </summary>
    public Func<FederationProgressProposal, Task<AppendOutcome>>? Progress { get; set; }

    /// <summary>True while the senders run on this node (it holds the <c>federation-outbox</c> lease).</summary>
    public bool Running => _started;

    private static string NewInstanceId() => System.Buffers.Text.Base64Url.EncodeToString(Guid.NewGuid().ToByteArray().AsSpan(0, 9));

    public long Now() => Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The sender for <paramref name="destination"/>, started if new.</summary>
    public DestinationSender For(string destination)
    {
        if (_senders.TryGetValue(destination, out var existing))
        {
            return existing;
        }
        var created = new DestinationSender(destination, this);
        var sender = _senders.GetOrAdd(destination, created);
        if (ReferenceEquals(sender, created) && _started)
        {
            Start(sender);
        }
        return sender;
    }

    public DestinationSender? Find(string destination) => _senders.GetValueOrDefault(destination);

    public bool IsBackingOff(string destination) => _senders.TryGetValue(destination, out var s) && s.BackingOff;

    /// <summary>Rebuilds every outbox from storage and starts the senders.</summary>
    public void Start()
    {
        if (_started || Volatile.Read(ref _disposed) != 0)
        {
            return;
        }
        lock (_senders)
        {
            _stop.Dispose();
            _stop = new CancellationTokenSource();
            InstanceId = NewInstanceId();
        }
        foreach (var (destination, roomKey, seq) in Store.AllCursors())
        {
            if (Rooms.Get(roomKey) is { } room && room.View.Head.Seq > seq)
            {
                For(destination).MarkDirty(roomKey);
            }
        }
        foreach (var destination in Store.OutboxDestinations())
        {
            For(destination).OutboxChanged();
        }
        _started = true;
        foreach (var sender in _senders.Values)
        {
            Start(sender);
        }
    }

    private void Start(DestinationSender sender)
    {
        lock (sender)
        {
            sender.Loop ??= Task.Run(() => sender.RunAsync(_stop.Token));
        }
    }

    public IReadOnlyList<DestinationStatus> Status() =>
        [.. _senders.Values.Select(s => s.Snapshot()).OrderBy(s => s.Server, StringComparer.Ordinal)];

    /// <summary>Wakes waiters of <see cref="WaitAsync"/>.</summary>
    public void NotifyChanged() => Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Waits until <paramref name="condition"/> holds, re-checking whenever a sender's state changes.</summary>
    public async Task WaitAsync(Func<FederationSenders, bool> condition, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            var changed = Volatile.Read(ref _changed).Task;
            if (condition(this))
            {
                return;
            }
            await changed.WaitAsync(cts.Token).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Stops the senders (the lease was lost, or the server stops) and forgets their in-memory state; a later
    /// <see cref="Start"/> rebuilds it from storage. A transaction in flight may have reached its destination without
    /// its answer being recorded: the next holder sends it again, and the destination deduplicates it.
    /// </summary>
    public async Task StopAsync()
    {
        if (!_started)
        {
            return;
        }
        _started = false;
        CancellationTokenSource stop;
        lock (_senders)
        {
            stop = _stop;
        }
        await stop.CancelAsync().ConfigureAwait(false);
        foreach (var sender in _senders.Values)
        {
            if (sender.Loop is { } loop)
            {
                try
                {
                    await loop.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
        _senders.Clear();
        stop.Dispose();
        NotifyChanged();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await StopAsync().ConfigureAwait(false);
    }
}
