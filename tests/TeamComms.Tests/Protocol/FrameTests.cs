using System.Buffers;
using MessagePack;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;

namespace TeamComms.Tests.Protocol;

public class FrameTests
{
    private static ClientFrame ReadClient(byte[] bytes)
    {
        var r = new MessagePackReader(bytes);
        return ClientFrameReader.Read(ref r);
    }

    private static byte[] Write(Action<IBufferWriter<byte>> write)
    {
        var b = new ArrayBufferWriter<byte>();
        write(b);
        return b.WrittenSpan.ToArray();
    }

    [Fact]
    public void Hello_RoundTrips()
    {
        var resume = new ResumeToken(7, 42).ToArray();
        var frame = (HelloFrame)ReadClient(Write(b => ClientFrameWriter.WriteHello(b, [1, 2], "tc_token", resume, ["!aaaaaaaaaaaaaaaa@x.y"], "cli")));
        Assert.Equal([1, 2], frame.Versions);
        Assert.Equal("tc_token", frame.Token);
        Assert.Equal(resume, frame.Resume);
        Assert.Equal("!aaaaaaaaaaaaaaaa@x.y", Assert.Single(frame.Rooms!));
        Assert.Equal("cli", frame.ClientName);
    }

    [Fact]
    public void Send_CanonicalizesContent()
    {
        var content = MsgPackValue.ToBytes(new Dictionary<string, object?> { ["z"] = 1L, ["a"] = "x" });
        var frame = (SendFrame)ReadClient(Write(b => ClientFrameWriter.WriteSend(b, 9, "!aaaaaaaaaaaaaaaa@x.y", "t1", "message", content)));
        Assert.Equal(9UL, frame.RequestId);
        Assert.True(TeamComms.Protocol.Canonical.CanonicalMessagePack.IsCanonical(frame.Content));
        Assert.Equal("x", MsgPackValue.ReadMap(frame.Content)["a"]);
    }

    [Fact]
    public void Send_OversizedContent_ThrowsContentTooLargeWithRequestId()
    {
        var content = MsgPackValue.ToBytes(new Dictionary<string, object?> { ["body"] = new string('x', 2000) });
        var bytes = Write(b => ClientFrameWriter.WriteSend(b, 5, "!aaaaaaaaaaaaaaaa@x.y", "t1", "message", content));
        var ex = Assert.Throws<ProtocolException>(() =>
        {
            var r = new MessagePackReader(bytes);
            ClientFrameReader.Read(ref r, maxContentBytes: 1000);
        });
        Assert.Equal(ErrorCode.ContentTooLarge, ex.Code);
        Assert.Equal(5UL, ex.RequestId);
    }

    [Fact]
    public void Read_WrongFieldType_ThrowsBadFieldWithRequestId()
    {
        // [3, 17, 12345 (room should be a string), ...]
        byte[] bytes = [0x96, 0x03, 0x11, 0xCD, 0x30, 0x39, 0xA1, (byte)'t', 0xA1, (byte)'m', 0x80];
        var ex = Assert.Throws<ProtocolException>(() => ReadClient(bytes));
        Assert.Equal(ErrorCode.BadField, ex.Code);
        Assert.Equal(17UL, ex.RequestId);
    }

    [Fact]
    public void Read_UnknownType_ThrowsUnknownFrameAndSkipsIt()
    {
        byte[] bytes = [0x92, 0x3F, 0xA1, (byte)'x', 0x92, 0x02, 0x07]; // [63, "x"] then [2, 7] (Ping 7)
        var r = new MessagePackReader(bytes);
        ProtocolException? ex = null;
        try
        {
            ClientFrameReader.Read(ref r);
        }
        catch (ProtocolException e)
        {
            ex = e;
        }
        Assert.Equal(ErrorCode.UnknownFrame, ex?.Code);
        Assert.Equal(7UL, ((PingFrame)ClientFrameReader.Read(ref r)).RequestId);
    }

