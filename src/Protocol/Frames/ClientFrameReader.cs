using System.Buffers;
using MessagePack;
using TeamComms.Protocol.Canonical;

namespace TeamComms.Protocol.Frames;

/// <summary>
/// Decodes frames a client sent. A WebSocket message holds one or more frames back to back; call
/// <see cref="Read"/> until the reader is at its end. Throws <see cref="ProtocolException"/> for malformed input,
/// with the request id when it could be read.
/// </summary>
public static class ClientFrameReader
{
    /// <summary>Decodes the next frame.</summary>
    public static ClientFrame Read(ref MessagePackReader r, int maxContentBytes = Limits.DefaultMaxContentBytes)
    {
        ulong req = 0;
        try
        {
            if (r.NextMessagePackType != MessagePackType.Array)
            {
                ProtocolException.Throw(ErrorCode.BadFrame, "a frame is a MessagePack array");
            }
            var n = r.ReadArrayHeader();
            if (n < 1 || r.NextMessagePackType != MessagePackType.Integer)
            {
                ProtocolException.Throw(ErrorCode.BadFrame, "a frame starts with its integer type");
            }
            var type = r.ReadInt32();
            ClientFrame frame;
            int used;
            switch (type)
            {
                case FrameType.Hello:
                    Need(n, 3, "Hello");
                    frame = ReadHello(ref r, n);
                    used = Math.Min(n, 6);
                    break;
                case FrameType.Ping:
                    Need(n, 2, "Ping");
                    req = ReadRequestId(ref r);
                    frame = new PingFrame(req);
                    used = 2;
                    break;
                case FrameType.Send:
                    Need(n, 6, "Send");
                    req = ReadRequestId(ref r);
                    var room = ReadString(ref r, "room", Identifiers.MaxIdLength);
                    var txn = ReadString(ref r, "txn", Limits.MaxTransactionIdLength);
                    var evType = ReadString(ref r, "type", 64);
                    if (r.NextMessagePackType != MessagePackType.Map)
                    {
                        ProtocolException.Throw(ErrorCode.BadField, "'content' must be a map");
                    }
                    var raw = r.ReadRaw();
                    if (raw.Length > maxContentBytes)
                    {
                        ProtocolException.Throw(ErrorCode.ContentTooLarge, $"content is {raw.Length} bytes; the limit is {maxContentBytes}");
                    }
                    var content = CanonicalMessagePack.CanonicalizeMap(raw.IsSingleSegment ? raw.First : raw.ToArray());
                    if (content.Length > maxContentBytes)
                    {
                        ProtocolException.Throw(ErrorCode.ContentTooLarge, $"content is {content.Length} bytes; the limit is {maxContentBytes}");
                    }
                    frame = new SendFrame(req, room, txn, evType, content);
                    used = 6;
                    break;
                case FrameType.Received:
                    Need(n, 2, "Received");
                    frame = new ReceivedFrame(ReadBin(ref r, "resume", 64));
                    used = 2;
                    break;
                case FrameType.Call:
                    Need(n, 4, "Call");
                    req = ReadRequestId(ref r);
                    var method = ReadString(ref r, "method", 64);
                    if (r.NextMessagePackType != MessagePackType.Map)
                    {
                        ProtocolException.Throw(ErrorCode.BadField, "'params' must be a map");
                    }
                    frame = new CallFrame(req, method, new FieldMap(MsgPackValue.ReadMap(ref r)));
                    used = 4;
                    break;
                default:
                    // Skip the rest so the following frames of the same message can still be read.
                    for (var i = 1; i < n; i++)
                    {
                        r.Skip();
                    }
                    throw new ProtocolException(ErrorCode.UnknownFrame, $"unknown frame type {type}");
            }
            for (var i = used; i < n; i++)
            {
                r.Skip(); // forward compatibility: newer clients may append fields
            }
            return frame;
        }
        catch (ProtocolException ex) when (ex.RequestId == 0 && req != 0)
        {
            throw new ProtocolException(ex.Code, ex.Message, ex) { RequestId = req };
        }
        catch (MessagePackSerializationException ex)
        {
            throw new ProtocolException(ErrorCode.BadField, "wrong field type: " + ex.Message, ex) { RequestId = req };
        }
        catch (EndOfStreamException ex)
        {
            throw new ProtocolException(ErrorCode.BadFrame, "truncated frame", ex) { RequestId = req };
        }
        catch (OverflowException ex)
        {
            throw new ProtocolException(ErrorCode.BadField, "integer out of range", ex) { RequestId = req };
        }
    }

    private static HelloFrame ReadHello(ref MessagePackReader r, int n)
    {
        if (r.NextMessagePackType != MessagePackType.Array)
        {
            ProtocolException.Throw(ErrorCode.BadField, "'versions' must be an array of integers");
        }
        var count = r.ReadArrayHeader();
        if (count is < 1 or > 16)
        {
            ProtocolException.Throw(ErrorCode.BadField, "'versions' must list 1 to 16 versions");
        }
        var versions = new int[count];
        for (var i = 0; i < count; i++)
        {
            versions[i] = r.ReadInt32();
        }
        var token = ReadString(ref r, "token", 512);
        byte[]? resume = null;
        IReadOnlyList<string>? rooms = null;
        string? client = null;
        if (n > 3 && !r.TryReadNil())
        {
            resume = ReadBin(ref r, "resume", 64);
        }
        if (n > 4 && !r.TryReadNil())
        {
            var rc = r.ReadArrayHeader();
            if (rc > 10_000)
            {
                ProtocolException.Throw(ErrorCode.BadField, "'rooms' lists more than 10000 rooms");
            }
            var list = new string[rc];
            for (var i = 0; i < rc; i++)
            {
                list[i] = ReadString(ref r, "rooms", Identifiers.MaxIdLength);
            }
            rooms = list;
        }
        if (n > 5 && !r.TryReadNil())
        {
            client = ReadString(ref r, "client", 128);
        }
        return new HelloFrame(versions, token, resume, rooms, client);
    }

    private static void Need(int n, int min, string name)
    {
        if (n < min)
        {
            ProtocolException.Throw(ErrorCode.BadFrame, $"{name} has at least {min} elements, got {n}");
        }
    }

    private static ulong ReadRequestId(ref MessagePackReader r)
    {
        if (r.NextMessagePackType != MessagePackType.Integer)
        {
            ProtocolException.Throw(ErrorCode.BadField, "'req' must be an unsigned integer");
        }
        return r.ReadUInt64();
    }

    private static string ReadString(ref MessagePackReader r, string name, int maxLength)
    {
        if (r.NextMessagePackType != MessagePackType.String)
        {
            ProtocolException.Throw(ErrorCode.BadField, $"'{name}' must be a string");
        }
        var s = r.ReadString()!;
        if (s.Length > maxLength)
        {
            ProtocolException.Throw(ErrorCode.BadField, $"'{name}' is longer than {maxLength}");
        }
        return s;
    }

    private static byte[] ReadBin(ref MessagePackReader r, string name, int maxLength)
    {
        if (r.NextMessagePackType != MessagePackType.Binary)
        {
            ProtocolException.Throw(ErrorCode.BadField, $"'{name}' must be binary");
        }
        var b = r.ReadBytes()!.Value;
        if (b.Length > maxLength)
        {
            ProtocolException.Throw(ErrorCode.BadField, $"'{name}' is longer than {maxLength} bytes");
        }
        return b.ToArray();
    }
}
