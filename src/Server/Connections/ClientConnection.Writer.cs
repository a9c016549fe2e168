using System.Buffers;
using System.Net.WebSockets;
using TeamComms.Protocol;
using TeamComms.Protocol.Frames;

namespace TeamComms.Server.Connections;

internal sealed partial class ClientConnection
{
    // [69, bin8(17)]: fixarray(2), fixint 69, bin8 header (2 bytes), 17-byte resume token.
    private const int PositionFrameSize = 4 + ResumeToken.Size;

    /// <summary>
    /// Queues an event frame. Called by the fan-out thread for every recipient: no allocation, no awaiting.
    /// </summary>
    public void Deliver(ReadOnlyMemory<byte> frame, long pos, long durableStamp = 0)
    {
        switch (_queue.Enqueue(frame, pos, durableStamp))
        {
            case EnqueueResult.QueuedStartWriter:
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
                break;
            case EnqueueResult.Overflow:
                Evict();
                break;
        }
    }

    /// <summary>Queues a frame that is not an event (acks, results, errors).</summary>
    public void SendControl(byte[] frame) => Deliver(frame, 0);

    /// <summary>Queues an error frame.</summary>
    public void SendError(ulong requestId, ErrorCode code, string message) =>
        SendControl(ServerFrameWriter.ToArray(b => ServerFrameWriter.WriteError(b, requestId, code, message)));

#pragma warning disable CA2012 // Fire-and-forget by design: the loop owns its errors, and a synchronous completion allocates nothing.
    void IThreadPoolWorkItem.Execute() => _ = WriteLoopAsync();
#pragma warning restore CA2012

    private void StartWriter() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    private async ValueTask WriteLoopAsync()
    {
        var size = _services.Options.WriteBufferBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(size + PositionFrameSize);
        try
        {
            while (true)
            {
                var queued = _queue.Bytes;
                var n = _queue.Drain(buffer.AsSpan(0, size), out var maxPos, out var oversized, out var stamp);
                if (n == 0 && oversized.IsEmpty)
                {
                    return; // queue empty; the queue marked the writer stopped
                }
                _services.Metrics.RecordWrite(queued);
                if (!oversized.IsEmpty)
                {
                    await _socket.SendAsync(oversized, WebSocketMessageType.Binary, endOfMessage: maxPos == 0, _abort.Token).ConfigureAwait(false);
                    if (maxPos > 0)
                    {
                        n = WritePosition(buffer, maxPos);
                        await _socket.SendAsync(buffer.AsMemory(0, n), WebSocketMessageType.Binary, endOfMessage: true, _abort.Token).ConfigureAwait(false);
                    }
                    RecordWritten(stamp);
                    continue;
                }
                if (maxPos > 0)
                {
                    n += WritePosition(buffer.AsSpan(n), maxPos);
                }
                await _socket.SendAsync(buffer.AsMemory(0, n), WebSocketMessageType.Binary, endOfMessage: true, _abort.Token).ConfigureAwait(false);
                RecordWritten(stamp);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException or InvalidOperationException)
        {
            _queue.Close();
            _ = CloseAsync(CloseCode.InternalError, "write failed");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void RecordWritten(long durableStamp)
    {
        if (durableStamp != 0)
        {
            _services.Metrics.RecordDurableToWritten(_services.Time.GetElapsedTime(durableStamp));
        }
    }

    /// <summary>Writes a Position frame for <paramref name="pos"/>; returns its length.</summary>
    private int WritePosition(Span<byte> destination, long pos)
    {
        destination[0] = 0x92;
        destination[1] = FrameType.Position;
        destination[2] = 0xC4; // bin8
        destination[3] = ResumeToken.Size;
        new ResumeToken(_services.Log.Epoch, pos).Write(destination[4..]);
        return PositionFrameSize;
    }

    /// <summary>Writes directly to the socket; only while the queue is held (handshake and replay).</summary>
    private ValueTask SendDirectAsync(ReadOnlyMemory<byte> message) =>
        _socket.SendAsync(message, WebSocketMessageType.Binary, endOfMessage: true, _abort.Token);
}
