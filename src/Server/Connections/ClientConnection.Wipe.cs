using TeamComms.Protocol;
using TeamComms.Protocol.Frames;

namespace TeamComms.Server.Connections;

internal sealed partial class ClientConnection
{
    /// <summary>
    /// Tells the device to erase its local company data: queues a Wipe frame as the last frame of this connection
    /// (nothing queued after it is sent), waits briefly for it to be written, then closes with 4006. When this
    /// returns the connection can deliver nothing more.
    /// </summary>
    public async Task WipeAsync(string reason)
    {
        var frame = ServerFrameWriter.ToArray(b => ServerFrameWriter.WriteWipe(b, reason));
        switch (_queue.EnqueueFinal(frame))
        {
            case EnqueueResult.QueuedStartWriter:
                StartWriter();
                break;
            case EnqueueResult.Overflow:
                Evict();
                break;
        }
        if (!_queue.IsHeld)
        {
            // Bounded: a device that stopped reading must not hold up offboarding. It is closed with 4006 either way.
            await _queue.Drained.WaitAsync(TimeSpan.FromSeconds(2)).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }
        await CloseAsync(CloseCode.Wiped, "wiped: " + reason).ConfigureAwait(false);
    }
}