    [Theory]
    [InlineData(new byte[] { 0xC1 })] // never-used byte
    [InlineData(new byte[] { 0x80 })] // a map, not an array
    [InlineData(new byte[] { 0x91, 0xA1, (byte)'x' })] // type is not an integer
    [InlineData(new byte[] { 0x93, 0x03 })] // truncated
    public void Read_Malformed_ThrowsProtocolException(byte[] bytes) => Assert.Throws<ProtocolException>(() => ReadClient(bytes));

    [Fact]
    public void Read_RequestIdAsFloat_IsRefused()
    {
        byte[] bytes = [0x92, 0x02, 0xCB, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0]; // [2, 1.0]
        Assert.Equal(ErrorCode.BadField, Assert.Throws<ProtocolException>(() => ReadClient(bytes)).Code);
    }

    [Fact]
    public void ServerFrames_RoundTrip()
    {
        var id = EventCodecTests.Chain(1)[0].Id;
        var message = Write(b =>
        {
            ServerFrameWriter.WriteAck(b, 3, "!aaaaaaaaaaaaaaaa@x.y", 12, id, 99);
            ServerFrameWriter.WriteError(b, 4, ErrorCode.NotMember, "nope");
            ServerFrameWriter.WritePosition(b, new ResumeToken(1, 2).ToArray());
            ServerFrameWriter.WriteEvent(b, 77, EventCodec.ToBytes(EventCodecTests.Chain(1)[0]));
        });
        var frames = ServerFrameReader.ReadAll(message);
        Assert.Equal(4, frames.Count);
        var ack = Assert.IsType<AckFrame>(frames[0]);
        Assert.Equal((3UL, 12L, id), (ack.RequestId, ack.Seq, ack.EventId));
        var error = Assert.IsType<ErrorFrame>(frames[1]);
        Assert.Equal(("not_member", ErrorCode.NotMember), (error.Name, error.Code));
        Assert.True(ResumeToken.TryParse(Assert.IsType<PositionFrame>(frames[2]).Resume, out var token));
        Assert.Equal(2, token.Position);
        Assert.Equal(77, Assert.IsType<EventFrame>(frames[3]).Position);
    }

    [Fact]
    public void ResumeToken_RejectsWrongLengthOrVersion()
    {
        Assert.False(ResumeToken.TryParse(new byte[16], out _));
        var bytes = new ResumeToken(1, 1).ToArray();
        bytes[0] = 2;
        Assert.False(ResumeToken.TryParse(bytes, out _));
    }

    [Fact]
    public void ErrorCodes_NamesAreStableSnakeCase()
    {
        Assert.Equal("not_member", ErrorCodes.Name(ErrorCode.NotMember));
        Assert.Equal("frame_too_large", ErrorCodes.Name(ErrorCode.FrameTooLarge));
        Assert.True(ErrorCodes.TryParse("rate_limited", out var code));
        Assert.Equal(ErrorCode.RateLimited, code);
        foreach (var c in Enum.GetValues<ErrorCode>())
        {
            Assert.Matches("^[a-z_]+$", ErrorCodes.Name(c));
        }
    }

    [Theory]
    [InlineData("alice@acme.example", true)]
    [InlineData("alice@acme.example:8448", true)]
    [InlineData("Alice@acme.example", false)]
    [InlineData("alice", false)]
    [InlineData("alice@", false)]
    [InlineData("alice@acme..example", false)]
    public void Identifiers_UserIds(string id, bool valid) => Assert.Equal(valid, Identifiers.IsValidUserId(id));

    [Fact]
    public void Identifiers_NewRoomId_IsValidAndCarriesServer()
    {
        var id = Identifiers.NewRoomId("acme.example");
        Assert.True(Identifiers.IsValidRoomId(id));
        Assert.Equal("acme.example", Identifiers.ServerOf(id));
    }
}
