using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;
using TeamComms.Server.Connections;
using TeamComms.Server.Hosting;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.FanOut;

/// <summary>
/// Live delivery. One dispatcher thread receives committed batches from the room log in position order and hands
/// each event's frame, serialized once, to the outbound queue of every subscribed connection. The loop over
/// recipients copies a reference and never awaits a recipient: a slow connection overflows its own queue and is
/// evicted. Subscriptions (room → connections, user → connections) are owned by this thread alone, and change in
/// the same order as the membership events that cause them.
/// </summary>
internal sealed partial class FanOutHub : ICommitSink, IDisposable
{
    private readonly BlockingCollection<Work> _work = new(new ConcurrentQueue<Work>());
    private readonly Dictionary<long, ConnectionSet> _rooms = [];
    private readonly Dictionary<string, ConnectionSet> _users = new(StringComparer.Ordinal);
    // Connections whose writer was idle when this batch reached them; started once the whole batch is queued.
    private readonly List<ClientConnection> _ready = [];
    private readonly ServerMetrics _metrics;
    private readonly ILogger _logger;
    private readonly IAttentionSource? _attention;
    private readonly Thread _thread;

    public FanOutHub(ServerMetrics metrics, ILogger<FanOutHub> logger, IAttentionSource? attention = null)
    {
        _metrics = metrics;
        _logger = logger;
        _attention = attention;
        _thread = new Thread(Run) { IsBackground = true, Name = "teamcomms-fanout" };
        _thread.Start();
    }

    /// <summary>Called by the room log, in order, after each durable batch.</summary>
    public void OnCommitted(IReadOnlyList<CommittedEvent> batch) => Post(new Work(batch, null, null, 0));

    /// <summary>
    /// Subscribes a connection to the rooms its user has joined. Must be called from a room-log barrier, so that it
    /// takes effect exactly between the batches at or below <paramref name="lastPos"/> and those above it.
    /// </summary>
    public void Register(ClientConnection connection, List<(long RoomKey, UserRoomRecord Record)> rows, long lastPos) =>
        Post(new Work(null, connection, rows, lastPos));

    public void Unregister(ClientConnection connection) => Post(new Work(null, connection, null, -1));

    /// <summary>
    /// Delivers a room's live events to a connection that is not a member (an anonymous reporter following their incident
    /// room), from the next batch on, until the connection closes. Nothing of it is stored.
    /// </summary>
    public void Watch(ClientConnection connection, long roomKey) => Post(new Work(null, connection, null, 0) { WatchRoom = roomKey });

    private void Post(Work work)
    {
        try
        {
            _work.Add(work);
        }
        catch (InvalidOperationException)
        {
            // shutting down
        }
    }

    public void Dispose()
    {
        _work.CompleteAdding();
        _thread.Join(TimeSpan.FromSeconds(10));
    }

    private void Run()
    {
        foreach (var work in _work.GetConsumingEnumerable())
        {
            try
            {
                if (work.Batch is not null)
                {
                    Dispatch(work.Batch);
                }
                else if (work.Rows is not null)
                {
                    Subscribe(work.Connection!, work.Rows);
                }
                else if (work.WatchRoom != 0)
                {
                    // Watch and Unregister are queued in order and a connection is closing before it unregisters.
                    if (!work.Connection!.IsClosing)
                    {
                        AddToRoom(work.Connection, work.WatchRoom);
                    }
                }
                else
                {
                    Unsubscribe(work.Connection!);
                }
            }
            catch (Exception ex)
            {
                LogDispatchFault(_logger, ex);
            }
        }
    }

    /// <summary>Queues a committed batch to its recipients and starts their writers (internal for the fan-out benchmark).</summary>
    internal void Dispatch(IReadOnlyList<CommittedEvent> batch)
    {
        try
        {
            Queue(batch);
        }
        finally
        {
            // Even after a fault: a connection marked "writer active" must get its writer.
            foreach (var connection in _ready)
            {
                connection.StartWriterAfterBatch();
            }
            _ready.Clear();
        }
    }

    private void Queue(IReadOnlyList<CommittedEvent> batch)
    {
        long deliveries = 0;
        foreach (var ev in batch)
        {
            var change = ev.Membership;
            if (change is { Membership: Membership.Join })
            {
                SubscribeUser(change.UserId, ev.RoomKey, ev.RoomId);
            }
            if (ev.AckTarget is ClientConnection proposer)
            {
                // The Ack goes just before the event on the sender's connection: one write carries both.
                if (proposer.DeliverDeferred(ControlFrames.Ack(ev.AckRequestId, ev.RoomId, ev.Seq, ev.Id, ev.Timestamp), 0, 0))
                {
                    _ready.Add(proposer);
                }
            }
            if (_rooms.TryGetValue(ev.RoomKey, out var set) && _attention is not null && EventTypes.CountsAsUnread(ev.Type))
            {
                QueueNotifiable(ev, set);
                deliveries += set.Count;
            }
            else if (set is not null)
            {
                var frame = ev.Frame;
                var pos = ev.Pos;
                var stamp = ev.DurableTimestamp;
                foreach (var connection in set.Items)
                {
                    if (connection.DeliverDeferred(frame, pos, stamp))
                    {
                        _ready.Add(connection);
                    }
                }
                deliveries += set.Count;
            }
            if (change is not null && _users.TryGetValue(change.UserId, out var userConnections))
            {
                if (change.Membership == Membership.Invite)
                {
                    // The invitee is not subscribed yet but must learn about the invitation.
                    foreach (var connection in userConnections.Items)
                    {
                        if (!connection.SubscribedRooms.Contains(ev.RoomKey) && connection.Accepts(ev.RoomId))
                        {
                            if (connection.DeliverDeferred(ev.Frame, ev.Pos, ev.DurableTimestamp))
                            {
                                _ready.Add(connection);
                            }
                            deliveries++;
                        }
                    }
                }
                else if (change.Membership == Membership.Leave)
                {
                    foreach (var connection in userConnections.Items)
                    {
                        if (connection.SubscribedRooms.Remove(ev.RoomKey) && _rooms.TryGetValue(ev.RoomKey, out var roomSet))
                        {
                            roomSet.Remove(connection);
                        }
                    }
                }
            }
        }
        _metrics.RecordDeliveries(deliveries);
    }

