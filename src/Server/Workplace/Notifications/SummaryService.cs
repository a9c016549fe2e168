using Microsoft.Extensions.Logging;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;
using TeamComms.Server.Connections;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;
using TeamComms.Server.Workplace.Push;

namespace TeamComms.Server.Workplace.Notifications;

/// <summary>
/// The summary at the start of each working period (and at the end of a snooze inside working hours): per room, how
/// many messages arrived while notifications were quiet and are still unread. Sent as Notify frames
/// <c>[72, room, head seq, true, "summary", count]</c> to the person's live devices and as one push to the others.
/// Scheduled on the injected clock for people with a live device or a push endpoint.
/// </summary>
internal sealed partial class SummaryService : IDisposable
{
    private readonly AttentionService _attention;
    private readonly RoomStore _roomStore;
    private readonly RoomRegistry _rooms;
    private readonly EventStore _events;
    private readonly ConnectionRegistry _connections;
    private readonly PushService _push;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly DueQueue<Due> _queue;
    private readonly Dictionary<long, long> _nextStart = [];
    private readonly Dictionary<long, long> _snoozeEnd = [];
    private readonly Lock _lock = new();

    public SummaryService(AttentionService attention, RoomStore roomStore, RoomRegistry rooms, EventStore events, ConnectionRegistry connections,
        PushService push, TimeProvider time, ILogger<SummaryService> logger)
    {
        _attention = attention;
        _roomStore = roomStore;
        _rooms = rooms;
        _events = events;
        _connections = connections;
        _push = push;
        _time = time;
        _logger = logger;
        _queue = new DueQueue<Due>(time, OnDue, ex => LogSummaryFault(logger, ex));
        attention.Activated += Ensure;
    }

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Makes sure the person's next working-period start (and the end of a snooze) is scheduled.</summary>
    public void Ensure(UserAttention user)
    {
        var now = Now;
        var start = user.Schedule.NextStart(now);
        var settings = user.Settings;
        lock (_lock)
        {
            if (start != long.MaxValue && (!_nextStart.TryGetValue(user.UserKey, out var scheduled) || scheduled != start))
            {
                _nextStart[user.UserKey] = start;
                _queue.Schedule(new Due(user.UserKey, user.UserId, start, false), start);
            }
            if (settings.SnoozeUntil > now && (!_snoozeEnd.TryGetValue(user.UserKey, out var end) || end != settings.SnoozeUntil))
            {
                _snoozeEnd[user.UserKey] = settings.SnoozeUntil;
                _queue.Schedule(new Due(user.UserKey, user.UserId, settings.SnoozeUntil, true), settings.SnoozeUntil);
            }
        }
    }

    private void OnDue(Due due, long now)
    {
        var user = _attention.Get(due.UserKey, due.UserId);
        var settings = user.Settings;
        long since;
        if (due.SnoozeEnd)
        {
            lock (_lock)
            {
                if (!_snoozeEnd.TryGetValue(due.UserKey, out var end) || end != due.At)
                {
                    return;
                }
                _snoozeEnd.Remove(due.UserKey);
            }
            // Only the end of the current snooze, and only inside working hours (otherwise the next start covers it).
            if (settings.SnoozeUntil != due.At || !user.Schedule.IsWorking(now))
            {
                return;
            }
            since = settings.SnoozeStart;
        }
        else
        {
            lock (_lock)
            {
                if (!_nextStart.TryGetValue(due.UserKey, out var scheduled) || scheduled != due.At)
                {
                    return; // replaced by a later schedule
                }
                _nextStart.Remove(due.UserKey);
            }
            since = SummaryStart(user, due.At);
        }
        var hasDevices = _connections.ForUser(due.UserKey).Count > 0 || _push.HasDevices(due.UserKey);
        if (!due.SnoozeEnd && hasDevices)
        {
            Ensure(user); // the next working period's summary
        }
        if (settings.SnoozeUntil > now)
        {
            return; // still snoozed: the snooze's end sends it
        }
        var rooms = Compute(due.UserKey, since);
        if (rooms.Count > 0)
        {
            Deliver(due.UserKey, rooms);
        }
    }

    /// <summary>Where the quiet period before a working-period start began: the previous end, or an earlier snooze that ran into it.</summary>
    public static long SummaryStart(UserAttention user, long workStart)
    {
        var since = user.Schedule.PreviousEnd(workStart);
        var s = user.Settings;
        if (s.SnoozeStart > 0 && s.SnoozeStart < since && s.SnoozeUntil > since)
        {
            since = s.SnoozeStart;
        }
        return since == long.MinValue ? workStart - (long)TimeSpan.FromDays(1).TotalMilliseconds : since;
    }

    /// <summary>Per room, unread messages that arrived at or after <paramref name="since"/>.</summary>
    public List<(string RoomId, long HeadSeq, long Count)> Compute(long userKey, long since)
    {
        var result = new List<(string, long, long)>();
        foreach (var (roomKey, row) in _roomStore.UserRooms(userKey))
        {
            if (row.Membership != Membership.Join || _rooms.Get(roomKey) is not { } room)
            {
                continue;
            }
            var head = room.View.Head;
            if (head.Timestamp < since || head.Seq == 0)
            {
                continue;
            }
            var first = FirstSeqAtOrAfter(roomKey, head.Seq, since);
            var marker = _roomStore.ReadMarker(userKey, roomKey) ?? 0;
            var from = Math.Max(marker, first - 1);
            if (from >= head.Seq)
            {
                continue;
            }
            var before = from > 0 && _events.TryGet(roomKey, from, out var at) ? at.MessageCount : 0;
            var count = head.MessageCount - before;
            if (count > 0)
            {
                result.Add((room.RoomId, head.Seq, count));
            }
        }
        return result;
    }

    private long FirstSeqAtOrAfter(long roomKey, long headSeq, long ts)
    {
        long lo = 1, hi = headSeq;
        while (lo < hi)
        {
            var mid = lo + (hi - lo) / 2;
            if (_events.TryGet(roomKey, mid, out var e) && EventCodec.Read(e.Wire).Timestamp < ts)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }

    private void Deliver(long userKey, List<(string RoomId, long HeadSeq, long Count)> rooms)
    {
        foreach (var connection in _connections.ForUser(userKey))
        {
            foreach (var (roomId, seq, count) in rooms)
            {
                connection.SendControl(ServerFrameWriter.ToArray(b => ServerFrameWriter.WriteNotify(b, roomId, seq, true, NotifyReasons.Summary, count)));
            }
        }
        _push.Push(new PushNotification(userKey, NotifyReasons.Summary, false)
        {
            Summary = rooms.Select(r => (r.RoomId, r.Count)).ToList(),
            OfflineOnly = true,
        });
        LogSummary(_logger, userKey, rooms.Count);
    }

    public void Dispose() => _queue.Dispose();

    private readonly record struct Due(long UserKey, string UserId, long At, bool SnoozeEnd);

    [LoggerMessage(EventId = 9201, Level = LogLevel.Error, Message = "Summary fault")]
    private static partial void LogSummaryFault(ILogger logger, Exception ex);

    [LoggerMessage(EventId = 9202, Level = LogLevel.Debug, Message = "Summary for user {UserKey}: {Rooms} rooms")]
    private static partial void LogSummary(ILogger logger, long userKey, int rooms);
}
