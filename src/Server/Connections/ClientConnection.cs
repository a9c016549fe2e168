using System.Net.WebSockets;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.Rooms;

namespace TeamComms.Server.Connections;

/// <summary>
/// One authenticated WebSocket connection: a reader loop that decodes and dispatches frames, a bounded outbound
/// queue, and a writer that runs only while frames are pending and coalesces them into as few socket writes as
/// possible. A failing or slow connection is closed on its own; it never blocks the fan-out or another client.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The CancellationTokenSource has no timer and the semaphore no wait handle; both may still be touched by a concurrent close, so they are left to the GC.")]
internal sealed partial class ClientConnection : IThreadPoolWorkItem, IAckTarget
{
    private readonly WebSocket _socket;
    private readonly ConnectionServices _services;
    private readonly OutboundQueue _queue;
    private readonly CancellationTokenSource _abort = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _readerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _closing;

    public ClientConnection(WebSocket socket, ConnectionServices services, AuthenticatedSession session, IReadOnlySet<string>? roomFilter, string address)
    {
        _socket = socket;
        _services = services;
        Session = session;
        RoomFilter = roomFilter;
        Address = address;
        Id = services.NextConnectionId();
        _queue = new OutboundQueue(services.Options.QueueByteLimit);
        _queue.Hold(); // nothing goes out before Welcome and the replay
    }

    public long Id { get; }
    public AuthenticatedSession Session { get; }
    public string Address { get; }

    /// <summary>Rooms this connection asked for in Hello; null for all of the user's rooms.</summary>
    public IReadOnlySet<string>? RoomFilter { get; }

    /// <summary>Fan-out thread only: the rooms this connection is subscribed to.</summary>
    internal HashSet<long> SubscribedRooms { get; } = [];

    /// <summary>Fan-out thread only: decides whether this user's devices notify (quiet hours, snooze); null without the workplace features.</summary>
    internal FanOut.IRecipientAttention? Attention { get; set; }

    /// <summary>Aborts the underlying HTTP connection (<c>HttpContext.Abort</c>); null outside Kestrel.</summary>
    public Action? AbortTransport { get; init; }

    /// <summary>The outbound queue, for the fan-out benchmark.</summary>
    internal OutboundQueue Queue => _queue;

    public bool IsClosing => Volatile.Read(ref _closing) != 0;

    public bool Accepts(string roomId) => RoomFilter is null || RoomFilter.Contains(roomId);

    /// <summary>The filter's rooms by key, resolved when the connection opened.</summary>
    public IReadOnlySet<long>? RoomKeyFilter { get; init; }

    public bool RoomKeyAccepted(long roomKey) => RoomKeyFilter is null || RoomKeyFilter.Contains(roomKey);

    /// <summary>
    /// Closes the connection: stops queueing, sends a close frame with <paramref name="code"/> (best effort, bounded
    /// wait), and aborts the socket. Completes when the connection can deliver nothing more.
    /// </summary>
    public async Task CloseAsync(int code, string reason)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            await _closed.Task.ConfigureAwait(false);
            return;
        }
        _queue.Close();
        try
        {
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync((WebSocketCloseStatus)code, Truncate(reason), timeout.Token).ConfigureAwait(false);
                // Give the peer a moment to answer with its close frame, so ours is not lost to a TCP reset.
                await _readerDone.Task.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException or TimeoutException)
        {
            // The peer is gone or not reading; aborting below is all that is left to do.
        }
        finally
        {
            _abort.Cancel();
            _socket.Abort();
            // Aborting the WebSocket does not end the HTTP connection under it: a consumer that stopped reading
            // would keep its TCP connection (and Kestrel its unsent output) until it read everything, and would
            // only then learn it was evicted. Abort the transport too, so it knows at once and resumes.
            AbortTransport?.Invoke();
            _closed.TrySetResult();
        }
    }

    private static string Truncate(string reason) =>
        System.Text.Encoding.UTF8.GetByteCount(reason) <= 120 ? reason : reason[..60];

    /// <summary>Evicts a connection that fell behind: it must reconnect and resume.</summary>
    private void Evict()
    {
        _services.Metrics.RecordEviction();
        LogEvicted(_services.Logger, Id, Session.UserId);
        _ = CloseAsync(CloseCode.Resync, "too far behind; resume from your token");
    }
}
