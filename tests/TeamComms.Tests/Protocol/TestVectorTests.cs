using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using MessagePack;
using TeamComms.Protocol;
using TeamComms.Protocol.Canonical;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Protocol;

/// <summary>
/// docs/test-vectors.json is what client developers test their code against. This test rebuilds every vector from the
/// implementation and compares; it also decodes every hex frame with the real readers. To regenerate after an
/// intentional format change: <c>TEAMCOMMS_UPDATE_VECTORS=1 dotnet test --filter TestVectorTests</c>.
/// </summary>
public class TestVectorTests
{
    private static string VectorsPath => Path.Combine(Repo.Root, "docs", "test-vectors.json");

    [Fact]
    public void Vectors_MatchTheImplementation()
    {
        var expected = Build().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        if (Environment.GetEnvironmentVariable("TEAMCOMMS_UPDATE_VECTORS") == "1")
        {
            File.WriteAllText(VectorsPath, expected);
        }
        Assert.True(File.Exists(VectorsPath), "docs/test-vectors.json is missing");
        Assert.Equal(expected, File.ReadAllText(VectorsPath));
    }

    [Fact]
    public void Vectors_ClientFramesDecodeToTheirMeaning()
    {
        var doc = JsonNode.Parse(File.ReadAllText(VectorsPath))!;
        foreach (var v in doc["client_frames"]!.AsArray())
        {
            var bytes = Convert.FromHexString(v!["hex"]!.GetValue<string>());
            var r = new MessagePackReader(bytes);
            var frame = ClientFrameReader.Read(ref r);
            Assert.Equal(v["type"]!.GetValue<int>(), frame switch
            {
                HelloFrame => FrameType.Hello,
                PingFrame => FrameType.Ping,
                SendFrame => FrameType.Send,
                ReceivedFrame => FrameType.Received,
                CallFrame => FrameType.Call,
                _ => -1,
            });
        }
    }

    [Fact]
    public void Vectors_EventIdsVerifyFromTheirFields()
    {
        var doc = JsonNode.Parse(File.ReadAllText(VectorsPath))!;
        EventId? prev = null;
        foreach (var v in doc["events"]!.AsArray())
        {
            var e = EventCodec.Read(Convert.FromHexString(v!["wire_hex"]!.GetValue<string>()));
            Assert.True(EventCodec.Verify(e));
            Assert.Equal(v["id_base64url"]!.GetValue<string>(), e.Id.ToString());
            Assert.Equal(prev, e.Prev);
            prev = e.Id;
        }
    }

    private static string Hex(ReadOnlySpan<byte> b) => Convert.ToHexStringLower(b);

    private static string HexOf(Action<IBufferWriter<byte>> write)
    {
        var b = new ArrayBufferWriter<byte>();
        write(b);
        return Hex(b.WrittenSpan);
    }

