using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using TeamComms.Crypto;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Federation;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Protocol;

/// <summary>
/// docs/federation-vectors.json is what another federation implementation tests against: keys from fixed seeds
/// (Ed25519 is deterministic, so every signature is reproducible), a key document, a signed request, an origin
/// signature, a checkpoint, transactions and a result. This test rebuilds the file from the implementation and checks
/// every vector with the real readers. Regenerate after an intentional change:
/// <c>TEAMCOMMS_UPDATE_VECTORS=1 dotnet test --filter FederationVectorTests</c>.
/// </summary>
public class FederationVectorTests
{
    internal const string Room = "!k3j4h5g6k3j4h5g6@acme.example";
    internal const string Hub = "acme.example";
    internal const string Partner = "partner.example";
    internal static readonly byte[] HubSeed = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    internal static readonly byte[] PreviousHubSeed = Enumerable.Range(65, 32).Select(i => (byte)i).ToArray();
    internal static readonly byte[] PartnerSeed = Enumerable.Range(33, 32).Select(i => (byte)i).ToArray();

    private static string VectorsPath => Path.Combine(Repo.Root, "docs", "federation-vectors.json");

    [Fact]
    public void FederationVectors_MatchTheImplementation()
    {
        var expected = Build().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        if (Environment.GetEnvironmentVariable("TEAMCOMMS_UPDATE_VECTORS") == "1")
        {
            File.WriteAllText(VectorsPath, expected);
        }
        Assert.True(File.Exists(VectorsPath), "docs/federation-vectors.json is missing");
        Assert.Equal(expected, File.ReadAllText(VectorsPath));
    }

    [Fact]
    public void FederationVectors_VerifyWithThePublishedKeys()
    {
        var doc = JsonNode.Parse(File.ReadAllText(VectorsPath))!;
        byte[] Hex(JsonNode? n) => Convert.FromHexString(n!.GetValue<string>());
        var hubKey = Hex(doc["keys"]!["hub"]!["public_key_hex"]);
        var partnerKey = Hex(doc["keys"]!["partner"]!["public_key_hex"]);

        var (keyDoc, input) = KeyDocument.Read(Hex(doc["key_document"]!["document_hex"]));
        Assert.Equal(Hex(doc["key_document"]!["signing_input_hex"]), input);
        Assert.True(SigningKey.Verify(hubKey, input, keyDoc.Signature!));

        var req = doc["signed_request"]!;
        Assert.True(RequestSignature.TryParse(req["authorization"]!.GetValue<string>(), out var sig));
        var reqInput = RequestSignature.SigningInput(req["method"]!.GetValue<string>(), req["path"]!.GetValue<string>(),
            RequestSignature.BodyDigest(Hex(req["body_hex"])), sig!.Origin, sig.Destination, sig.Timestamp);
        Assert.Equal(Hex(req["signing_input_hex"]), reqInput);
        Assert.True(SigningKey.Verify(partnerKey, reqInput, sig.Signature));

        var proposals = FederationTransaction.Read(Hex(req["body_hex"]));
        var p = proposals.Proposals.Single();
        Assert.True(SigningKey.Verify(partnerKey, OriginSignature.SigningInput(1, p.RoomId, p.Sender, p.Type, SHA256.HashData(p.Content), p.Origin.Timestamp, p.Origin.Nonce), p.Origin.Signature));

        var batches = FederationTransaction.Read(Hex(doc["transaction_room_batch"]!["hex"]));
        var events = batches.Rooms.Single().Events.Select(w => EventCodec.Read(w)).ToList();
        Assert.Equal(-1, EventCodec.VerifyChain(events, null, 0));
        var cp = batches.Rooms.Single().Checkpoint!;
        Assert.Equal((events[^1].Seq, events[^1].Id), (cp.Seq, cp.Head));
        Assert.True(SigningKey.Verify(hubKey, cp.SigningInput(), cp.Signature));
        var signed = events.Single(e => e.Origin is not null);
        Assert.True(SigningKey.Verify(partnerKey, signed.Origin!.SigningInput(signed), signed.Origin.Signature));

        Assert.Equal(Hex(doc["transaction_result"]!["hex"]), TransactionResult.Read(Hex(doc["transaction_result"]!["hex"])).ToBytes());
    }

    private static string Hex(ReadOnlySpan<byte> b) => Convert.ToHexStringLower(b);

