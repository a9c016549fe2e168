using System.Buffers;
using MessagePack;
using TeamComms.Protocol.Events;

namespace TeamComms.Protocol.Frames;

/// <summary>Encodes the frames a server sends.</summary>
public static class ServerFrameWriter
{
    /// <summary>Welcome: the session is open.</summary>
    public static void WriteWelcome(IBufferWriter<byte> output, int version, string userId, string sessionId,
        ReadOnlySpan<byte> resume, long serverTimeMs, IReadOnlyDictionary<string, object?> limits)
    {
        var w = new MessagePackWriter(output);
        w.WriteArrayHeader(7);
        w.Write(FrameType.Welcome);
        w.Write(version);
        w.Write(userId);
        w.Write(sessionId);
        w.Write(resume);
        w.Write(serverTimeMs);
        MsgPackValue.Write(ref w, limits);
        w.Flush();
    }

    /// <summary>Error: a stable code, its name and a message.</summary>
    public static void WriteError(IBufferWriter<byte> output, ulong requestId, ErrorCode code, string message)
    {
        var w = new MessagePackWriter(output);
        w.WriteArrayHeader(5);
        w.Write(FrameType.Error);
        w.Write(requestId);
        w.Write((int)code);
        w.Write(ErrorCodes.Name(code));
        w.Write(message);
        w.Flush();
    }

    /// <summary>Pong.</summary>
    public static void WritePong(IBufferWriter<byte> output, ulong requestId, long serverTimeMs)
    {
        var w = new MessagePackWriter(output);
        w.WriteArrayHeader(3);
        w.Write(FrameType.Pong);
        w.Write(requestId);
        w.Write(serverTimeMs);
        w.Flush();
    }

    /// <summary>Ack: the proposed event is durable at <paramref name="seq"/>.</summary>
    public static void WriteAck(IBufferWriter<byte> output, ulong requestId, string roomId, long seq, EventId id, long timestamp)
    {
        var w = new MessagePackWriter(output);
        w.WriteArrayHeader(6);
        w.Write(FrameType.Ack);
        w.Write(requestId);
        w.Write(roomId);
        w.Write(seq);
        EventCodec.WriteId(ref w, id);
        w.Write(timestamp);
        w.Flush();
    }

    /// <summary>The 2-element prefix of an Event frame; the event's wire bytes follow it.</summary>
    public static void WriteEventPrefix(ref MessagePackWriter w, long pos)
    {
        w.WriteArrayHeader(3);
        w.Write(FrameType.Event);
        w.Write(pos);
    }

    /// <summary>Event frame around already-encoded event bytes.</summary>
    public static void WriteEvent(IBufferWriter<byte> output, long pos, ReadOnlySpan<byte> eventBytes)
    {
        var w = new MessagePackWriter(output);
        WriteEventPrefix(ref w, pos);
        w.WriteRaw(eventBytes);
        w.Flush();
    }

    /// <summary>Position: the resume token after the events sent so far.</summary>
    public static void WritePosition(IBufferWriter<byte> output, ReadOnlySpan<byte> resume)
    {
        var w = new MessagePackWriter(output);
        w.WriteArrayHeader(2);
        w.Write(FrameType.Position);
        w.Write(resume);
        w.Flush();
    }

    /// <summary>Result of a Call. <paramref name="result"/> is any value <see cref="MsgPackValue.Write"/> accepts.</summary>
    public static void WriteResult(IBufferWriter<byte> output, ulong requestId, object? result)
    {
        var w = new MessagePackWriter(output);
        w.WriteArrayHeader(3);
        w.Write(FrameType.Result);
        w.Write(requestId);
        MsgPackValue.Write(ref w, result);
        w.Flush();
    }

    /// <summary>Wipe: erase local company data and sign out.</summary>
    public static void WriteWipe(IBufferWriter<byte> output, string reason)
    {
        var w = new MessagePackWriter(output);
        w.WriteArrayHeader(2);
        w.Write(FrameType.Wipe);
        w.Write(reason);
        w.Flush();
    }

    /// <summary>Notify: whether this device should alert for an event, and why.</summary>
    public static void WriteNotify(IBufferWriter<byte> output, string roomId, long seq, bool notify, string reason, long? count = null)
    {
        var w = new MessagePackWriter(output);
        w.WriteArrayHeader(count is null ? 5 : 6);
        w.Write(FrameType.Notify);
        w.Write(roomId);
        w.Write(seq);
        w.Write(notify);
        w.Write(reason);
        if (count is { } c)
        {
            w.Write(c);
        }
        w.Flush();
    }

    /// <summary>Pending: the send is queued for the room's hub; the Ack follows when the hub has ordered it.</summary>
    public static void WritePending(IBufferWriter<byte> output, ulong requestId, string roomId, string transactionId)
    {
        var w = new MessagePackWriter(output);
        w.WriteArrayHeader(4);
        w.Write(FrameType.Pending);
        w.Write(requestId);
        w.Write(roomId);
        w.Write(transactionId);
        w.Flush();
    }

    /// <summary>Encodes a frame with one of the writers above into a new array.</summary>
    public static byte[] ToArray(Action<IBufferWriter<byte>> write)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        write(buffer);
        return buffer.WrittenSpan.ToArray();
    }
}
