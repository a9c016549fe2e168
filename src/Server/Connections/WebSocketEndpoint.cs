using System.Buffers;
using System.Net.WebSockets;
using MessagePack;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TeamComms.Protocol;
using TeamComms.Protocol.Frames;

namespace TeamComms.Server.Connections;

/// <summary>
/// <c>GET /v1/ws</c>: accepts the WebSocket, waits for Hello (the token travels in this first frame, never in the URL),
/// negotiates the version, authenticates, and hands over to <see cref="ClientConnection"/>.
/// </summary>
internal static class WebSocketEndpoint
{
    public static async Task HandleAsync(HttpContext context)
    {
        var services = context.RequestServices.GetRequiredService<ConnectionServices>();
        var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsJsonAsync(new { error = new { code = "bad_request", message = "this endpoint speaks WebSocket only" } }).ConfigureAwait(false);
            return;
        }
        if (context.RequestServices.GetService<Hosting.Readiness>() is { IsReady: false } readiness)
        {
            // Cluster mode: a node that is catching up or lost its lease sends clients to another node.
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            await context.Response.WriteAsJsonAsync(new { error = new { code = "unavailable", message = "this node is not serving: " + readiness.Status } }).ConfigureAwait(false);
            return;
        }
        var options = services.Options;
        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = options.KeepAliveInterval,
            KeepAliveTimeout = options.KeepAliveTimeout,
        }).ConfigureAwait(false);

        HelloFrame hello;
        // Race the first frame against the handshake timer instead of cancelling the receive: a cancelled
        // WebSocket receive aborts the socket, and then the client would never see why it was closed.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        var receive = ReceiveHelloAsync(socket, options.MaxFrameBytes, linked.Token);
        using var timer = new CancellationTokenSource();
        var timeout = Task.Delay(options.HelloTimeout, services.Time, timer.Token);
        if (await Task.WhenAny(receive, timeout).ConfigureAwait(false) == timeout)
        {
            await RefuseAsync(socket, ErrorCode.HelloRequired, "no Hello within the handshake timeout", CloseCode.HelloTimeout, receive).ConfigureAwait(false);
            return;
        }
        await timer.CancelAsync().ConfigureAwait(false);
        try
        {
            var (frame, error) = await receive.ConfigureAwait(false);
            if (frame is null)
            {
                await RefuseAsync(socket, error!.Code, error.Message, CloseCode.ProtocolError).ConfigureAwait(false);
                return;
            }
            hello = frame;
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            return;
        }

        var version = hello.Versions.Where(v => ProtocolVersions.Supported.Contains(v)).DefaultIfEmpty(0).Max();
        if (version == 0)
        {
            await RefuseAsync(socket, ErrorCode.UnsupportedVersion,
                $"this server speaks protocol version(s) {string.Join(", ", ProtocolVersions.Supported)}; you offered {string.Join(", ", hello.Versions)}",
                CloseCode.UnsupportedVersion).ConfigureAwait(false);
            return;
        }
        var (session, authError) = services.Accounts.Authenticate(hello.Token);
        if (session is null && authError == ErrorCode.SessionRevoked && services.Accounts.WipeReasonFor(hello.Token) is { } wipeReason)
        {
            // A device of an offboarded user, or a lost device, that comes back: tell it again to wipe company data.
            await RefuseAsync(socket, ErrorCode.SessionRevoked, "this device was told to wipe company data", CloseCode.Wiped, wipe: wipeReason).ConfigureAwait(false);
            return;
        }
        if (session is null)
        {
            await RefuseAsync(socket, authError!.Value, authError switch
            {
                ErrorCode.TokenExpired => "the access token has expired; log in again",
                ErrorCode.SessionRevoked => "the session was revoked; log in again",
                _ => "the access token is not valid",
            }, CloseCode.AuthFailed).ConfigureAwait(false);
            return;
        }

        await services.Accounts.RecordSignInAsync(session).ConfigureAwait(false);
        long? resumeFrom = null;
        var pendingErrors = new List<byte[]>();
        if (hello.Resume is { } resumeBytes)
        {
            if (ResumeToken.TryParse(resumeBytes, out var token) && token.Epoch == services.Log.Epoch && token.Position > services.Log.LastPosition
                && services.Log is Rooms.IPositionWaiter waiter)
            {
                // Cluster mode: the token comes from a node that is ahead; this one catches up in milliseconds.
                await waiter.WaitForPositionAsync(token.Position, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            if (ResumeToken.TryParse(resumeBytes, out token) && token.Epoch == services.Log.Epoch && token.Position <= services.Log.LastPosition)
            {
                resumeFrom = token.Position;
            }
            else
            {
                pendingErrors.Add(ServerFrameWriter.ToArray(b => ServerFrameWriter.WriteError(b, 0, ErrorCode.ResumeInvalid,
                    "the resume token is not from this server's data directory; continuing without resume, fetch history to fill gaps")));
            }
        }
        HashSet<string>? filter = null;
        HashSet<long>? filterKeys = null;
        if (hello.Rooms is { } rooms)
        {
            filter = new HashSet<string>(rooms, StringComparer.Ordinal);
            filterKeys = [];
            foreach (var roomId in filter)
            {
                if (Identifiers.IsValidRoomId(roomId) && services.Rooms.Find(roomId) is { } room)
                {
                    filterKeys.Add(room.Key);
                }
            }
        }
        var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var connection = new ClientConnection(socket, services, session, filter, address) { RoomKeyFilter = filterKeys, AbortTransport = context.Abort };
        foreach (var error in pendingErrors)
        {
            connection.SendControl(error);
        }
        await connection.RunAsync(version, resumeFrom, stopping).ConfigureAwait(false);
    }

    private static async Task<(HelloFrame? Frame, ProtocolException? Error)> ReceiveHelloAsync(WebSocket socket, int maxBytes, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            var count = 0;
            while (true)
            {
                if (count == buffer.Length)
                {
                    if (buffer.Length >= maxBytes)
                    {
                        return (null, new ProtocolException(ErrorCode.FrameTooLarge, "Hello is too large"));
                    }
                    var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, count).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var result = await socket.ReceiveAsync(buffer.AsMemory(count), ct).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return (null, new ProtocolException(ErrorCode.HelloRequired, "closed before Hello"));
                }
                if (result.MessageType == WebSocketMessageType.Text)
                {
                    return (null, new ProtocolException(ErrorCode.BadFrame, "frames are binary MessagePack"));
                }
                count += result.Count;
                if (result.EndOfMessage)
                {
                    break;
                }
            }
            try
            {
                var reader = new MessagePackReader(buffer.AsMemory(0, count));
                var frame = ClientFrameReader.Read(ref reader);
                return frame is HelloFrame hello
                    ? (hello, null)
                    : (null, new ProtocolException(ErrorCode.HelloRequired, "the first frame must be Hello"));
            }
            catch (ProtocolException ex)
            {
                return (null, ex);
            }
            catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException)
            {
                return (null, new ProtocolException(ErrorCode.BadFrame, "Hello is not valid MessagePack"));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Sends an Error frame and closes with <paramref name="closeCode"/>.</summary>
    private static async Task RefuseAsync(WebSocket socket, ErrorCode code, string message, int closeCode, Task? pendingReceive = null, string? wipe = null)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var frame = ServerFrameWriter.ToArray(b =>
            {
                ServerFrameWriter.WriteError(b, 0, code, message);
                if (wipe is not null)
                {
                    ServerFrameWriter.WriteWipe(b, wipe);
                }
            });
            await socket.SendAsync(frame, WebSocketMessageType.Binary, true, timeout.Token).ConfigureAwait(false);
            await socket.CloseOutputAsync((WebSocketCloseStatus)closeCode, ErrorCodes.Name(code), timeout.Token).ConfigureAwait(false);
            // Wait briefly for the client's close so the close frame is not lost to a reset.
            if (pendingReceive is not null)
            {
                await Task.WhenAny(pendingReceive, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
                return;
            }
            var drain = new byte[256];
            while (socket.State == WebSocketState.CloseSent)
            {
                var r = await socket.ReceiveAsync(drain, timeout.Token).ConfigureAwait(false);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // peer already gone
        }
    }
}
