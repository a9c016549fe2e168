using System.Buffers;
using System.Security.Cryptography;
using MessagePack;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;

namespace TeamComms.Tests.Protocol;

public class EventCodecTests
{
    internal static List<RoomEvent> Chain(int count, string room = "!aaaaaaaaaaaaaaaa@acme.example")
    {
        var events = new List<RoomEvent>();
        EventId? prev = null;
        for (var seq = 1; seq <= count; seq++)
        {
            var content = MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["body"] = $"message {seq}" });
            var hash = SHA256.HashData(content);
            var id = EventCodec.ComputeId(1, room, seq, prev, "alice@acme.example", EventTypes.Message, 1_700_000_000_000 + seq, hash);
            events.Add(new RoomEvent
            {
                Version = 1, Id = id, RoomId = room, Seq = seq, Prev = prev, Sender = "alice@acme.example",
                Type = EventTypes.Message, Timestamp = 1_700_000_000_000 + seq, ContentHash = hash, Content = content,
            });
            prev = id;
        }
        return events;
    }

    [Fact]
    public void WriteThenRead_RoundTripsEveryField()
    {
        var e = Chain(2)[1];
        var decoded = EventCodec.Read(EventCodec.ToBytes(e));
        Assert.Equal(e.Id, decoded.Id);
        Assert.Equal(e.Prev, decoded.Prev);
        Assert.Equal(e.Seq, decoded.Seq);
        Assert.Equal(e.Content!.Value.ToArray(), decoded.Content!.Value.ToArray());
        Assert.True(EventCodec.Verify(decoded));
    }

    [Fact]
    public void VerifyChain_IntactChain_ReturnsMinusOne() => Assert.Equal(-1, EventCodec.VerifyChain(Chain(5), null, 0));

    [Fact]
    public void VerifyChain_ChangedContent_DetectsTheEvent()
    {
        var events = Chain(5);
        var tampered = MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["body"] = "changed" });
        events[2] = new RoomEvent
        {
            Version = 1, Id = events[2].Id, RoomId = events[2].RoomId, Seq = 3, Prev = events[2].Prev, Sender = events[2].Sender,
            Type = events[2].Type, Timestamp = events[2].Timestamp, ContentHash = events[2].ContentHash, Content = tampered,
        };
        Assert.Equal(2, EventCodec.VerifyChain(events, null, 0));
    }

    [Fact]
    public void VerifyChain_DroppedEvent_IsDetected()
    {
        var events = Chain(5);
        events.RemoveAt(1);
        Assert.Equal(1, EventCodec.VerifyChain(events, null, 0));
    }

    [Fact]
    public void Redaction_KeepsIdAndChainVerifiable()
    {
        var events = Chain(3);
        var e = events[1];
        events[1] = new RoomEvent
        {
            Version = 1, Id = e.Id, RoomId = e.RoomId, Seq = e.Seq, Prev = e.Prev, Sender = e.Sender, Type = e.Type,
            Timestamp = e.Timestamp, ContentHash = e.ContentHash, Content = null,
        };
        Assert.True(events[1].IsRedacted);
        Assert.Equal(-1, EventCodec.VerifyChain(events, null, 0));
        Assert.True(EventCodec.Read(EventCodec.ToBytes(events[1])).IsRedacted);
    }

    [Fact]
    public void ComputeId_DependsOnPredecessorAndSeq()
    {
        var hash = new byte[32];
        var a = EventCodec.ComputeId(1, "!aaaaaaaaaaaaaaaa@x.y", 2, null, "a@x.y", "message", 1, hash);
        var b = EventCodec.ComputeId(1, "!aaaaaaaaaaaaaaaa@x.y", 3, null, "a@x.y", "message", 1, hash);
        var c = EventCodec.ComputeId(1, "!aaaaaaaaaaaaaaaa@x.y", 2, a, "a@x.y", "message", 1, hash);
        Assert.NotEqual(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Read_IntegersOfAnyWidth_AreAccepted()
    {
        var e = Chain(1)[0];
        // Re-encode with seq and ts as 64-bit integers (0xCF / 0xD3) instead of the shortest form.
        var buffer = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(buffer);
        w.WriteArrayHeader(10);
        w.WriteUInt64(1);
        w.Write(e.Id.ToArray());
        w.Write(e.RoomId);
        w.WriteUInt64((ulong)e.Seq);
        w.WriteNil();
        w.Write(e.Sender);
        w.Write(e.Type);
        w.WriteInt64(e.Timestamp);
        w.Write(e.ContentHash);
        w.WriteRaw(e.Content!.Value.Span);
        w.Flush();
        var decoded = EventCodec.Read(buffer.WrittenMemory);
        Assert.True(EventCodec.Verify(decoded));
    }

    [Fact]
    public void Read_FloatWhereIntegerExpected_Throws()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(buffer);
        w.WriteArrayHeader(10);
        w.Write(1.0); // version as a float
        w.Flush();
        Assert.Throws<ProtocolException>(() => EventCodec.Read(buffer.WrittenMemory));
    }

    [Fact]
    public void EventId_Base64Url_RoundTrips()
    {
        var id = Chain(1)[0].Id;
        Assert.Equal(43, id.ToString().Length);
        Assert.Equal(id, EventId.Parse(id.ToString()));
    }
}
