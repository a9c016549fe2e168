using System.Buffers;
using MessagePack;
using TeamComms.Protocol.Events;

namespace TeamComms.Protocol.Frames;

/// <summary>Decodes frames a server sent (client side). One WebSocket message may carry several frames.</summary>
public static class ServerFrameReader
{
    /// <summary>Decodes the next frame.</summary>
    public static ServerFrame Read(ref MessagePackReader r)
    {
        try
        {
            var n = r.ReadArrayHeader();
            if (n < 1)
            {
                ProtocolException.Throw(ErrorCode.BadFrame, "empty frame");
            }
            var type = r.ReadInt32();
            ServerFrame frame;
            int used;
            switch (type)
            {
                case FrameType.Welcome:
                    frame = new WelcomeFrame(r.ReadInt32(), r.ReadString()!, r.ReadString()!, r.ReadBytes()!.Value.ToArray(), r.ReadInt64(), MsgPackValue.ReadMap(ref r));
                    used = 7;
                    break;
                case FrameType.Error:
                    var req = r.ReadUInt64();
                    var code = (ErrorCode)r.ReadInt32();
                    frame = new ErrorFrame(req, code, r.ReadString()!, r.ReadString()!);
                    used = 5;
                    break;
                case FrameType.Pong:
                    frame = new PongFrame(r.ReadUInt64(), r.ReadInt64());
                    used = 3;
                    break;
                case FrameType.Ack:
                    frame = new AckFrame(r.ReadUInt64(), r.ReadString()!, r.ReadInt64(), EventCodec.ReadId(ref r), r.ReadInt64());
                    used = 6;
                    break;
                case FrameType.Event:
                    var pos = r.ReadInt64();
                    frame = new EventFrame(pos, EventCodec.Read(ref r));
                    used = 3;
                    break;
                case FrameType.Position:
                    frame = new PositionFrame(r.ReadBytes()!.Value.ToArray());
                    used = 2;
                    break;
                case FrameType.Result:
                    frame = new ResultFrame(r.ReadUInt64(), MsgPackValue.Read(ref r));
                    used = 3;
                    break;
                case FrameType.Wipe:
                    frame = new WipeFrame(r.ReadString()!);
                    used = 2;
                    break;
                case FrameType.Notify:
                    frame = new NotifyFrame(r.ReadString()!, r.ReadInt64(), r.ReadBoolean(), r.ReadString()!);
                    used = 5;
                    if (n > 5)
                    {
                        if (!r.TryReadNil())
                        {
                            frame = (NotifyFrame)frame with { Count = r.ReadInt64() };
                        }
                        used = 6;
                    }
                    break;
                case FrameType.Pending:
                    frame = new PendingFrame(r.ReadUInt64(), r.ReadString()!, r.ReadString()!);
                    used = 4;
                    break;
                default:
                    frame = new UnknownServerFrame(type);
                    used = 1;
                    break;
            }
            for (var i = used; i < n; i++)
            {
                r.Skip();
            }
            return frame;
        }
        catch (MessagePackSerializationException ex)
        {
            throw new ProtocolException(ErrorCode.BadFrame, "malformed server frame: " + ex.Message, ex);
        }
        catch (EndOfStreamException ex)
        {
            throw new ProtocolException(ErrorCode.BadFrame, "truncated server frame", ex);
        }
    }

    /// <summary>Decodes every frame of one WebSocket message.</summary>
    public static List<ServerFrame> ReadAll(ReadOnlyMemory<byte> message)
    {
        var frames = new List<ServerFrame>();
        var r = new MessagePackReader(message);
        while (!r.End)
        {
            frames.Add(Read(ref r));
        }
        return frames;
    }
}
