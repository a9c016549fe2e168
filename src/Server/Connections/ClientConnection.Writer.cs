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
                StartWriter();
                break;
            case EnqueueResult.Overflow:
                Evict();
                break;
        }
    }

    /// <summary>
    /// The fan-out's variant of <see cref="Deliver"/>: queues the frame but leaves starting the writer to the
    /// caller, which calls <see cref="StartWriterAfterBatch"/> once it has queued the whole committed batch. Every
    /// event of a batch then leaves in one write per connection. True when the caller must start the writer.
    /// </summary>
    public bool DeliverDeferred(ReadOnlyMemory<byte> frame, long pos, long durableStamp)
    {
        switch (_queue.Enqueue(frame, pos, durableStamp))
        {
            case EnqueueResult.QueuedStartWriter:
                return true;
            case EnqueueResult.Overflow:
                Evict();
                break;
        }
        return false;
    }

    /// <summary>Starts the writer that <see cref="DeliverDeferred"/> asked for.</summary>
    public void StartWriterAfterBatch() => StartWriter();

    /// <summary>Queues a frame that is not an event (acks, results, errors).</summary>
    public void SendControl(byte[] frame) => Deliver(frame, 0);

    /// <summary>Queues an error frame.</summary>
    public void SendError(ulong requestId, ErrorCode code, string message) =>
        SendControl(ServerFrameWriter.ToArray(b => ServerFrameWriter.WriteError(b, requestId, code, message)));

#pragma warning disable CA2012 // Fire-and-forget by design: the loop owns its errors, and a synchronous completion allocates nothing.
    void IThreadPoolWorkItem.Execute() => _ = WriteLoopAsync();
#pragma warning restore CA2012

    private void StartWriter()
    {
        if (_services.Options.WriteFromDispatcher)
        {
#pragma warning disable CA2012 // as in Execute: the loop owns its errors
            _ = WriteLoopAsync();
#pragma warning restore CA2012
        }
        else
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteLoopAsync()
    {
        // Rent what is pending, not the largest write: small arrays come from the pool's per-core caches, while
        // 64 KiB arrays renting on one thread and returning on another (a send that completed asynchronously) miss
        // them and fall through to new large-object allocations.
        var size = (int)Math.Clamp(_queue.Bytes, 1024, _services.Options.WriteBufferBytes);
        var buffer = ArrayPool<byte>.Shared.Rent(size + PositionFrameSize);
        try
        {
            while (true)
            {
                var queued = _queue.Bytes;
                if (queued > size && size < _services.Options.WriteBufferBytes)
                {
                    // A burst arrived while writing: take a larger buffer for it.
                    ArrayPool<byte>.Shared.Return(buffer);
                    size = (int)Math.Min(queued, _services.Options.WriteBufferBytes);
                    buffer = ArrayPool<byte>.Shared.Rent(size + PositionFrameSize);
                }
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
