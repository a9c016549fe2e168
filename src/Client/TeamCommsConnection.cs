using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Threading.Channels;
using MessagePack;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;

namespace TeamComms.Client;

/// <summary>
/// A live WebSocket session with a TeamComms server: authenticates in the first frame, delivers events in per-room
/// order through <see cref="Events"/>, keeps the latest resume token, confirms receipt, and (by default) reconnects
/// and resumes after a drop with no gap and no duplicate. Sends carry a transaction id, so a send retried after a
/// reconnect is committed once.
/// </summary>
public sealed class TeamCommsConnection : IAsyncDisposable
{
    private static readonly HashSet<int> s_terminalCloses =
    [
        Protocol.CloseCode.Normal, Protocol.CloseCode.AuthFailed, Protocol.CloseCode.UnsupportedVersion, Protocol.CloseCode.SessionRevoked,
        Protocol.CloseCode.Wiped, Protocol.CloseCode.ProtocolError, Protocol.CloseCode.RateLimited, Protocol.CloseCode.MessageTooBig,
    ];

    private readonly Uri _url;
    private readonly string _token;
    private readonly ClientOptions _options;
    private readonly Channel<RoomEvent> _events = Channel.CreateUnbounded<RoomEvent>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly Channel<ErrorFrame> _errors = Channel.CreateUnbounded<ErrorFrame>();
    private readonly Channel<NotifyFrame> _notifications = Channel.CreateUnbounded<NotifyFrame>();
    private readonly Channel<PendingFrame> _pendingSends = Channel.CreateUnbounded<PendingFrame>();
    private readonly ConcurrentDictionary<ulong, bool> _pendingRequests = new();
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<ServerFrame>> _pending = new();
    private readonly Dictionary<string, long> _lastSeq = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _disposed = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Stopwatch _sinceReceipt = Stopwatch.StartNew();
    private ClientWebSocket _socket = null!;
    private long _nextRequest;
    private byte[] _resume;
    private long _duplicates;
    private int _reconnects;

    private TeamCommsConnection(Uri url, string token, ClientOptions options)
    {
        _url = url;
        _token = token;
        _options = options;
        _resume = options.ResumeToken ?? [];
    }

    /// <summary>Events as they arrive: live, replayed after a resume, in per-room order, without duplicates.</summary>
    public ChannelReader<RoomEvent> Events => _events.Reader;

    /// <summary>Errors not tied to a request (for example <c>resume_invalid</c>).</summary>
    public ChannelReader<ErrorFrame> Errors => _errors.Reader;

    /// <summary>
    /// Sends to rooms hosted on another server that the hub has not ordered yet (for example because it cannot be
    /// reached). The send's task completes later, when the hub has ordered it.
    /// </summary>
    public ChannelReader<PendingFrame> PendingSends => _pendingSends.Reader;

    /// <summary>Per-device notification decisions.</summary>
    public ChannelReader<NotifyFrame> Notifications => _notifications.Reader;

    /// <summary>The Welcome of the current connection.</summary>
    public WelcomeFrame Welcome { get; private set; } = null!;

    /// <summary>The latest resume token: pass it to <see cref="ClientOptions.ResumeToken"/> to resume in a later process.</summary>
    public byte[] ResumeToken => Volatile.Read(ref _resume);

    /// <summary>Events the server sent twice (dropped here). A correct server keeps this at 0.</summary>
    public long DuplicatesDropped => Interlocked.Read(ref _duplicates);

    /// <summary>How many times the connection was re-established.</summary>
    public int Reconnects => Volatile.Read(ref _reconnects);

    /// <summary>The close code of the last connection, once it closed.</summary>
    public int? CloseCode { get; private set; }

    /// <summary>The reason the server gave in its close frame.</summary>
    public string? CloseReason { get; private set; }

    /// <summary>Set when the server told this device to wipe company data.</summary>
    public string? WipeReason { get; private set; }

