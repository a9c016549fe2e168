using System.Buffers;
using MessagePack;
using TeamComms.Crypto;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Federation;
using TeamComms.Server.Federation;

namespace TeamComms.Tests.Protocol;

public class FederationProtocolTests
{
    private static readonly byte[] s_seed = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

    [Fact]
    public void RequestSignature_HeaderRoundTrips_AndMalformedHeadersAreRejected()
    {
        var sig = new RequestSignature("a.example", "b.example:8448", "ed25519:AAAAAAAAAAA", 1767225600000, Enumerable.Repeat((byte)7, 64).ToArray());
        Assert.True(RequestSignature.TryParse(sig.ToHeader(), out var parsed));
        Assert.Equal(sig.Origin, parsed!.Origin);
        Assert.Equal(sig.Destination, parsed.Destination);
        Assert.Equal(sig.KeyId, parsed.KeyId);
        Assert.Equal(sig.Timestamp, parsed.Timestamp);
        Assert.Equal(sig.Signature, parsed.Signature);
        foreach (var bad in new[]
        {
            "", "Bearer x", "TeamComms-Signature origin=\"a.example\"",
            sig.ToHeader().Replace("sig=\"", "sig=\"AA", StringComparison.Ordinal),
            sig.ToHeader().Replace("ts=\"1767225600000\"", "ts=\"-1\"", StringComparison.Ordinal),
            sig.ToHeader().Replace("origin=\"a.example\"", "origin=\"A.EXAMPLE\"", StringComparison.Ordinal),
            sig.ToHeader() + ",origin=\"c.example\"",
            sig.ToHeader().Replace("\",", "\";", StringComparison.Ordinal),
        })
        {
            Assert.False(RequestSignature.TryParse(bad, out _), bad);
        }
    }

