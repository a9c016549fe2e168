using System.Buffers;
using System.Net.WebSockets;
using MessagePack;
using TeamComms.Protocol;
using TeamComms.Protocol.Frames;
using TeamComms.Server.Rooms;

namespace TeamComms.Server.Connections;

internal sealed partial class ClientConnection
{
    private TokenBucket? _bucket;
    private SemaphoreSlim? _inflight;
    private int _protocolErrors;
    private int _rateLimited;
    private long _lastCursorSaved;

    /// <summary>Reads messages until the peer closes, the connection is closed, or the server stops.</summary>
    private async Task ReadLoopAsync(CancellationToken stopping)
    {
        var options = _services.Options;
        _bucket = new TokenBucket(options.FramesPerSecond, options.FrameBurst, _services.Time);
        _inflight = new SemaphoreSlim(options.MaxInflight, options.MaxInflight);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, _abort.Token);
        byte[]? buffer = null;
        var count = 0;
        try
        {
            while (!IsClosing)
            {
                if (count == 0)
                {
                    // Wait for data without holding a buffer, so that idle connections cost no receive memory.
                    var peek = await _socket.ReceiveAsync(Memory<byte>.Empty, linked.Token).ConfigureAwait(false);
                    if (peek.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }
                    buffer = ArrayPool<byte>.Shared.Rent(4096);
                }
                var result = await _socket.ReceiveAsync(buffer.AsMemory(count), linked.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
                if (result.MessageType == WebSocketMessageType.Text)
                {
                    SendError(0, ErrorCode.BadFrame, "frames are binary MessagePack; text messages are not accepted");
                    await CloseAfterFlushAsync(CloseCode.ProtocolError, "text message").ConfigureAwait(false);
                    return;
                }
                count += result.Count;
                if (count > options.MaxFrameBytes)
                {
                    SendError(0, ErrorCode.FrameTooLarge, $"messages are limited to {options.MaxFrameBytes} bytes");
                    await CloseAfterFlushAsync(CloseCode.MessageTooBig, "message too big").ConfigureAwait(false);
                    return;
                }
                if (!result.EndOfMessage)
                {
                    if (count == buffer!.Length)
                    {
                        var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, options.MaxFrameBytes + 1));
                        buffer.AsSpan(0, count).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }
                    continue;
                }
                var message = buffer.AsMemory(0, count).ToArray();
                ArrayPool<byte>.Shared.Return(buffer!);
                buffer = null;
                count = 0;
                if (!await HandleMessageAsync(message).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            // Peer went away or we are closing.
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>Decodes every frame of a message first (the reader cannot live across awaits), then dispatches them.</summary>
    private static List<(ClientFrame? Frame, ProtocolException? Error)> Decode(ReadOnlyMemory<byte> message, int maxContentBytes)
    {
        var frames = new List<(ClientFrame?, ProtocolException?)>();
        var reader = new MessagePackReader(message);
        while (!reader.End)
        {
            ReadOnlySequence<byte> raw;
            try
            {
                raw = reader.ReadRaw(); // one whole frame, so a bad field cannot desynchronize the next frame
            }
            catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException)
            {
                frames.Add((null, new ProtocolException(ErrorCode.BadFrame, "the message is not valid MessagePack")));
                break; // no way to find the next frame boundary: drop the rest of this message
            }
            try
            {
                var frameReader = new MessagePackReader(raw);
                frames.Add((ClientFrameReader.Read(ref frameReader, maxContentBytes), null));
            }
            catch (ProtocolException ex)
            {
                frames.Add((null, ex));
            }
        }
        return frames;
    }

    /// <summary>Dispatches the frames of one message. False when the connection must close.</summary>
    private async ValueTask<bool> HandleMessageAsync(ReadOnlyMemory<byte> message)
    {
        foreach (var (decoded, error) in Decode(message, _services.Options.MaxContentBytes))
        {
            if (IsClosing)
            {
                return false;
            }
            if (error is not null)
            {
                SendError(error.RequestId, error.Code, error.Message);
                if (!await CountProtocolErrorAsync().ConfigureAwait(false))
                {
                    return false;
                }
                continue;
            }
            var frame = decoded!;
            if (!_bucket!.TryTake())
            {
                SendError(RequestIdOf(frame), ErrorCode.RateLimited, $"too many frames; retry in {_bucket.SecondsUntilNext:0.00} s");
                if (++_rateLimited > _services.Options.MaxRateLimitedFrames)
                {
                    await CloseAfterFlushAsync(CloseCode.RateLimited, "rate limit exceeded").ConfigureAwait(false);
                    return false;
                }
                continue;
            }
            switch (frame)
            {
                case PingFrame ping:
                    SendControl(ServerFrameWriter.ToArray(b => ServerFrameWriter.WritePong(b, ping.RequestId, Now())));
                    break;
                case SendFrame send:
                    await _inflight!.WaitAsync(_abort.Token).ConfigureAwait(false);
                    _ = HandleSendAsync(send);
                    break;
                case CallFrame call:
                    await _inflight!.WaitAsync(_abort.Token).ConfigureAwait(false);
                    _ = HandleCallAsync(call);
                    break;
                case ReceivedFrame received:
                    HandleReceived(received);
                    break;
                case HelloFrame:
                    SendError(0, ErrorCode.BadFrame, "Hello was already accepted on this connection");
                    break;
            }
        }
        return true;
    }

    private async ValueTask<bool> CountProtocolErrorAsync()
    {
        if (++_protocolErrors > _services.Options.MaxProtocolErrors)
        {
            await CloseAfterFlushAsync(CloseCode.ProtocolError, "too many malformed frames").ConfigureAwait(false);
            return false;
        }
        return true;
    }

    private static ulong RequestIdOf(ClientFrame frame) => frame switch
    {
        PingFrame p => p.RequestId,
        SendFrame s => s.RequestId,
        CallFrame c => c.RequestId,
        _ => 0,
    };

    private async Task HandleSendAsync(SendFrame send)
    {
        var started = _services.Time.GetTimestamp();
        try
        {
            if (!Identifiers.IsValidRoomId(send.RoomId))
            {
                SendError(send.RequestId, ErrorCode.BadField, $"'{send.RoomId}' is not a room id");
                return;
            }
            if (send.TransactionId.Length == 0)
            {
                SendError(send.RequestId, ErrorCode.BadField, "'txn' must not be empty");
                return;
            }
            var outcome = await _services.Log.AppendAsync(new SendProposal(Session.Actor, send.RoomId, send.TransactionId, send.Type, send.Content)
            {
                AckTarget = this,
                AckRequestId = send.RequestId,
            }).ConfigureAwait(false);
            if (!outcome.Ok)
            {
                SendError(send.RequestId, outcome.Error!.Value, outcome.Message!);
                return;
            }
            if (outcome.Forwarded is { } forwarded)
            {
                await SendForwardedAsync(send, forwarded, started).ConfigureAwait(false);
                return;
            }
            var ev = outcome.Events[0];
            _services.Metrics.RecordSendToDurable(_services.Time.GetElapsedTime(started));
            if (outcome.Duplicate || !ReferenceEquals(ev.AckTarget, this))
            {
                // A retried transaction (the original event, not dispatched again) or a shared outcome: Ack here.
                SendControl(ControlFrames.Ack(send.RequestId, ev.RoomId, ev.Seq, ev.Id, ev.Timestamp));
            }
        }
        catch (Exception ex)
        {
            LogHandlerFault(_services.Logger, ex, Id);
            SendError(send.RequestId, ErrorCode.Internal, "internal error");
        }
        finally
        {
            _inflight!.Release();
        }
    }

    private async Task HandleCallAsync(CallFrame call)
    {
        try
        {
            var result = await _services.Calls.InvokeAsync(this, call.Method, call.Params).ConfigureAwait(false);
            SendControl(ServerFrameWriter.ToArray(b => ServerFrameWriter.WriteResult(b, call.RequestId, result)));
        }
        catch (ApiException ex)
        {
            SendError(call.RequestId, ex.Code, ex.Message);
        }
        catch (ProtocolException ex)
        {
            SendError(call.RequestId, ex.Code, ex.Message);
        }
        catch (Exception ex)
        {
            LogHandlerFault(_services.Logger, ex, Id);
            SendError(call.RequestId, ErrorCode.Internal, "internal error");
        }
        finally
        {
            _inflight!.Release();
        }
    }

    private void HandleReceived(ReceivedFrame received)
    {
        if (!ResumeToken.TryParse(received.Resume, out var token) || token.Epoch != _services.Log.Epoch)
        {
            SendError(0, ErrorCode.ResumeInvalid, "the token in Received is not one this server issued");
            return;
        }
        if (token.Position > _lastCursorSaved && token.Position <= _services.Log.LastPosition)
        {
            _lastCursorSaved = token.Position;
            _services.AccountStore.SaveCursor(Session.SessionKey, token.Position);
            _services.DeliveryObserver?.OnReceived(Session, token.Position);
        }
    }

    /// <summary>Lets queued frames (an error explaining the close) go out, then closes.</summary>
    private async Task CloseAfterFlushAsync(int code, string reason)
    {
        for (var i = 0; i < 50 && _queue.Bytes > 0; i++)
        {
            await Task.Delay(10).ConfigureAwait(false);
        }
        await CloseAsync(code, reason).ConfigureAwait(false);
    }

    private long Now() => _services.Time.GetUtcNow().ToUnixTimeMilliseconds();
}
