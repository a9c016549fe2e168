using System.Buffers;
using MessagePack;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;

namespace TeamComms.Benchmarks;

/// <summary>Inputs shared by the benchmarks: a message content map of a given body size and its Event frame.</summary>
internal static class BenchData
{
    public const string RoomId = "!q2V7mXc9Lk3pR8sT@bench.local";
    public const string UserId = "user00042@bench.local";

    /// <summary>A canonical <c>{body: "xxx…"}</c> map whose body is <paramref name="payload"/> bytes.</summary>
    public static byte[] Content(int payload) =>
        MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["body"] = new string('x', payload) });

    /// <summary>The Event frame <c>[68, pos, event]</c> as clients receive it.</summary>
    public static byte[] EventFrame(byte[] content, long pos)
    {
        var hash = new byte[32];
        EventCodec.ComputeContentHash(content, hash);
        var id = EventCodec.ComputeId(1, RoomId, pos, null, UserId, EventTypes.Message, 1_700_000_000_000, hash);
        var wire = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(wire);
        EventCodec.Write(ref w, 1, id, RoomId, pos, null, UserId, EventTypes.Message, 1_700_000_000_000, hash, content, redacted: false);
        w.Flush();
        var frame = new ArrayBufferWriter<byte>();
        ServerFrameWriter.WriteEvent(frame, pos, wire.WrittenSpan);
        return frame.WrittenSpan.ToArray();
    }
}
