using MessagePack;
using TeamComms.Crypto.Keys;
using TeamComms.Protocol.Events;
using TeamComms.Server.Cluster;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Tests.Cluster;

/// <summary>The cluster log's data formats and settings, without NATS (normal stage).</summary>
public sealed class ClusterFormatTests
{
    private static readonly Actor Alice = new("alice@x.test", 1L << 40, (2L << 40) + 7);

    public static TheoryData<string> Kinds => ["send", "create", "member", "state", "marker", "archive", "provision", "system",
        "redact", "pin", "setting", "vote", "close", "purge"];

    private static readonly EventId Target = new([.. Enumerable.Range(1, EventId.Size).Select(i => (byte)i)]);

    private static Proposal Sample(string kind) => kind switch
    {
        "send" => new SendProposal(Alice, "!abc@x.test", "t1", "message", [0x81, 0xA4, 0x62, 0x6F, 0x64, 0x79, 0xA1, 0x78]),
        "create" => new CreateRoomProposal(Alice, "Ops", "topic", "group", "full", "members", ["bob@x.test"]) { PresetRoomId = "!roomid@x.test" },
        "member" => new MembershipProposal(Alice, "!abc@x.test", MembershipAction.Kick, "bob@x.test", "spam"),
        "state" => new StateProposal(Alice, "!abc@x.test", "room.name", new Dictionary<string, object?> { ["name"] = "New" }),
        "marker" => new ReadMarkerProposal(Alice, "!abc@x.test", 42),
        "archive" => new ArchiveProposal(Alice, "!abc@x.test", true, true),
        "provision" => new ProvisionRoomProposal(Alice, "All", ["bob@x.test", "carol@x.test"]) { PresetRoomId = "!p@x.test" },
        "redact" => new RedactProposal(Alice, "!abc@x.test", Target, "off topic", true, [StagedWrite.Put("audit", [5], [6, 7])]),
        "pin" => new PinProposal(Alice, "!abc@x.test", Target, false),
        "setting" => new RoomSettingProposal(Alice, "!abc@x.test", "room.retention", new Dictionary<string, object?> { ["days"] = 30L }, true,
            [StagedWrite.Put("audit", [8], [9])]),
        "vote" => new VoteProposal(Alice, "!abc@x.test", Target, ["a", "c"]),
        "close" => new ClosePollProposal(Alice, "!abc@x.test", Target, Scheduled: true),
        "purge" => new PurgeProposal(12, 100, 250, 1_700_000_000_000, true, [StagedWrite.Put("audit", [1], [2])]),
        _ => new SystemProposal(Alice, "admin@x.test", [new MembershipWant(3, "bob@x.test", 9, WantKind.Leave, "left", null)],
            [StagedWrite.Put("sessions", [1, 2], [3]), StagedWrite.Delete("setup_tokens", [4])]),
    };

    [Fact]
    public void ProposalCodec_WorkplaceProposals_FieldsSurvive()
    {
        var redact = Assert.IsType<RedactProposal>(ProposalCodec.FromBytes(ProposalCodec.ToBytes(Sample("redact"))));
        Assert.Equal(Target, redact.Target);
        Assert.Equal("off topic", redact.Reason);
        Assert.True(redact.Privileged);
        Assert.Equal([6, 7], Assert.Single(redact.Writes).Value);
        var vote = Assert.IsType<VoteProposal>(ProposalCodec.FromBytes(ProposalCodec.ToBytes(Sample("vote"))));
        Assert.Equal(["a", "c"], vote.Options);
        Assert.Equal(Target, vote.Poll);
        var setting = Assert.IsType<RoomSettingProposal>(ProposalCodec.FromBytes(ProposalCodec.ToBytes(Sample("setting"))));
        Assert.Equal(30L, Convert.ToInt64(setting.Content["days"], System.Globalization.CultureInfo.InvariantCulture));
        var purge = Assert.IsType<PurgeProposal>(ProposalCodec.FromBytes(ProposalCodec.ToBytes(Sample("purge"))));
        Assert.Equal((12L, 100L, 250L, 1_700_000_000_000L, true), (purge.RoomKey, purge.AfterSeq, purge.ThroughSeq, purge.BeforeTs, purge.Final));
        Assert.Equal(default, purge.Actor);
        var unredact = ProposalCodec.ToBytes(Sample("pin"));
        Assert.False(Assert.IsType<PinProposal>(ProposalCodec.FromBytes(unredact)).Pin);
    }

    [Fact]
    public void ProposalCodec_DamagedEventId_RefusedAsUnknownFormat()
    {
        var bytes = MessagePackSerializer.Serialize(new object[] { 10, new object[] { "a@x.test", 1L, 2L }, "!abc@x.test", new byte[] { 1, 2, 3 }, true });
        Assert.Throws<LogEntryFormatException>(() => ProposalCodec.FromBytes(bytes));
    }

