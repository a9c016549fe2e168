using System.Buffers;
using MessagePack;
using Microsoft.Extensions.Time.Testing;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Server;

public class BadInputTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private TestServer Server => shared.Server;

    private async Task<(TestUser User, string Room, RawClient Raw)> SetupAsync()
    {
        var user = await Server.CreateUserAsync();
        await using var conn = await user.ConnectAsync();
        var room = await conn.CreateRoomAsync("bad input");
        return (user, room, await RawClient.HelloAsync(Server, user.Token));
    }

    private async Task AssertOnlyValidEventsStoredAsync(TestUser user, string room, int messages)
    {
        await using var conn = await user.ConnectAsync();
        var page = await conn.HistoryAsync(room, forward: true, limit: 500);
        Assert.Equal(messages, page.Events.Count(e => e.Type == EventTypes.Message));
        Assert.Equal(-1, EventCodec.VerifyChain(page.Events, null, 0));
    }

    [Fact]
    public async Task MalformedMessagePack_GetsBadFrame_AndConnectionStaysUsable()
    {
        var (user, room, raw) = await SetupAsync();
        await using var _ = raw;
        await raw.SendBytesAsync(new byte[] { 0xC1, 0x00, 0xFF });
        var error = await raw.ReceiveUntilAsync<ErrorFrame>();
        Assert.Equal((ErrorCode.BadFrame, "bad_frame"), (error.Code, error.Name));
        await raw.SendAsync(b => ClientFrameWriter.WritePing(b, 5));
        Assert.Equal(5UL, (await raw.ReceiveUntilAsync<PongFrame>()).RequestId);
        await AssertOnlyValidEventsStoredAsync(user, room, 0);
    }

    [Fact]
    public async Task WrongFieldTypes_GetBadFieldWithRequestId_NothingStored()
    {
        var (user, room, raw) = await SetupAsync();
        await using var _ = raw;
        // Send with the room as an integer.
        await raw.SendAsync(b =>
        {
            var w = new MessagePackWriter(b);
            w.WriteArrayHeader(6);
            w.Write(FrameType.Send);
            w.Write(11);
            w.Write(12345);
            w.Write("txn");
            w.Write("message");
            w.WriteMapHeader(0);
            w.Flush();
        });
        var e1 = await raw.ReceiveUntilAsync<ErrorFrame>();
        Assert.Equal((ErrorCode.BadField, 11UL), (e1.Code, e1.RequestId));
        // Content that is not a map.
        await raw.SendAsync(b =>
        {
            var w = new MessagePackWriter(b);
            w.WriteArrayHeader(6);
            w.Write(FrameType.Send);
            w.Write(12);
            w.Write(room);
            w.Write("txn");
            w.Write("message");
            w.Write("not a map");
            w.Flush();
        });
        var e2 = await raw.ReceiveUntilAsync<ErrorFrame>();
        Assert.Equal((ErrorCode.BadField, 12UL), (e2.Code, e2.RequestId));
        // An integer field encoded as a float.
        await raw.SendAsync(b =>
        {
            var w = new MessagePackWriter(b);
            w.WriteArrayHeader(4);
            w.Write(FrameType.Call);
            w.Write(13);
            w.Write("rooms.mark_read");
            w.WriteMapHeader(2);
            w.Write("room");
            w.Write(room);
            w.Write("seq");
            w.Write(1.0);
            w.Flush();
        });
        var e3 = await raw.ReceiveUntilAsync<ErrorFrame>();
        Assert.Equal((ErrorCode.BadField, 13UL), (e3.Code, e3.RequestId));
        await AssertOnlyValidEventsStoredAsync(user, room, 0);
    }

    [Fact]
    public async Task UnknownFrameType_GetsUnknownFrame_AndLaterFramesInTheSameMessageRun()
    {
        var (_, _, raw) = await SetupAsync();
        await using var __ = raw;
        await raw.SendBytesAsync(new byte[] { 0x92, 0x3E, 0x01, 0x92, 0x02, 0x09 }); // [62, 1] then Ping 9
        var frames = new List<ServerFrame>();
        while (!frames.OfType<PongFrame>().Any())
        {
            frames.AddRange(await raw.ReceiveAsync());
        }
        Assert.Contains(frames, f => f is ErrorFrame { Code: ErrorCode.UnknownFrame });
    }

    [Fact]
    public async Task DeeplyNestedContent_IsRefused_WithoutHurtingTheServer()
    {
        var (user, room, raw) = await SetupAsync();
        await using var _ = raw;
        // A Send whose content nests 40,000 arrays deep inside a map: a stack-overflow attempt on recursive readers.
        var nested = new byte[40_000];
        nested[0] = 0x81;
        nested[1] = 0xA1;
        nested[2] = (byte)'k';
        nested.AsSpan(3, nested.Length - 4).Fill(0x91);
        nested[^1] = 0x00;
        await raw.SendAsync(b => ClientFrameWriter.WriteSend(b, 31, room, "deep", "message", nested));
        var error = await raw.ReceiveUntilAsync<ErrorFrame>();
        Assert.Equal((ErrorCode.BadField, 31UL), (error.Code, error.RequestId));
        await raw.SendAsync(b => ClientFrameWriter.WritePing(b, 32));
        Assert.Equal(32UL, (await raw.ReceiveUntilAsync<PongFrame>()).RequestId);
        await AssertOnlyValidEventsStoredAsync(user, room, 0);
    }

    [Fact]
    public async Task UnknownMethod_GetsUnknownFrame()
    {
        var user = await Server.CreateUserAsync();
        await using var conn = await user.ConnectAsync();
        var ex = await Assert.ThrowsAsync<TeamComms.Client.TeamCommsException>(() => conn.CallAsync("rooms.explode"));
        Assert.Equal(ErrorCode.UnknownFrame, ex.Code);
    }

    [Fact]
    public async Task OversizedMessage_GetsFrameTooLarge_AndClose1009()
    {
        var (user, room, raw) = await SetupAsync();
        await using var _ = raw;
        await raw.SendBytesAsync(new byte[Limits.DefaultMaxFrameBytes + 10]);
        var error = await raw.ReceiveUntilAsync<ErrorFrame>();
        Assert.Equal(ErrorCode.FrameTooLarge, error.Code);
        Assert.Equal(CloseCode.MessageTooBig, await raw.ReceiveCloseAsync());
        await AssertOnlyValidEventsStoredAsync(user, room, 0);
    }

    [Fact]
    public async Task OversizedContent_GetsContentTooLarge()
    {
        var (_, room, raw) = await SetupAsync();
        await using var _ = raw;
        var content = MsgPackValue.ToBytes(new Dictionary<string, object?> { ["body"] = new string('x', 50_000) });
        await raw.SendAsync(b => ClientFrameWriter.WriteSend(b, 21, room, "big", "message", content));
        var error = await raw.ReceiveUntilAsync<ErrorFrame>();
        Assert.Equal((ErrorCode.ContentTooLarge, 21UL), (error.Code, error.RequestId));
    }

    [Fact]
    public async Task UnsupportedVersion_IsNamedInTheError_AndClosedWith4002()
    {
        var user = await Server.CreateUserAsync();
        await using var raw = await RawClient.ConnectAsync(Server);
        await raw.SendAsync(b => ClientFrameWriter.WriteHello(b, [7, 8], user.Token, default, null, null));
        var error = (ErrorFrame)(await raw.ReceiveAsync())[0];
        Assert.Equal(ErrorCode.UnsupportedVersion, error.Code);
        Assert.Contains("1", error.Message, StringComparison.Ordinal);
        Assert.Equal(CloseCode.UnsupportedVersion, await raw.ReceiveCloseAsync());
    }

    [Fact]
    public async Task FirstFrameNotHello_IsHelloRequired()
    {
        await using var raw = await RawClient.ConnectAsync(Server);
        await raw.SendAsync(b => ClientFrameWriter.WritePing(b, 1));
        var error = (ErrorFrame)(await raw.ReceiveAsync())[0];
        Assert.Equal(ErrorCode.HelloRequired, error.Code);
        Assert.Equal(CloseCode.ProtocolError, await raw.ReceiveCloseAsync());
    }

    [Fact]
    public async Task BadToken_IsTokenInvalid_AndClosedWith4001()
    {
        await using var raw = await RawClient.ConnectAsync(Server);
        await raw.SendAsync(b => ClientFrameWriter.WriteHello(b, [1], "tc_forged", default, null, null));
        var error = (ErrorFrame)(await raw.ReceiveAsync())[0];
        Assert.Equal(ErrorCode.TokenInvalid, error.Code);
        Assert.Equal(CloseCode.AuthFailed, await raw.ReceiveCloseAsync());
    }

    [Fact]
    public async Task TextMessage_IsRefused()
    {
        var (_, _, raw) = await SetupAsync();
        await using var _ = raw;
        await raw.Socket.SendAsync("hello"u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        Assert.Equal(ErrorCode.BadFrame, (await raw.ReceiveUntilAsync<ErrorFrame>()).Code);
        Assert.Equal(CloseCode.ProtocolError, await raw.ReceiveCloseAsync());
    }

    [Fact]
    public async Task BadClient_DoesNotAffectAnotherClient()
    {
        var alice = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        var room = await a.CreateRoomAsync("r", invite: [bob.UserId]);
        await using var b = await bob.ConnectAsync();
        await b.JoinAsync(room);
        await using var events = new EventCollector(b);
        await using var attacker = await RawClient.HelloAsync(Server, alice.Token);
        var garbage = Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                await attacker.SendBytesAsync(new byte[] { 0xC1, (byte)i });
            }
        });
        for (var i = 0; i < 20; i++)
        {
            await a.SendTextAsync(room, $"m{i}");
        }
        await garbage;
        var got = await events.WaitForMessagesAsync(room, 20);
        Assert.Equal(20, got.Count(e => e.RoomId == room && e.Type == EventTypes.Message));
    }
}

