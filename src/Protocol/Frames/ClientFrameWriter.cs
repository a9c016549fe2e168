using System.Buffers;
using MessagePack;

namespace TeamComms.Protocol.Frames;

/// <summary>Encodes the frames a client sends.</summary>
public static class ClientFrameWriter
{
    /// <summary>Hello, the first frame of a connection.</summary>
    public static void WriteHello(IBufferWriter<byte> output, IReadOnlyList<int> versions, string token,
        ReadOnlySpan<byte> resume, IReadOnlyList<string>? rooms, string? clientName)
    {
        var w = new MessagePackWriter(output);
        w.WriteArrayHeader(6);
        w.Write(FrameType.Hello);
        w.WriteArrayHeader(versions.Count);
        foreach (var v in versions)
        {
            w.Write(v);
        }
        w.Write(token);
        if (resume.IsEmpty)
        {
            w.WriteNil();
        }
        else
        {
            w.Write(resume);
        }
        if (rooms is null)
        {
            w.WriteNil();
        }
        else
        {
            w.WriteArrayHeader(rooms.Count);
            foreach (var room in rooms)
            {
                w.Write(room);
            }
        }
        if (clientName is null)
        {
            w.WriteNil();
        }
        else
        {
            w.Write(clientName);
        }
        w.Flush();
    }

    /// <summary>Ping.</summary>
    public static void WritePing(IBufferWriter<byte> output, ulong requestId)
    {
        var w = new MessagePackWriter(output);
        w.WriteArrayHeader(2);
        w.Write(FrameType.Ping);
        w.Write(requestId);
        w.Flush();
    }

    /// <summary>Send; <paramref name="content"/> is an encoded MessagePack map.</summary>
    public static void WriteSend(IBufferWriter<byte> output, ulong requestId, string roomId, string transactionId, string type, ReadOnlySpan<byte> content)
    {
        var w = new MessagePackWriter(output);
        w.WriteArrayHeader(6);
        w.Write(FrameType.Send);
        w.Write(requestId);
        w.Write(roomId);
        w.Write(transactionId);
        w.Write(type);
        w.WriteRaw(content);
        w.Flush();
    }

    /// <summary>Received: receipt confirmation up to a resume token.</summary>
    public static void WriteReceived(IBufferWriter<byte> output, ReadOnlySpan<byte> resume)
    {
        var w = new MessagePackWriter(output);
        w.WriteArrayHeader(2);
        w.Write(FrameType.Received);
        w.Write(resume);
        w.Flush();
    }

    /// <summary>Call with a parameter map.</summary>
    public static void WriteCall(IBufferWriter<byte> output, ulong requestId, string method, IReadOnlyDictionary<string, object?> parameters)
    {
        var w = new MessagePackWriter(output);
        w.WriteArrayHeader(4);
        w.Write(FrameType.Call);
        w.Write(requestId);
        w.Write(method);
        MsgPackValue.Write(ref w, parameters);
        w.Flush();
    }
}