    [Fact]
    public void ProposalCodec_EveryWorkplaceProposal_CanTravel()
    {
        foreach (var kind in new[] { "redact", "pin", "setting", "vote", "close", "purge" })
        {
            Assert.True(ProposalCodec.CanEncode(Sample(kind)), kind);
        }
        Assert.True(ProposalCodec.CanEncode(new AttentionPostProposal(Alice, "!abc@x.test", "message", [0x80]))); // ClusterAttentionFormatTests
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ProposalCodec_RoundTrip_SameProposal(string kind)
    {
        var original = Sample(kind);
        var decoded = ProposalCodec.FromBytes(ProposalCodec.ToBytes(original));
        // Records compare by value except collections: compare their encodings, which cover every field.
        Assert.Equal(original.GetType(), decoded.GetType());
        Assert.Equal(ProposalCodec.ToBytes(original), ProposalCodec.ToBytes(decoded));
        Assert.Equal(original.Actor, decoded.Actor);
    }

    public static TheoryData<string> FederationKinds => ["remote", "follower", "fill", "progress"];

    private static Proposal FederationSample(string kind)
    {
        var chain = Protocol.EventCodecTests.Chain(3, "!aaaaaaaaaaaaaaaa@hub.test");
        var verified = chain.Select(e => new VerifiedEvent(e, EventCodec.ToBytes(e))).ToList();
        return kind switch
        {
            "remote" => new RemoteProposal(new Actor("bob@b.test", 0, 0), "b.test", "!aaaaaaaaaaaaaaaa@hub.test", "message", [0x81, 0xA1, 0x62, 0xA1, 0x78],
                new OriginSignature("ed25519:abc", 1_700_000_000_123, "nonce-1", [.. Enumerable.Range(0, 64).Select(i => (byte)i)])),
            "follower" => new FollowerEventsProposal("!aaaaaaaaaaaaaaaa@hub.test", verified),
            "fill" => new ContentFillProposal("!aaaaaaaaaaaaaaaa@hub.test", verified[1..]),
            "progress" => new FederationProgressProposal("b.test", 17, [new FederationCursor(3, 40), new FederationCursor(9, 2)],
                [new FederationRefusal("nonce-2", TeamComms.Protocol.ErrorCode.Forbidden, "b.test: not a member")]),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    [Theory]
    [MemberData(nameof(FederationKinds))]
    public void ProposalCodec_FederationProposals_RoundTripEveryField(string kind)
    {
        var original = FederationSample(kind);
        Assert.True(ProposalCodec.CanEncode(original));
        var decoded = ProposalCodec.FromBytes(ProposalCodec.ToBytes(original));
        Assert.Equal(original.GetType(), decoded.GetType());
        Assert.Equal(ProposalCodec.ToBytes(original), ProposalCodec.ToBytes(decoded));
        switch ((original, decoded))
        {
            case (RemoteProposal a, RemoteProposal b):
                Assert.Equal(a.Actor, b.Actor);
                Assert.Equal((a.Origin, a.RoomId, a.Type), (b.Origin, b.RoomId, b.Type));
                Assert.Equal(a.Content, b.Content);
                Assert.Equal((a.Signature.KeyId, a.Signature.Timestamp, a.Signature.Nonce), (b.Signature.KeyId, b.Signature.Timestamp, b.Signature.Nonce));
                Assert.Equal(a.Signature.Signature, b.Signature.Signature);
                break;
            case (FollowerEventsProposal a, FollowerEventsProposal b):
                AssertSameEvents(a.Events, b.Events);
                Assert.Equal(a.RoomId, b.RoomId);
                break;
            case (ContentFillProposal a, ContentFillProposal b):
                AssertSameEvents(a.Events, b.Events);
                Assert.Equal(a.RoomId, b.RoomId);
                break;
            case (FederationProgressProposal a, FederationProgressProposal b):
                Assert.Equal((a.Destination, a.OutboxThrough), (b.Destination, b.OutboxThrough));
                Assert.Equal(a.Cursors, b.Cursors);
                Assert.Equal(a.Refused, b.Refused);
                break;
            default:
                Assert.Fail($"unexpected {decoded.GetType().Name}");
                break;
        }
    }

    private static void AssertSameEvents(IReadOnlyList<VerifiedEvent> expected, IReadOnlyList<VerifiedEvent> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Wire, actual[i].Wire);
            Assert.Equal(expected[i].Event.Id, actual[i].Event.Id);
            Assert.Equal(expected[i].Event.Seq, actual[i].Event.Seq);
            Assert.True(EventCodec.Verify(actual[i].Event));
        }
    }

    [Fact]
    public void ProposalCodec_FederatedEventThatDoesNotDecode_RefusedAsUnknownFormat()
    {
        var bytes = MessagePackSerializer.Serialize(new object[] { 21, new object[] { "", 0L, 0L }, "!aaaaaaaaaaaaaaaa@hub.test", new object[] { new byte[] { 1, 2, 3 } } });
        Assert.Throws<LogEntryFormatException>(() => ProposalCodec.FromBytes(bytes));
    }

    [Fact]
    public void ProposalCodec_UnknownType_RefusedAsUnknownFormat()
    {
        var bytes = MessagePackSerializer.Serialize(new object[] { 99, new object[] { "a@x.test", 1L, 2L } });
        var ex = Assert.Throws<LogEntryFormatException>(() => ProposalCodec.FromBytes(bytes));
        Assert.Contains("upgrade", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LogEntry_SealAndOpen_ProposalsBackAndNoPlaintextInTheEntry()
    {
        using var key = SealingKey.Generate(out _);
        var marker = "ZQX-CLUSTER-MARKER";
        var send = new SendProposal(Alice, "!abc@x.test", "t1", "message", System.Text.Encoding.UTF8.GetBytes(marker));
        var data = LogEntry.Seal("node1", "b-1", "k1", key, [send, Sample("state")]);
        Assert.DoesNotContain(marker, System.Text.Encoding.UTF8.GetString(data), StringComparison.Ordinal);
        var entry = LogEntry.Open(data, id => id == "k1" ? key : null);
        Assert.Equal(("node1", "b-1", LogEntry.CurrentFormat), (entry.Node, entry.Batch, entry.Format));
        Assert.Equal(2, entry.Proposals.Count);
        Assert.Equal(send.Content, ((SendProposal)entry.Proposals[0]).Content);
    }

    [Fact]
    public void LogEntry_WrongKeyOrTamperedHeader_Refused()
    {
        using var key = SealingKey.Generate(out _);
        using var other = SealingKey.Generate(out _);
        var data = LogEntry.Seal("node1", "b-1", "k1", key, [Sample("send")]);
        Assert.Throws<LogEntryFormatException>(() => LogEntry.Open(data, _ => other));
        Assert.Throws<LogEntryFormatException>(() => LogEntry.Open(data, _ => null));
        var tampered = (byte[])data.Clone();
        var at = System.Text.Encoding.UTF8.GetString(tampered).IndexOf("node1", StringComparison.Ordinal);
        tampered[at + 4] = (byte)'2'; // claims another origin node: the header is authenticated data
        Assert.Throws<LogEntryFormatException>(() => LogEntry.Open(tampered, _ => key));
    }

    [Fact]
    public void LogEntry_UnknownFormatVersion_RefusedWithUpgradeAdvice()
    {
        var next = LogEntry.CurrentFormat + 1;
        var data = MessagePackSerializer.Serialize(new object[] { "tclog", next, "node1", "b-1", "k1", new byte[] { 1, 2, 3 } });
        var ex = Assert.Throws<LogEntryFormatException>(() => LogEntry.Open(data, _ => null));
        Assert.Contains($"format {next}", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2.9.10", false)]
    [InlineData("2.10.26", false)]
    [InlineData("2.10.27", true)]
    [InlineData("v2.11.0-RC.1", true)]
    public void VersionCheck_RequiresNats_2_10_27(string version, bool ok) =>
        Assert.Equal(ok, ClusterEngine.VersionAtLeast(version, 2, 10, 27));

    [Fact]
    public void Options_Invalid_EveryProblemNamed()
    {
        var options = new ClusterOptions { Enabled = true, NodeId = "Node.1", NodeIndex = 0, Replicas = 2, PublishRetryWindow = TimeSpan.FromMinutes(5) };
        var errors = options.Validate().ToList();
        Assert.Contains(errors, e => e.Contains("NodeId", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("NodeIndex", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Urls", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Replicas", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("PublishRetryWindow", StringComparison.Ordinal));
        Assert.Empty(new ClusterOptions().Validate());
    }

    [Fact]
    public void LogClock_StampedNow_IsTheLogsTimestampOtherwiseTheRealClock()
    {
        var clock = new LogClock(TimeProvider.System);
        clock.Set(1_700_000_000_123);
        Assert.Equal(1_700_000_000_123, clock.GetUtcNow().ToUnixTimeMilliseconds());
        clock.Set(null);
        Assert.True(Math.Abs((clock.GetUtcNow() - DateTimeOffset.UtcNow).TotalSeconds) < 5);
    }
}
