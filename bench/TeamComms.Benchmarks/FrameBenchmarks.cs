using System.Buffers;
using BenchmarkDotNet.Attributes;
using MessagePack;
using TeamComms.Protocol;
using TeamComms.Protocol.Canonical;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;

namespace TeamComms.Benchmarks;

/// <summary>Frame encode and decode, on both sides of the wire.</summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
public class FrameBenchmarks
{
    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private byte[] _content = null!;
    private byte[] _sendFrame = null!;
    private byte[] _eventFrame = null!;
    private byte[] _resume = null!;
    private EventId _eventId;

    [Params(64, 1024)]
    public int Payload { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _content = BenchData.Content(Payload);
        var buffer = new ArrayBufferWriter<byte>();
        ClientFrameWriter.WriteSend(buffer, 42, BenchData.RoomId, "txn-000001", EventTypes.Message, _content);
        _sendFrame = buffer.WrittenSpan.ToArray();
        _eventFrame = BenchData.EventFrame(_content, 1234);
        _resume = new ResumeToken(7, 1234).ToArray();
        _eventId = EventCodec.ComputeId(1, BenchData.RoomId, 1, null, BenchData.UserId, EventTypes.Message, 1, new byte[32]);
    }

    [Benchmark(Description = "encode Send (client)")]
    public int EncodeSend()
    {
        _output.ResetWrittenCount();
        ClientFrameWriter.WriteSend(_output, 42, BenchData.RoomId, "txn-000001", EventTypes.Message, _content);
        return _output.WrittenCount;
    }

    [Benchmark(Description = "decode Send (server)")]
    public ClientFrame DecodeSend()
    {
        var r = new MessagePackReader(_sendFrame);
        return ClientFrameReader.Read(ref r);
    }

    [Benchmark(Description = "encode Position (server)")]
    public int EncodePosition()
    {
        _output.ResetWrittenCount();
        ServerFrameWriter.WritePosition(_output, _resume);
        return _output.WrittenCount;
    }

    [Benchmark(Description = "encode Ack (server, one per send)")]
    public byte[] EncodeAck() => TeamComms.Server.Connections.ControlFrames.Ack(42, BenchData.RoomId, 1234, _eventId, 1_700_000_000_000);

    [Benchmark(Description = "decode Event (client library)")]
    public ServerFrame DecodeEvent()
    {
        var r = new MessagePackReader(_eventFrame);
        return ServerFrameReader.Read(ref r);
    }

    [Benchmark(Description = "canonicalize content map")]
    public byte[] Canonicalize() => CanonicalMessagePack.CanonicalizeMap(_content);
}