    internal static JsonObject Build()
    {
        using var hub = SigningKey.Import(HubSeed);
        using var previous = SigningKey.Import(PreviousHubSeed);
        using var partner = SigningKey.Import(PartnerSeed);
        const long t0 = 1_767_225_600_000;

        JsonObject KeyJson(byte[] seed, SigningKey k) => new()
        {
            ["seed_hex"] = Hex(seed),
            ["public_key_hex"] = Hex(k.PublicKey),
            ["key_id"] = k.KeyId,
        };

        // Key document of the hub: a current key and the previous one it replaced at t0.
        var keyDoc = new KeyDocument(Hub, t0 + 60_000, t0 + 60_000 + 86_400_000,
            [new VerifyKey(hub.KeyId, hub.PublicKey, t0, null), new VerifyKey(previous.KeyId, previous.PublicKey, t0 - 86_400_000, t0)]);
        var keyDocInput = keyDoc.SigningInput();
        keyDoc = keyDoc with { SignedBy = hub.KeyId, Signature = hub.Sign(keyDocInput) };

        // The room's chain (the same three events as test-vectors.json), then a message proposed by a partner's user.
        var chain = ChainOfThree();
        var content = MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["body"] = "hello from the partner" });
        var contentHash = SHA256.HashData(content);
        const string bob = "bob@partner.example";
        const string nonce = "AAECAwQFBgcICQoLDA0ODw";
        var originTs = t0 + 3_000;
        var originInput = OriginSignature.SigningInput(1, Room, bob, EventTypes.Message, contentHash, originTs, nonce);
        var origin = new OriginSignature(partner.KeyId, originTs, nonce, partner.Sign(originInput));
        var proposal = new ProposalItem(Room, bob, EventTypes.Message, content, origin);
        var proposalTxn = new FederationTransaction("9Ri5xUr2mX0p.1", Partner, Hub, originTs, [proposal], []);
        var body = proposalTxn.ToBytes();
        const string path = "/v1/federation/send/9Ri5xUr2mX0p.1";
        var requestTs = originTs + 1;
        var requestInput = RequestSignature.SigningInput("PUT", path, RequestSignature.BodyDigest(body), Partner, Hub, requestTs);
        var requestSig = new RequestSignature(Partner, Hub, partner.KeyId, requestTs, partner.Sign(requestInput));

        // The hub orders it as seq 4 and pushes seq 1–4 to the partner with one checkpoint.
        var ordered = new RoomEvent
        {
            Version = 1,
            Id = EventCodec.ComputeId(1, Room, 4, chain[^1].Id, bob, EventTypes.Message, t0 + 3_100, contentHash),
            RoomId = Room,
            Seq = 4,
            Prev = chain[^1].Id,
            Sender = bob,
            Type = EventTypes.Message,
            Timestamp = t0 + 3_100,
            ContentHash = contentHash,
            Content = content,
            Origin = origin,
        };
        var all = chain.Append(ordered).ToList();
        var cpTs = t0 + 3_200;
        var cpInput = Checkpoint.SigningInput(Room, 4, ordered.Id, cpTs);
        var checkpoint = new Checkpoint(Room, 4, ordered.Id, cpTs, hub.KeyId, hub.Sign(cpInput));
        var batchTxn = new FederationTransaction("Xq0bL3vYtQ8A.7", Hub, Partner, cpTs, [],
            [new RoomBatch(Room, all.Select(e => (ReadOnlyMemory<byte>)EventCodec.ToBytes(e)).ToList(), checkpoint)]);
        var cpBuffer = new System.Buffers.ArrayBufferWriter<byte>();
        var w = new MessagePack.MessagePackWriter(cpBuffer);
        checkpoint.Write(ref w);
        w.Flush();
        var result = new TransactionResult(proposalTxn.Id, [new ProposalResult(nonce, 4, ordered.Id, ordered.Timestamp, null, null)], []);

        return new JsonObject
        {
            ["description"] = "TeamComms federation test vectors (docs/federation.md). Hex is lower case. Keys come from fixed seeds; Ed25519 signatures are deterministic.",
            ["keys"] = new JsonObject
            {
                ["hub"] = KeyJson(HubSeed, hub),
                ["hub_previous"] = KeyJson(PreviousHubSeed, previous),
                ["partner"] = KeyJson(PartnerSeed, partner),
            },
            ["key_document"] = new JsonObject
            {
                ["server"] = Hub,
                ["signing_input_hex"] = Hex(keyDocInput),
                ["signature_hex"] = Hex(keyDoc.Signature!),
                ["document_hex"] = Hex(keyDoc.ToBytes()),
            },
            ["origin_signature"] = new JsonObject
            {
                ["room"] = Room,
                ["sender"] = bob,
                ["type"] = EventTypes.Message,
                ["content_hex"] = Hex(content),
                ["content_hash_hex"] = Hex(contentHash),
                ["origin_ts"] = originTs,
                ["nonce"] = nonce,
                ["signing_input_hex"] = Hex(originInput),
                ["signature_hex"] = Hex(origin.Signature),
                ["element_hex"] = Hex(origin.ToBytes()),
                ["proposal_hex"] = Hex(proposal.ToBytes()),
            },
            ["signed_request"] = new JsonObject
            {
                ["method"] = "PUT",
                ["path"] = path,
                ["body_hex"] = Hex(body),
                ["body_sha256_hex"] = Hex(RequestSignature.BodyDigest(body)),
                ["signing_input_hex"] = Hex(requestInput),
                ["authorization"] = requestSig.ToHeader(),
            },
            ["ordered_event"] = new JsonObject
            {
                ["seq"] = 4,
                ["ts"] = ordered.Timestamp,
                ["prev_base64url"] = chain[^1].Id.ToString(),
                ["id_base64url"] = ordered.Id.ToString(),
                ["wire_hex"] = Hex(EventCodec.ToBytes(ordered)),
            },
            ["checkpoint"] = new JsonObject
            {
                ["room"] = Room,
                ["seq"] = 4,
                ["head_base64url"] = ordered.Id.ToString(),
                ["ts"] = cpTs,
                ["signing_input_hex"] = Hex(cpInput),
                ["signature_hex"] = Hex(checkpoint.Signature),
                ["wire_hex"] = Hex(cpBuffer.WrittenSpan),
            },
            ["transaction_room_batch"] = new JsonObject
            {
                ["description"] = "PUT /v1/federation/send/Xq0bL3vYtQ8A.7 from acme.example to partner.example: seq 1-4 and one checkpoint",
                ["hex"] = Hex(batchTxn.ToBytes()),
            },
            ["transaction_result"] = new JsonObject
            {
                ["description"] = "acme.example's answer to the proposal transaction: ordered at seq 4",
                ["hex"] = Hex(result.ToBytes()),
            },
        };
    }

    /// <summary>The three-event chain of test-vectors.json (create, "hello", a Thai message) by alice@acme.example.</summary>
    internal static List<RoomEvent> ChainOfThree()
    {
        const string alice = "alice@acme.example";
        var fields = new (string Type, byte[] Content)[]
        {
            (EventTypes.Create, MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["creator"] = alice, ["hub"] = Hub, ["history"] = "full", ["invite"] = "moderators", ["kind"] = "group", ["room_version"] = 1L })),
            (EventTypes.Message, MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["body"] = "hello" })),
            (EventTypes.Message, MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["body"] = "สวัสดี", ["format"] = "plain" })),
        };
        var result = new List<RoomEvent>();
        EventId? prev = null;
        for (var i = 0; i < fields.Length; i++)
        {
            var ts = 1_767_225_600_000L + (i * 1000);
            var hash = SHA256.HashData(fields[i].Content);
            var id = EventCodec.ComputeId(1, Room, i + 1, prev, alice, fields[i].Type, ts, hash);
            result.Add(new RoomEvent { Version = 1, Id = id, RoomId = Room, Seq = i + 1, Prev = prev, Sender = alice, Type = fields[i].Type, Timestamp = ts, ContentHash = hash, Content = fields[i].Content });
            prev = id;
        }
        return result;
    }

    /// <summary>The federated event added to test-vectors.json: an event proposed by another server's user, with its origin element.</summary>
    internal static JsonObject FederatedEvent()
    {
        var v = Build();
        return new JsonObject
        {
            ["description"] = "seq 4, proposed by bob@partner.example and ordered by the hub acme.example; the 11th element is partner.example's origin signature [key_id, origin_ts, nonce, sig] (docs/federation.md). The id is the same with or without it.",
            ["origin_public_key_hex"] = v["keys"]!["partner"]!["public_key_hex"]!.DeepClone(),
            ["origin_signing_input_hex"] = v["origin_signature"]!["signing_input_hex"]!.DeepClone(),
            ["id_base64url"] = v["ordered_event"]!["id_base64url"]!.DeepClone(),
            ["wire_hex"] = v["ordered_event"]!["wire_hex"]!.DeepClone(),
        };
    }
}
