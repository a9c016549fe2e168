using System.Buffers;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Connections;

internal sealed partial class ClientConnection
{
    /// <summary>
    /// Runs an authenticated connection: subscribe to live events first (at a barrier of the room log, which fixes the
    /// position L up to which everything is durable and dispatched), send Welcome, replay what the device missed
    /// between its resume position and L from the log, then release the live events held meanwhile. The device sees
    /// no gap (everything after L arrives live) and no duplicate (nothing at or below L does).
    /// </summary>
    public async Task RunAsync(int version, long? resumeFrom, CancellationToken stopping)
    {
        _services.Metrics.ConnectionOpened();
        _services.Registry.Add(this);
        try
        {
            // Re-check after registering: a revoke that ran between authentication and registration must win.
            if (_services.Accounts.CheckStillValid(Session) is { } error)
            {
                if (_services.AccountStore.GetSession(Session.SessionKey)?.WipeReason is { } wipeReason)
                {
                    await SendDirectAsync(ServerFrameWriter.ToArray(b =>
                    {
                        ServerFrameWriter.WriteError(b, 0, error, "the session is no longer valid");
                        ServerFrameWriter.WriteWipe(b, wipeReason);
                    })).ConfigureAwait(false);
                    await CloseAsync(CloseCode.Wiped, "wiped").ConfigureAwait(false);
                    return;
                }
                SendError(0, error, "the session is no longer valid");
                await CloseAsync(CloseCode.AuthFailed, ErrorCodes.Name(error)).ConfigureAwait(false);
                return;
            }
            var subscription = await _services.Log.BarrierAsync(lastPos =>
            {
                var rows = _services.RoomStore.UserRooms(Session.UserKey);
                _services.FanOut.Register(this, rows, lastPos);
                return (Rows: rows, LastPos: lastPos);
            }).ConfigureAwait(false);
            var start = resumeFrom ?? subscription.LastPos;
            var welcome = new ArrayBufferWriter<byte>(256);
            ServerFrameWriter.WriteWelcome(welcome, version, Session.UserId, Session.SessionId,
                new ResumeToken(_services.Log.Epoch, start).ToArray(), Now(), new Dictionary<string, object?>
                {
                    ["max_frame_bytes"] = (long)_services.Options.MaxFrameBytes,
                    ["max_content_bytes"] = (long)_services.Options.MaxContentBytes,
                    ["frames_per_second"] = _services.Options.FramesPerSecond,
                    ["frame_burst"] = _services.Options.FrameBurst,
                });
            await SendDirectAsync(welcome.WrittenMemory).ConfigureAwait(false);
            var replayedUpTo = start;
            if (resumeFrom is { } from && from < subscription.LastPos)
            {
                replayedUpTo = await ReplayAsync(subscription.Rows, from, subscription.LastPos).ConfigureAwait(false);
            }
            if (_queue.Release(replayedUpTo))
            {
                StartWriter();
            }
            await ReadLoopAsync(stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Net.WebSockets.WebSocketException or IOException or ObjectDisposedException)
        {
            // connection went away during the handshake or replay
        }
        catch (Exception ex)
        {
            LogHandlerFault(_services.Logger, ex, Id);
        }
        finally
        {
            _readerDone.TrySetResult();
            await CloseAsync(CloseCode.Normal, "bye").ConfigureAwait(false);
            _services.FanOut.Unregister(this);
            _services.Registry.Remove(this);
            _services.Metrics.ConnectionClosed();
        }
    }

    /// <summary>
    /// Sends every event the device should have received with a position in (<paramref name="from"/>, <paramref name="to"/>],
    /// merged across rooms in position order, in messages of about 32 KiB each ending with a Position frame.
    /// </summary>
    private async Task<long> ReplayAsync(List<(long RoomKey, UserRoomRecord Record)> rows, long from, long to)
    {
        var queue = new PriorityQueue<RoomCursor, long>();
        foreach (var (roomKey, record) in rows)
        {
            var room = _services.Rooms.Get(roomKey);
            if (room is null || !Accepts(room.RoomId))
            {
                continue;
            }
            var head = room.View.Head;
            long first, lastSeq;
            switch (record.Membership)
            {
                case Membership.Join:
                    if (head.Pos <= from)
                    {
                        continue;
                    }
                    first = _services.Events.FirstSeqAfterPos(roomKey, head.Seq, from);
                    if (record.Pos > from)
                    {
                        first = Math.Max(first, record.Seq); // joined while away: start at the join
                    }
                    lastSeq = head.Seq;
                    break;
                case Membership.Leave when record.Pos > from && record.Pos <= to:
                    first = _services.Events.FirstSeqAfterPos(roomKey, record.Seq, from);
                    lastSeq = record.Seq; // up to and including the event that removed them
                    break;
                case Membership.Invite when record.Pos > from && record.Pos <= to:
                    first = lastSeq = record.Seq; // just the invitation
                    break;
                default:
                    continue;
            }
            var cursor = new RoomCursor(roomKey, first, lastSeq, to);
            if (cursor.Advance(_services.Events))
            {
                queue.Enqueue(cursor, cursor.Current.Pos);
            }
        }
        var buffer = new ArrayBufferWriter<byte>(40 * 1024);
        var sentUpTo = from;
        long pending = 0;
        while (queue.TryDequeue(out var cursor, out _))
        {
            var ev = cursor.Current;
            buffer.Write(ev.Frame.Span);
            pending = ev.Pos;
            if (cursor.Advance(_services.Events))
            {
                queue.Enqueue(cursor, cursor.Current.Pos);
            }
            if (buffer.WrittenCount >= 32 * 1024)
            {
                await FlushReplayAsync(buffer, pending).ConfigureAwait(false);
                sentUpTo = pending;
            }
        }
        await FlushReplayAsync(buffer, to).ConfigureAwait(false);
        return Math.Max(sentUpTo, to);
    }

    private async Task FlushReplayAsync(ArrayBufferWriter<byte> buffer, long pos)
    {
        var span = buffer.GetSpan(PositionFrameSize);
        buffer.Advance(WritePosition(span, pos));
        await SendDirectAsync(buffer.WrittenMemory).ConfigureAwait(false);
        buffer.ResetWrittenCount();
    }

    /// <summary>Reads one room's events in pages, stopping past the replay bound.</summary>
    private sealed class RoomCursor(long roomKey, long firstSeq, long lastSeq, long maxPos)
    {
        private List<StoredEvent> _page = [];
        private int _index;
        private long _next = firstSeq;

        public StoredEvent Current { get; private set; }

        public bool Advance(EventStore events)
        {
            if (_index >= _page.Count)
            {
                if (_next > lastSeq)
                {
                    return false;
                }
                _page = events.ReadRange(roomKey, _next, lastSeq, forward: true, limit: 128);
                _index = 0;
                if (_page.Count == 0)
                {
                    return false;
                }
                _next = _page[^1].Seq + 1;
            }
            Current = _page[_index++];
            return Current.Pos <= maxPos;
        }
    }
}
