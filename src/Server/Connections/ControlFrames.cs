using System.Buffers;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;

namespace TeamComms.Server.Connections;

/// <summary>
/// Control frames on the hot path (one Ack per Send), encoded through a per-thread scratch writer: the only
/// allocation is the frame array itself, which the connection's queue holds until its writer copies it.
/// </summary>
internal static class ControlFrames
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_scratch;

    public static byte[] Ack(ulong requestId, string roomId, long seq, EventId id, long timestamp)
    {
        var scratch = t_scratch ??= new ArrayBufferWriter<byte>(256);
        scratch.ResetWrittenCount();
        ServerFrameWriter.WriteAck(scratch, requestId, roomId, seq, id, timestamp);
        return scratch.WrittenSpan.ToArray();
    }
}