    [Fact]
    public void OriginElement_IsOptionalTrailing_AndDoesNotChangeTheId()
    {
        using var key = SigningKey.Import(s_seed);
        var room = "!k3j4h5g6k3j4h5g6@acme.example";
        var content = MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["body"] = "from a partner" });
        var hash = System.Security.Cryptography.SHA256.HashData(content);
        var origin = new OriginSignature(key.KeyId, 1767225600000, "nonce-1",
            key.Sign(OriginSignature.SigningInput(1, room, "bob@partner.example", EventTypes.Message, hash, 1767225600000, "nonce-1")));
        var id = EventCodec.ComputeId(1, room, 2, null, "bob@partner.example", EventTypes.Message, 1767225601000, hash);
        var plain = new RoomEvent { Version = 1, Id = id, RoomId = room, Seq = 2, Prev = null, Sender = "bob@partner.example", Type = EventTypes.Message, Timestamp = 1767225601000, ContentHash = hash, Content = content };
        var signed = EventCodec.Read(EventCodec.ToBytes(new RoomEvent { Version = 1, Id = id, RoomId = room, Seq = 2, Prev = null, Sender = plain.Sender, Type = plain.Type, Timestamp = plain.Timestamp, ContentHash = hash, Content = content, Origin = origin }));
        Assert.Equal(EventCodec.ComputeId(plain), EventCodec.ComputeId(signed));
        Assert.True(EventCodec.Verify(signed));
        Assert.Equal(origin.Nonce, signed.Origin!.Nonce);
        Assert.True(SigningKey.Verify(key.PublicKey, signed.Origin.SigningInput(signed), signed.Origin.Signature));
        Assert.Null(EventCodec.Read(EventCodec.ToBytes(plain)).Origin);

        // A malformed eleventh element and further elements are skipped, not fatal.
        var buffer = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(buffer);
        w.WriteArrayHeader(12);
        var r = new MessagePackReader(EventCodec.ToBytes(plain));
        var n = r.ReadArrayHeader();
        for (var i = 0; i < n; i++)
        {
            w.WriteRaw(r.ReadRaw());
        }
        w.Write("not an origin element");
        w.Write(42);
        w.Flush();
        var lenient = EventCodec.Read(buffer.WrittenMemory);
        Assert.Null(lenient.Origin);
        Assert.True(EventCodec.Verify(lenient));
    }

    [Fact]
    public void KeyDocument_SignsItselfAndCoversFieldsThisVersionDoesNotKnow()
    {
        using var key = SigningKey.Import(s_seed);
        var doc = new KeyDocument("acme.example", 1767225600000, 1767312000000,
            [new VerifyKey(key.KeyId, key.PublicKey, 1767225600000, null), new VerifyKey("ed25519:old", new byte[32], 1, 1767225600000)]);
        doc = doc with { SignedBy = key.KeyId, Signature = key.Sign(doc.SigningInput()) };
        var (read, input) = KeyDocument.Read(doc.ToBytes());
        Assert.Equal(doc.SigningInput(), input);
        Assert.True(SigningKey.Verify(read.Current!.PublicKey, input, read.Signature!));
        Assert.True(read.Keys[1].ValidAt(1767225600000));
        Assert.False(read.Keys[1].ValidAt(1767225600001));

        // A field added by a newer version is part of what was signed.
        var map = MsgPackValue.ReadMap(doc.ToBytes());
        map["future"] = "field";
        var (_, withFuture) = KeyDocument.Read(MsgPackValue.ToCanonicalMap(map));
        Assert.False(SigningKey.Verify(key.PublicKey, withFuture, doc.Signature!));
        Assert.Throws<ProtocolException>(() => KeyDocument.Read(MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["server"] = "x" })));
    }

    [Fact]
    public void TransactionCheckpointAndResults_RoundTrip_AndMalformedInputIsABadField()
    {
        using var key = SigningKey.Import(s_seed);
        var room = "!k3j4h5g6k3j4h5g6@acme.example";
        var e = new RoomEvent
        {
            Version = 1, Id = new EventId(new byte[32].Select((_, i) => (byte)i).ToArray()), RoomId = room, Seq = 5, Prev = null, Sender = "alice@acme.example",
            Type = EventTypes.Message, Timestamp = 9, ContentHash = new byte[32], Content = null,
        };
        var cp = new Checkpoint(room, 5, e.Id, 10, key.KeyId, key.Sign(Checkpoint.SigningInput(room, 5, e.Id, 10)));
        var content = MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["body"] = "hi" });
        var proposal = new ProposalItem(room, "bob@partner.example", EventTypes.Message, content, new OriginSignature(key.KeyId, 8, "n1", new byte[64]));
        var txn = new FederationTransaction("t1", "partner.example", "acme.example", 11, [proposal], [new RoomBatch(room, [EventCodec.ToBytes(e)], cp)]);
        var read = FederationTransaction.Read(txn.ToBytes());
        Assert.Equal(("t1", "partner.example", "acme.example", 11L), (read.Id, read.Origin, read.Destination, read.Timestamp));
        Assert.Equal(content, read.Proposals.Single().Content);
        Assert.Equal("n1", read.Proposals.Single().Origin.Nonce);
        Assert.Equal(EventCodec.ToBytes(e), read.Rooms.Single().Events.Single().ToArray());
        var readCp = read.Rooms.Single().Checkpoint!;
        Assert.True(SigningKey.Verify(key.PublicKey, readCp.SigningInput(), readCp.Signature));
        Assert.Equal(proposal.ToBytes(), ProposalItem.Read(proposal.ToBytes()).ToBytes());

        var result = new TransactionResult("t1", [new ProposalResult("n1", 6, e.Id, 12, null, null), new ProposalResult("n2", 0, null, 0, "not_member", "no")],
            [new RoomResult(room, 5, null, null), new RoomResult(room, 4, "event_invalid", "bad")]);
        var back = TransactionResult.Read(result.ToBytes());
        Assert.Equal(result.Proposals, back.Proposals);
        Assert.Equal(result.Rooms, back.Rooms);

        Assert.Equal(ErrorCode.BadField, Assert.Throws<ProtocolException>(() => FederationTransaction.Read(new byte[] { 0x93, 1, 2, 3 })).Code);
        Assert.Equal(ErrorCode.BadField, Assert.Throws<ProtocolException>(() => FederationTransaction.Read(new byte[] { 0x81, 0xA3, (byte)'t', (byte)'x', (byte)'n' })).Code);
        Assert.Equal(ErrorCode.BadField, Assert.Throws<ProtocolException>(() => FederationTransaction.Read(MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["txn"] = "x" }))).Code);
    }

    [Fact]
    public void Backoff_DoublesFromTheBase_CapsAtTheMax_WithEqualJitter()
    {
        var baseDelay = TimeSpan.FromSeconds(1);
        var max = TimeSpan.FromMinutes(10);
        Assert.Equal(TimeSpan.FromSeconds(1), Backoff.Cap(1, baseDelay, max));
        Assert.Equal(TimeSpan.FromSeconds(2), Backoff.Cap(2, baseDelay, max));
        Assert.Equal(TimeSpan.FromSeconds(512), Backoff.Cap(10, baseDelay, max));
        Assert.Equal(max, Backoff.Cap(11, baseDelay, max));
        Assert.Equal(max, Backoff.Cap(10_000, baseDelay, max));
        Assert.Equal(TimeSpan.FromSeconds(256), Backoff.Delay(10, baseDelay, max, 0));
        Assert.Equal(TimeSpan.FromSeconds(384), Backoff.Delay(10, baseDelay, max, 0.5));
        var random = new Random(1);
        for (var n = 1; n < 30; n++)
        {
            var d = Backoff.Delay(n, baseDelay, max, random.NextDouble());
            Assert.InRange(d, Backoff.Cap(n, baseDelay, max) / 2, Backoff.Cap(n, baseDelay, max));
        }
    }
}
