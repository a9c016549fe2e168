using System.Buffers;
using BenchmarkDotNet.Attributes;
using MessagePack;
using TeamComms.Protocol.Events;

namespace TeamComms.Benchmarks;

/// <summary>Canonical encoding of an event, its content hash and its id: the sequencer's per-event work.</summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
public class EventIdBenchmarks
{
    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private readonly byte[] _hash = new byte[32];
    private byte[] _content = null!;
    private EventId _prev;

    [Params(64, 1024)]
    public int Payload { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _content = BenchData.Content(Payload);
        EventCodec.ComputeContentHash(_content, _hash);
        _prev = EventCodec.ComputeId(1, BenchData.RoomId, 1, null, BenchData.UserId, EventTypes.Message, 1_700_000_000_000, _hash);
    }

    [Benchmark(Description = "content hash (SHA-256)")]
    public byte ContentHash()
    {
        EventCodec.ComputeContentHash(_content, _hash);
        return _hash[0];
    }

    [Benchmark(Description = "event id (canonical id input + SHA-256)")]
    public EventId ComputeId() =>
        EventCodec.ComputeId(1, BenchData.RoomId, 2, _prev, BenchData.UserId, EventTypes.Message, 1_700_000_000_001, _hash);

    [Benchmark(Description = "encode event wire form")]
    public int EncodeEvent()
    {
        _output.ResetWrittenCount();
        var w = new MessagePackWriter(_output);
        EventCodec.Write(ref w, 1, _prev, BenchData.RoomId, 2, _prev, BenchData.UserId, EventTypes.Message, 1_700_000_000_001, _hash, _content, redacted: false);
        w.Flush();
        return _output.WrittenCount;
    }
}
