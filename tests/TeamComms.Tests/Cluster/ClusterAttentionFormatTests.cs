using MessagePack;
using TeamComms.Server.Cluster;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Tests.Cluster;

/// <summary>The attention features' proposals in the cluster log (tags 15-17), without NATS (normal stage).</summary>
public sealed class ClusterAttentionFormatTests
{
    private static readonly Actor Alice = new("alice@x.test", 1L << 40, (2L << 40) + 7);

    private static readonly AlertRecord Template = new()
    {
        Key = (3L << 40) + 5,
        Id = "a3298534883333",
        RoomKey = 0,
        RoomId = "",
        Sender = "alice@x.test",
        SenderKey = 1L << 40,
        Urgent = true,
        Scope = "direct",
        Target = "bob@x.test",
        CreatedAt = 1_700_000_000_000,
        ReminderIntervalMs = 120_000,
        ReminderDurationMs = 1_200_000,
        Escalate = true,
    };

    public static TheoryData<string> Kinds => ["alert", "post", "incident-room", "direct-room", "ack", "remind", "escalate"];

    private static Proposal Sample(string kind) => kind switch
    {
        "alert" => new AttentionPostProposal(Alice, "!abc@x.test", "message", [0x81, 0xA4, 0x62, 0x6F, 0x64, 0x79, 0xA1, 0x78])
        {
            Urgent = true,
            JoinFirst = ["bob@x.test"],
            Alert = Template,
            Writes = [StagedWrite.Put("audit", [1], [2, 3])],
        },
        "post" => new AttentionPostProposal(Alice, "!inc@x.test", "incident.report", [0x80])
        {
            Sender = "_anonymous@x.test",
            Privileged = true,
            Writes = [StagedWrite.Put("attention", [(byte)'I', 0, 0, 0, 0, 0, 0, 0, 1], [9]), StagedWrite.Delete("attention", [7])],
        },
        "incident-room" => new AttentionRoomProposal(Alice, "_system@x.test", "Incident i1: safety", "Confidential", "group", "full")
        {
            PresetRoomId = "!preset@x.test",
        },
        "direct-room" => new AttentionRoomProposal(Alice, "alice@x.test", "", "", "direct", "joined")
        {
            Join = ["bob@x.test"],
            InvitePolicy = "members",
            RoomKeyRows = [StagedWrite.Put("tables", [(byte)'d', 1, 2], [])],
            Writes = [StagedWrite.Put("audit", [4], [5])],
        },
        "ack" => new AlertProgressProposal(Alice, 77, AlertProgress.Ack, 1_700_000_000_500) { Users = [Alice.UserKey] },
        "remind" => new AlertProgressProposal(default, 77, AlertProgress.Remind, 1_700_000_120_000) { Due = 3, Users = [5, 6, 7] },
        _ => new AlertProgressProposal(default, 77, AlertProgress.Escalate, 1_700_001_200_000)
        {
            Users = [5, 6],
            EscalatedTo = [["boss@x.test"], ["safety@x.test", "hr@x.test"]],
            Writes = [StagedWrite.Put("audit", [8], [9])],
        },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void RoundTrip_SameProposal(string kind)
    {
        var original = Sample(kind);
        Assert.True(ProposalCodec.CanEncode(original));
        var decoded = ProposalCodec.FromBytes(ProposalCodec.ToBytes(original));
        Assert.Equal(original.GetType(), decoded.GetType());
        Assert.Equal(ProposalCodec.ToBytes(original), ProposalCodec.ToBytes(decoded));
        Assert.Equal(original.Actor, decoded.Actor);
    }

    [Fact]
    public void AlertPost_FieldsSurvive()
    {
        var post = Assert.IsType<AttentionPostProposal>(ProposalCodec.FromBytes(ProposalCodec.ToBytes(Sample("alert"))));
        Assert.Equal(("!abc@x.test", "message", true, false, null), (post.RoomId, post.Type, post.Urgent, post.Privileged, post.Sender));
        Assert.Equal(["bob@x.test"], post.JoinFirst);
        Assert.Equal(Template, post.Alert); // the publisher's key and every setting of the alert travel
        Assert.Equal([2, 3], Assert.Single(post.Writes).Value);
        var anonymous = Assert.IsType<AttentionPostProposal>(ProposalCodec.FromBytes(ProposalCodec.ToBytes(Sample("post"))));
        Assert.Equal(("_anonymous@x.test", true), (anonymous.Sender, anonymous.Privileged));
        Assert.Null(anonymous.Alert);
        Assert.Null(anonymous.Writes[1].Value);
    }

    [Fact]
    public void AttentionRoom_PresetIdAndIndexRowsSurvive()
    {
        var room = Assert.IsType<AttentionRoomProposal>(ProposalCodec.FromBytes(ProposalCodec.ToBytes(Sample("direct-room"))));
        Assert.Equal(("alice@x.test", "direct", "joined", "members", null), (room.Owner, room.Kind, room.HistoryVisibility, room.InvitePolicy, room.PresetRoomId));
        Assert.Equal(["bob@x.test"], room.Join);
        Assert.Equal("tables", Assert.Single(room.RoomKeyRows).Family);
        Assert.Equal([(byte)'d', 1, 2], room.RoomKeyRows[0].Key);
        var incident = Assert.IsType<AttentionRoomProposal>(ProposalCodec.FromBytes(ProposalCodec.ToBytes(Sample("incident-room"))));
        Assert.Equal(("!preset@x.test", "Incident i1: safety"), (incident.PresetRoomId, incident.Name));
    }

    [Fact]
    public void AlertProgress_FieldsSurvive()
    {
        var escalate = Assert.IsType<AlertProgressProposal>(ProposalCodec.FromBytes(ProposalCodec.ToBytes(Sample("escalate"))));
        Assert.Equal((77L, AlertProgress.Escalate, 1_700_001_200_000L), (escalate.AlertKey, escalate.Kind, escalate.At));
        Assert.Equal([5L, 6L], escalate.Users);
        Assert.Equal(["safety@x.test", "hr@x.test"], escalate.EscalatedTo[1]);
        var remind = Assert.IsType<AlertProgressProposal>(ProposalCodec.FromBytes(ProposalCodec.ToBytes(Sample("remind"))));
        Assert.Equal((3, 3), (remind.Due, remind.Users.Count));
        Assert.Equal(default, remind.Actor);
    }

    [Fact]
    public void Tags_15_16_17_AreTheAttentionProposals()
    {
        Assert.Equal(15, Convert.ToInt32(MessagePackSerializer.Deserialize<object[]>(ProposalCodec.ToBytes(Sample("alert")))[0], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(16, Convert.ToInt32(MessagePackSerializer.Deserialize<object[]>(ProposalCodec.ToBytes(Sample("incident-room")))[0], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(17, Convert.ToInt32(MessagePackSerializer.Deserialize<object[]>(ProposalCodec.ToBytes(Sample("ack")))[0], System.Globalization.CultureInfo.InvariantCulture));
    }
}
