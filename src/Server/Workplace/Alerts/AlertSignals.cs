using System.Collections.Concurrent;
using System.Threading.Channels;
using TeamComms.Server.Accounts;
using TeamComms.Server.Connections;
using TeamComms.Server.Rooms;

namespace TeamComms.Server.Workplace.Alerts;

/// <summary>
/// Where the acknowledgement view learns delivery and read times: devices' Received confirmations (from connection
/// readers) and read markers that moved (from the room log, after each commit). Both are filtered here by two set
/// lookups against the people and rooms of open alerts, and the few that matter are queued for <see cref="AlertService"/>,
/// so the room log and the readers never wait. Depends on nothing that appends to the room log.
/// </summary>
internal sealed class AlertSignals : ICommitSink, IDeliveryObserver
{
    private readonly Channel<Signal> _signals = Channel.CreateUnbounded<Signal>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>People with an open alert not yet marked delivered, by user key (maintained by the alert service).</summary>
    public ConcurrentDictionary<long, byte> WatchedUsers { get; } = new();

    /// <summary>Rooms with an open alert, by room key.</summary>
    public ConcurrentDictionary<long, byte> WatchedRooms { get; } = new();

    public ChannelReader<Signal> Reader => _signals.Reader;

    public void OnCommitted(IReadOnlyList<CommittedEvent> batch)
    {
    }

    public void OnReadMarkers(IReadOnlyDictionary<(long User, long Room), long> markers)
    {
        if (WatchedRooms.IsEmpty)
        {
            return;
        }
        foreach (var ((user, room), seq) in markers)
        {
            if (WatchedRooms.ContainsKey(room))
            {
                _signals.Writer.TryWrite(new Signal(user, room, seq, 0));
            }
        }
    }

    public void OnReceived(AuthenticatedSession session, long position)
    {
        if (WatchedUsers.ContainsKey(session.UserKey))
        {
            _signals.Writer.TryWrite(new Signal(session.UserKey, 0, 0, position));
        }
    }

    public void Complete() => _signals.Writer.TryComplete();

    /// <summary>A read marker (<paramref name="RoomKey"/> and <paramref name="Seq"/>) or a delivery confirmation (<paramref name="Position"/>).</summary>
    internal readonly record struct Signal(long UserKey, long RoomKey, long Seq, long Position);
}