    internal static JsonObject Build()
    {
        const string room = "!k3j4h5g6k3j4h5g6@acme.example";
        const string alice = "alice@acme.example";
        var resume = new ResumeToken(0x0102030405060708, 42).ToArray();
        var content1 = MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["body"] = "hello" });
        var contentThai = MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["body"] = "สวัสดี", ["format"] = "plain" });

        var canonical = new JsonArray();
        void AddCanonical(string name, byte[] input)
        {
            canonical.Add(new JsonObject { ["name"] = name, ["input_hex"] = Hex(input), ["canonical_hex"] = Hex(CanonicalMessagePack.Canonicalize(input)) });
        }
        AddCanonical("keys sorted by UTF-8 bytes, integers shortest", [0x82, 0xA1, (byte)'b', 0xCE, 0, 0, 0, 1, 0xA1, (byte)'a', 0xD3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        AddCanonical("float32 widened to float64", [0x81, 0xA1, (byte)'x', 0xCA, 0x3F, 0xC0, 0x00, 0x00]);
        AddCanonical("str8 header shortened to fixstr", [0x81, 0xD9, 0x01, (byte)'k', 0xD9, 0x02, (byte)'h', (byte)'i']);

        var clientFrames = new JsonArray
        {
            new JsonObject
            {
                ["name"] = "Hello: versions [1], token, resume token, no filter, client name",
                ["type"] = FrameType.Hello,
                ["hex"] = HexOf(b => ClientFrameWriter.WriteHello(b, [1], "tc_example", resume, null, "demo")),
                ["decoded"] = $"[1, [1], \"tc_example\", bin({Hex(resume)}), nil, \"demo\"]",
            },
            new JsonObject
            {
                ["name"] = "Ping request 7",
                ["type"] = FrameType.Ping,
                ["hex"] = HexOf(b => ClientFrameWriter.WritePing(b, 7)),
                ["decoded"] = "[2, 7]",
            },
            new JsonObject
            {
                ["name"] = "Send request 1: a message with body 'hello'",
                ["type"] = FrameType.Send,
                ["hex"] = HexOf(b => ClientFrameWriter.WriteSend(b, 1, room, "txn-1", "message", content1)),
                ["decoded"] = $"[3, 1, \"{room}\", \"txn-1\", \"message\", {{\"body\": \"hello\"}}]",
            },
            new JsonObject
            {
                ["name"] = "Received up to a resume token",
                ["type"] = FrameType.Received,
                ["hex"] = HexOf(b => ClientFrameWriter.WriteReceived(b, resume)),
                ["decoded"] = $"[4, bin({Hex(resume)})]",
            },
            new JsonObject
            {
                ["name"] = "Call request 2: rooms.history, 20 events backward",
                ["type"] = FrameType.Call,
                ["hex"] = HexOf(b => ClientFrameWriter.WriteCall(b, 2, "rooms.history", new Dictionary<string, object?> { ["room"] = room, ["dir"] = "backward", ["limit"] = 20L })),
                ["decoded"] = $"[5, 2, \"rooms.history\", {{\"room\": \"{room}\", \"dir\": \"backward\", \"limit\": 20}}]",
            },
        };

        // A three-event chain: create, a message, a Thai message.
        var events = new JsonArray();
        EventId? prev = null;
        var fields = new (string Type, byte[] Content)[]
        {
            (EventTypes.Create, MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["creator"] = alice, ["hub"] = "acme.example", ["history"] = "full", ["invite"] = "moderators", ["kind"] = "group", ["room_version"] = 1L })),
            (EventTypes.Message, content1),
            (EventTypes.Message, contentThai),
        };
        RoomEvent? last = null;
        for (var i = 0; i < fields.Length; i++)
        {
            var seq = i + 1;
            var ts = 1_767_225_600_000L + (i * 1000);
            var hash = SHA256.HashData(fields[i].Content);
            var idInput = new ArrayBufferWriter<byte>();
            EventCodec.WriteIdInput(idInput, 1, room, seq, prev, alice, fields[i].Type, ts, hash);
            var id = EventCodec.ComputeId(1, room, seq, prev, alice, fields[i].Type, ts, hash);
            var e = new RoomEvent { Version = 1, Id = id, RoomId = room, Seq = seq, Prev = prev, Sender = alice, Type = fields[i].Type, Timestamp = ts, ContentHash = hash, Content = fields[i].Content };
            events.Add(new JsonObject
            {
                ["seq"] = seq,
                ["type"] = fields[i].Type,
                ["sender"] = alice,
                ["room"] = room,
                ["ts"] = ts,
                ["prev_base64url"] = prev?.ToString(),
                ["content_hex"] = Hex(fields[i].Content),
                ["content_hash_hex"] = Hex(hash),
                ["id_input_hex"] = Hex(idInput.WrittenSpan),
                ["id_hex"] = Hex(id.ToArray()),
                ["id_base64url"] = id.ToString(),
                ["wire_hex"] = Hex(EventCodec.ToBytes(e)),
            });
            prev = id;
            last = e;
        }
        var redacted = new RoomEvent { Version = 1, Id = last!.Id, RoomId = room, Seq = last.Seq, Prev = last.Prev, Sender = alice, Type = last.Type, Timestamp = last.Timestamp, ContentHash = last.ContentHash, Content = null };

        var serverFrames = new JsonArray
        {
            new JsonObject
            {
                ["name"] = "Event frame: the third event at stream position 300",
                ["type"] = FrameType.Event,
                ["hex"] = HexOf(b => ServerFrameWriter.WriteEvent(b, 300, EventCodec.ToBytes(last))),
            },
            new JsonObject
            {
                ["name"] = "Event frame: the same event redacted (content nil, id unchanged)",
                ["type"] = FrameType.Event,
                ["hex"] = HexOf(b => ServerFrameWriter.WriteEvent(b, 301, EventCodec.ToBytes(redacted))),
            },
            new JsonObject
            {
                ["name"] = "Ack of request 1: seq 2",
                ["type"] = FrameType.Ack,
                ["hex"] = HexOf(b => ServerFrameWriter.WriteAck(b, 1, room, 2, EventId.Parse(events[1]!["id_base64url"]!.GetValue<string>()), 1_767_225_601_000)),
            },
            new JsonObject
            {
                ["name"] = "Error for request 1: not_member",
                ["type"] = FrameType.Error,
                ["hex"] = HexOf(b => ServerFrameWriter.WriteError(b, 1, ErrorCode.NotMember, "you are not a member")),
            },
            new JsonObject
            {
                ["name"] = "Position: resume token epoch 0x0102030405060708, position 42",
                ["type"] = FrameType.Position,
                ["hex"] = HexOf(b => ServerFrameWriter.WritePosition(b, resume)),
            },
        };

        return new JsonObject
        {
            ["description"] = "TeamComms protocol test vectors. Hex is lower case; see docs/protocol.md for the layouts.",
            ["protocol_version"] = ProtocolVersions.Current,
            ["event_format_version"] = EventCodec.CurrentVersion,
            ["resume_token_hex"] = Hex(resume),
            ["canonical"] = canonical,
            ["client_frames"] = clientFrames,
            ["events"] = events,
            ["server_frames"] = serverFrames,
            ["federated_event"] = FederationVectorTests.FederatedEvent(),
        };
    }
}