    /// <summary>
    /// A message-like event: each recipient's device also learns whether to notify. A Notify frame goes just before the
    /// event only when the decision is not the default (quiet hours, snoozed, urgent), and its bytes are built once per
    /// event and decision, so recipients that need no Notify cost exactly what they cost before.
    /// </summary>
    private void QueueNotifiable(CommittedEvent ev, ConnectionSet set)
    {
        var frame = ev.Frame;
        var pos = ev.Pos;
        var stamp = ev.DurableTimestamp;
        var notices = default(NotifyFrames);
        foreach (var connection in set.Items)
        {
            var decision = ev.Urgent ? NotifyDecision.Urgent : connection.Attention?.Decide(ev.Timestamp) ?? NotifyDecision.Default;
            // Position 0: the Notify must not advance the resume token past an event not yet written.
            if (decision != NotifyDecision.Default && !string.Equals(connection.Session.UserId, ev.Sender, StringComparison.Ordinal)
                && connection.DeliverDeferred(notices.For(ev, decision), 0, 0))
            {
                _ready.Add(connection);
            }
            if (connection.DeliverDeferred(frame, pos, stamp))
            {
                _ready.Add(connection);
            }
        }
    }

    /// <summary>The Notify frames of one event, built on first use: at most one allocation per event and decision.</summary>
    private struct NotifyFrames
    {
        private byte[]? _quiet;
        private byte[]? _snoozed;
        private byte[]? _urgent;

        public byte[] For(CommittedEvent ev, NotifyDecision decision) => decision switch
        {
            NotifyDecision.QuietHours => _quiet ??= Build(ev, false, NotifyReasons.QuietHours),
            NotifyDecision.Snoozed => _snoozed ??= Build(ev, false, NotifyReasons.Snoozed),
            _ => _urgent ??= Build(ev, true, NotifyReasons.Urgent),
        };

        private static byte[] Build(CommittedEvent ev, bool notify, string reason) =>
            ServerFrameWriter.ToArray(b => ServerFrameWriter.WriteNotify(b, ev.RoomId, ev.Seq, notify, reason));
    }

    private void SubscribeUser(string userId, long roomKey, string roomId)
    {
        if (!_users.TryGetValue(userId, out var connections))
        {
            return;
        }
        foreach (var connection in connections.Items)
        {
            if (connection.Accepts(roomId))
            {
                AddToRoom(connection, roomKey);
            }
        }
    }

    private void Subscribe(ClientConnection connection, List<(long RoomKey, UserRoomRecord Record)> rows)
    {
        if (connection.IsClosing)
        {
            return;
        }
        if (!_users.TryGetValue(connection.Session.UserId, out var userSet))
        {
            _users[connection.Session.UserId] = userSet = new ConnectionSet();
        }
        userSet.Add(connection);
        connection.Attention ??= _attention?.For(connection.Session);
        foreach (var (roomKey, record) in rows)
        {
            if (record.Membership == Membership.Join && (connection.RoomFilter is null || connection.RoomKeyAccepted(roomKey)))
            {
                AddToRoom(connection, roomKey);
            }
        }
    }

    private void AddToRoom(ClientConnection connection, long roomKey)
    {
        if (!connection.SubscribedRooms.Add(roomKey))
        {
            return;
        }
        if (!_rooms.TryGetValue(roomKey, out var set))
        {
            _rooms[roomKey] = set = new ConnectionSet();
        }
        set.Add(connection);
    }

    private void Unsubscribe(ClientConnection connection)
    {
        foreach (var roomKey in connection.SubscribedRooms)
        {
            if (_rooms.TryGetValue(roomKey, out var set))
            {
                set.Remove(connection);
                if (set.Count == 0)
                {
                    _rooms.Remove(roomKey);
                }
            }
        }
        connection.SubscribedRooms.Clear();
        if (_users.TryGetValue(connection.Session.UserId, out var userSet))
        {
            userSet.Remove(connection);
            if (userSet.Count == 0)
            {
                _users.Remove(connection.Session.UserId);
            }
        }
    }

    private readonly record struct Work(IReadOnlyList<CommittedEvent>? Batch, ClientConnection? Connection,
        List<(long RoomKey, UserRoomRecord Record)>? Rows, long LastPos)
    {
        public long WatchRoom { get; init; }
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Error, Message = "Fan-out fault")]
    private static partial void LogDispatchFault(ILogger logger, Exception ex);
}