public class LimitTests
{
    [Fact]
    public async Task RateLimit_FramesOverTheBurst_GetRateLimited()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-28T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var server = await TestServer.StartAsync(new()
        {
            ["TeamComms:Connections:FramesPerSecond"] = "1",
            ["TeamComms:Connections:FrameBurst"] = "5",
        }, clock);
        var user = await server.CreateUserAsync();
        await using var raw = await RawClient.HelloAsync(server, user.Token);
        var message = new ArrayBufferWriter<byte>();
        for (ulong i = 1; i <= 8; i++)
        {
            ClientFrameWriter.WritePing(message, i);
        }
        await raw.SendBytesAsync(message.WrittenMemory);
        var frames = new List<ServerFrame>();
        while (frames.Count < 8)
        {
            frames.AddRange(await raw.ReceiveAsync());
        }
        Assert.Equal(5, frames.OfType<PongFrame>().Count());
        Assert.Equal(3, frames.OfType<ErrorFrame>().Count(e => e.Code == ErrorCode.RateLimited));
        clock.Advance(TimeSpan.FromSeconds(2)); // two tokens refill
        await raw.SendAsync(b => ClientFrameWriter.WritePing(b, 100));
        Assert.Equal(100UL, (await raw.ReceiveUntilAsync<PongFrame>()).RequestId);
    }

    [Fact]
    public async Task HelloTimeout_ClosesWith4007()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-28T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var server = await TestServer.StartAsync(time: clock);
        await using var raw = await RawClient.ConnectAsync(server);
        // The server arms its handshake timer when the socket opens; move the clock past it.
        var closed = raw.ReceiveCloseAsync();
        for (var i = 0; i < 50 && !closed.IsCompleted; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(11));
            await Task.WhenAny(closed, Task.Delay(100));
        }
        Assert.Equal(CloseCode.HelloTimeout, await closed);
    }

    [Fact]
    public async Task SlowConsumer_IsEvicted_OthersUnaffected_ThenResumesWithoutLoss()
    {
        await using var server = await TestServer.StartAsync(new() { ["TeamComms:Connections:QueueByteLimit"] = "131072" });
        var alice = await server.CreateUserAsync();
        var bob = await server.CreateUserAsync();
        var carol = await server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        var room = await a.CreateRoomAsync("firehose", invite: [bob.UserId, carol.UserId]);
        await using (var jb = await bob.ConnectAsync())
        {
            await jb.JoinAsync(room);
        }
        await using var c = await carol.ConnectAsync();
        await c.JoinAsync(room);
        await using var carolEvents = new EventCollector(c);

        // Bob connects with a raw socket and never reads.
        await using var slow = await RawClient.HelloAsync(server, bob.Token);
        var helloToken = new ResumeToken(server.Services.GetRoomLog().Epoch, server.Services.GetRoomLog().LastPosition).ToArray();
        var body = new string('x', 30_000);
        const int count = 400; // ~12 MB: more than loopback socket buffers plus the 128 KiB queue
        for (var i = 0; i < count; i++)
        {
            await a.SendTextAsync(room, $"{i}:{body}");
        }
        // Carol reads normally and gets everything.
        var got = await carolEvents.WaitForMessagesAsync(room, count, 60);
        Assert.Equal(count, got.Count(e => e.RoomId == room && e.Type == EventTypes.Message));
        // Bob's connection was evicted: reading now drains what the kernel buffered, then the connection ends.
        var close = await slow.ReceiveCloseAsync();
        Assert.True(close is null or CloseCode.Resync, $"closed with {close}");
        // Resuming from the token Bob held before the burst delivers every message, once, in order.
        await using var resumed = await TeamComms.Client.TeamCommsConnection.ConnectAsync(server.WebSocketUrl, bob.Token,
            new TeamComms.Client.ClientOptions { ResumeToken = helloToken });
        await using var bobEvents = new EventCollector(resumed);
        var all = await bobEvents.WaitForMessagesAsync(room, count, 60);
        var ids = all.Where(e => e.RoomId == room && e.Type == EventTypes.Message).Select(e => int.Parse(((string)e.ContentMap["body"]!).Split(':')[0], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Enumerable.Range(0, count), ids);
    }
}