    /// <summary>Completes when the connection is closed for good (no more reconnects).</summary>
    public Task Closed => _closed.Task;

    /// <summary>Connects, authenticates and returns once the server's Welcome arrived.</summary>
    public static async Task<TeamCommsConnection> ConnectAsync(Uri webSocketUrl, string accessToken, ClientOptions? options = null, CancellationToken ct = default)
    {
        var connection = new TeamCommsConnection(webSocketUrl, accessToken, options ?? new ClientOptions());
        await connection.ConnectOnceAsync(ct).ConfigureAwait(false);
        return connection;
    }

    private async Task ConnectOnceAsync(CancellationToken ct)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(30);
        try
        {
            await socket.ConnectAsync(_url, ct).ConfigureAwait(false);
            var hello = new ArrayBufferWriter<byte>(256);
            ClientFrameWriter.WriteHello(hello, ProtocolVersions.Supported, _token, ResumeToken, _options.Rooms, _options.ClientName);
            await socket.SendAsync(hello.WrittenMemory, WebSocketMessageType.Binary, true, ct).ConfigureAwait(false);
            var first = await ReceiveMessageAsync(socket, ct).ConfigureAwait(false);
            if (first is null)
            {
                throw new ConnectionLostException($"closed during handshake: {(int?)socket.CloseStatus} {socket.CloseStatusDescription}");
            }
            var frames = ServerFrameReader.ReadAll(first);
            if (frames.OfType<WelcomeFrame>().FirstOrDefault() is not { } welcome)
            {
                var error = frames.OfType<ErrorFrame>().FirstOrDefault();
                if (frames.OfType<WipeFrame>().FirstOrDefault() is { } wipe)
                {
                    WipeReason = wipe.Reason; // an offboarded or lost device: erase local company data
                }
                // Read the close frame so CloseCode is known.
                await ReceiveMessageAsync(socket, ct).ConfigureAwait(false);
                CloseCode = (int?)socket.CloseStatus;
                CloseReason = socket.CloseStatusDescription;
                throw error is null
                    ? new ConnectionLostException("the server did not send Welcome")
                    : new TeamCommsException(error.Code, error.Name, error.Message);
            }
            Welcome = welcome;
            Volatile.Write(ref _resume, welcome.Resume);
            _socket = socket;
            foreach (var frame in frames.Where(f => f is not WelcomeFrame))
            {
                Handle(frame);
            }
            _connected.TrySetResult();
            _ = ReceiveLoopAsync(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task ReceiveLoopAsync(ClientWebSocket socket)
    {
        try
        {
            while (true)
            {
                var message = await ReceiveMessageAsync(socket, _disposed.Token).ConfigureAwait(false);
                if (message is null)
                {
                    break;
                }
                var reader = new MessagePackReader(message);
                while (!reader.End)
                {
                    Handle(ServerFrameReader.Read(ref reader));
                }
                MaybeConfirmReceipt();
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ProtocolException or IOException or ObjectDisposedException)
        {
            // fall through to reconnect or close
        }
        CloseCode = (int?)socket.CloseStatus;
        CloseReason = socket.CloseStatusDescription;
        if (CloseCode == Protocol.CloseCode.Wiped && WipeReason is null)
        {
            // The close code alone means "wipe" (the Wipe frame may not have made it before the close).
            WipeReason = CloseReason ?? "wiped";
        }
        socket.Dispose();
        _connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        foreach (var (id, pending) in _pending)
        {
            if (_pending.TryRemove(id, out _))
            {
                pending.TrySetException(new ConnectionLostException("the connection was lost before the server answered"));
            }
        }
        if (_disposed.IsCancellationRequested || !_options.AutoReconnect || WipeReason is not null
            || (CloseCode is { } code && s_terminalCloses.Contains(code)))
        {
            Finish();
            return;
        }
        await ReconnectAsync().ConfigureAwait(false);
    }

    private async Task ReconnectAsync()
    {
        var delay = TimeSpan.FromMilliseconds(50);
        var deadline = Stopwatch.StartNew();
        while (!_disposed.IsCancellationRequested && deadline.Elapsed < _options.ReconnectTimeout)
        {
            try
            {
                await Task.Delay(delay, _disposed.Token).ConfigureAwait(false);
                await ConnectOnceAsync(_disposed.Token).ConfigureAwait(false);
                Interlocked.Increment(ref _reconnects);
                return;
            }
            catch (TeamCommsException)
            {
                break; // the server refused us (revoked, bad token): do not retry
            }
            catch (Exception ex) when (ex is WebSocketException or ConnectionLostException or IOException or HttpRequestException)
            {
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, _options.MaxBackoff.TotalMilliseconds));
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        Finish();
    }

    private void Finish()
    {
        _events.Writer.TryComplete();
        _errors.Writer.TryComplete();
        _notifications.Writer.TryComplete();
        _pendingSends.Writer.TryComplete();
        _connected.TrySetException(new ConnectionLostException($"connection closed ({CloseCode} {CloseReason})"));
        _closed.TrySetResult();
    }

    private void Handle(ServerFrame frame)
    {
        switch (frame)
        {
            case EventFrame e:
                var room = e.Event.RoomId;
                if (_lastSeq.TryGetValue(room, out var last) && e.Event.Seq <= last)
                {
                    Interlocked.Increment(ref _duplicates);
                    return;
                }
                _lastSeq[room] = e.Event.Seq;
                _events.Writer.TryWrite(e.Event);
                break;
            case PositionFrame p:
                Volatile.Write(ref _resume, p.Resume);
                break;
            case AckFrame a:
                Complete(a.RequestId, a);
                break;
            case ResultFrame r:
                Complete(r.RequestId, r);
                break;
            case PongFrame p:
                Complete(p.RequestId, p);
                break;
            case ErrorFrame err:
                if (err.RequestId == 0 || !Complete(err.RequestId, err))
                {
                    _errors.Writer.TryWrite(err);
                }
                break;
            case NotifyFrame n:
                _notifications.Writer.TryWrite(n);
                break;
            case PendingFrame pending:
                if (_pending.ContainsKey(pending.RequestId))
                {
                    _pendingRequests[pending.RequestId] = true;
                }
                _pendingSends.Writer.TryWrite(pending);
                break;
            case WipeFrame w:
                WipeReason = w.Reason;
                break;
        }
    }

    private bool Complete(ulong requestId, ServerFrame frame)
    {
        if (_pending.TryRemove(requestId, out var tcs))
        {
            tcs.TrySetResult(frame);
            return true;
        }
        return false;
    }

    private void MaybeConfirmReceipt()
    {
        if (_sinceReceipt.Elapsed < _options.ReceiptInterval || ResumeToken.Length == 0)
        {
            return;
        }
        _sinceReceipt.Restart();
        _ = ConfirmReceivedAsync();
    }

    /// <summary>Tells the server everything up to the current resume token was received.</summary>
    public async Task ConfirmReceivedAsync()
    {
        var buffer = new ArrayBufferWriter<byte>(32);
        ClientFrameWriter.WriteReceived(buffer, ResumeToken);
        try
        {
            await SendRawAsync(buffer.WrittenMemory, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or InvalidOperationException or ConnectionLostException)
        {
            // a receipt is advisory; the next one supersedes it
        }
    }

    private async Task<ServerFrame> RequestAsync(Action<IBufferWriter<byte>, ulong> write, CancellationToken ct)
    {
        var id = (ulong)Interlocked.Increment(ref _nextRequest);
        var tcs = new TaskCompletionSource<ServerFrame>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = tcs;
        var buffer = new ArrayBufferWriter<byte>(256);
        write(buffer, id);
        try
        {
            await SendRawAsync(buffer.WrittenMemory, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            _pending.TryRemove(id, out _);
            throw new ConnectionLostException("the connection is down: " + ex.Message);
        }
        ServerFrame frame;
        try
        {
            while (true)
            {
                try
                {
                    frame = await tcs.Task.WaitAsync(_options.RequestTimeout, ct).ConfigureAwait(false);
                    break;
                }
                catch (TimeoutException) when (_pendingRequests.ContainsKey(id))
                {
                    // The server said the send waits for a hub on another server: keep waiting for its Ack.
                }
            }
        }
        finally
        {
            _pendingRequests.TryRemove(id, out _);
        }
        if (frame is ErrorFrame error)
        {
            throw new TeamCommsException(error.Code, error.Name, error.Message);
        }
        return frame;
    }

    private async Task SendRawAsync(ReadOnlyMemory<byte> message, CancellationToken ct)
    {
        if (_socket is null || _socket.State != WebSocketState.Open)
        {
            throw new ConnectionLostException("not connected");
        }
        await _sendLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await _socket.SendAsync(message, WebSocketMessageType.Binary, true, ct).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Sends raw bytes as one WebSocket message (tests of malformed input use it).</summary>
    public Task SendRawMessageAsync(ReadOnlyMemory<byte> message, CancellationToken ct = default) => SendRawAsync(message, ct);

    /// <summary>
    /// Proposes an event; completes when it is durable. With auto-reconnect, a send interrupted by a dropped
    /// connection is retried with the same transaction id after the reconnect, so it is committed exactly once.
    /// </summary>
    public async Task<AckFrame> SendAsync(string roomId, string type, IReadOnlyDictionary<string, object?> content, string? transactionId = null, CancellationToken ct = default)
    {
        var txn = transactionId ?? Guid.NewGuid().ToString("N");
        var bytes = MsgPackValue.ToBytes(content);
        while (true)
        {
            try
            {
                var frame = await RequestAsync((b, id) => ClientFrameWriter.WriteSend(b, id, roomId, txn, type, bytes), ct).ConfigureAwait(false);
                return (AckFrame)frame;
            }
            catch (ConnectionLostException) when (_options.AutoReconnect && !_disposed.IsCancellationRequested)
            {
                await WaitConnectedAsync(ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Sends a text message.</summary>
    public Task<AckFrame> SendTextAsync(string roomId, string body, string? transactionId = null, CancellationToken ct = default) =>
        SendAsync(roomId, EventTypes.Message, new Dictionary<string, object?> { ["body"] = body }, transactionId, ct);

    /// <summary>Calls a method (see docs/protocol.md) and returns its result.</summary>
    public async Task<object?> CallAsync(string method, IReadOnlyDictionary<string, object?>? parameters = null, CancellationToken ct = default)
    {
        var p = parameters ?? new Dictionary<string, object?>();
        var frame = await RequestAsync((b, id) => ClientFrameWriter.WriteCall(b, id, method, p), ct).ConfigureAwait(false);
        return ((ResultFrame)frame).Result;
    }

    /// <summary>Round trip to the server.</summary>
    public async Task<TimeSpan> PingAsync(CancellationToken ct = default)
    {
        var sw = Stopwatch.StartNew();
        await RequestAsync((b, id) => ClientFrameWriter.WritePing(b, id), ct).ConfigureAwait(false);
        return sw.Elapsed;
    }

    /// <summary>Creates a room and returns its id.</summary>
    public async Task<string> CreateRoomAsync(string name, string topic = "", IEnumerable<string>? invite = null, string? kind = null, string? history = null, CancellationToken ct = default)
    {
        var p = new Dictionary<string, object?> { ["name"] = name, ["topic"] = topic };
        if (invite is not null)
        {
            p["invite"] = invite.Cast<object?>().ToList();
        }
        if (kind is not null)
        {
            p["kind"] = kind;
        }
        if (history is not null)
        {
            p["history"] = history;
        }
        var result = (Dictionary<string, object?>)(await CallAsync("rooms.create", p, ct).ConfigureAwait(false))!;
        return (string)result["room_id"]!;
    }

    /// <summary>Invites a user.</summary>
    public Task InviteAsync(string roomId, string userId, CancellationToken ct = default) =>
        CallAsync("rooms.invite", new Dictionary<string, object?> { ["room"] = roomId, ["user"] = userId }, ct);

    /// <summary>Accepts an invitation.</summary>
    public Task JoinAsync(string roomId, CancellationToken ct = default) =>
        CallAsync("rooms.join", new Dictionary<string, object?> { ["room"] = roomId }, ct);

    /// <summary>Leaves a room (or declines an invitation).</summary>
    public Task LeaveAsync(string roomId, CancellationToken ct = default) =>
        CallAsync("rooms.leave", new Dictionary<string, object?> { ["room"] = roomId }, ct);

    /// <summary>Removes a member (moderators and owners).</summary>
    public Task KickAsync(string roomId, string userId, string? reason = null, CancellationToken ct = default) =>
        CallAsync("rooms.kick", new Dictionary<string, object?> { ["room"] = roomId, ["user"] = userId, ["reason"] = reason }, ct);

    /// <summary>The caller's rooms with unread counts.</summary>
    public async Task<IReadOnlyList<RoomSummary>> ListRoomsAsync(CancellationToken ct = default)
    {
        var result = (List<object?>)(await CallAsync("rooms.list", null, ct).ConfigureAwait(false))!;
        return result.Select(r => RoomSummary.From((Dictionary<string, object?>)r!)).ToList();
    }

    /// <summary>A page of history; <paramref name="from"/> null starts at the newest (backward) or oldest (forward) visible event.</summary>
    public async Task<HistoryPage> HistoryAsync(string roomId, long? from = null, bool forward = false, int limit = 50, CancellationToken ct = default)
    {
        var p = new Dictionary<string, object?> { ["room"] = roomId, ["dir"] = forward ? "forward" : "backward", ["limit"] = (long)limit };
        if (from is not null)
        {
            p["from"] = from;
        }
        var result = (Dictionary<string, object?>)(await CallAsync("rooms.history", p, ct).ConfigureAwait(false))!;
        var events = ((List<object?>)result["events"]!).Select(e => EventCodec.Read(MsgPackValue.ToBytes(e))).ToList();
        return new HistoryPage(events, result["next"] as long?);
    }

    /// <summary>Moves the read marker forward; returns the marker after the call.</summary>
    public async Task<long> MarkReadAsync(string roomId, long seq, CancellationToken ct = default)
    {
        var result = (Dictionary<string, object?>)(await CallAsync("rooms.mark_read", new Dictionary<string, object?> { ["room"] = roomId, ["seq"] = seq }, ct).ConfigureAwait(false))!;
        return (long)result["read_seq"]!;
    }

    /// <summary>Waits until the connection is up (after a reconnect).</summary>
    public Task WaitConnectedAsync(CancellationToken ct = default) => _connected.Task.WaitAsync(ct);

    /// <summary>Drops the TCP connection without a close handshake (tests use it to simulate a network failure).</summary>
    public void Abort() => _socket?.Abort();

    /// <summary>Closes the connection normally and stops reconnecting.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }
        await _disposed.CancelAsync().ConfigureAwait(false);
        try
        {
            if (_socket is { State: WebSocketState.Open })
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        _socket?.Abort();
        Finish();
        _disposed.Dispose();
        _sendLock.Dispose();
    }

    /// <summary>Reads one whole message; null when the socket closed.</summary>
    private static async Task<byte[]?> ReceiveMessageAsync(WebSocket socket, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var count = 0;
        try
        {
            while (true)
            {
                if (count == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, count).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var result = await socket.ReceiveAsync(buffer.AsMemory(count), ct).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return null;
                }
                count += result.Count;
                if (result.EndOfMessage)
                {
                    return buffer.AsSpan(0, count).ToArray();
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
