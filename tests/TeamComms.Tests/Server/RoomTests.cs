using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Server;

public class RoomTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private TestServer Server => shared.Server;

    [Fact]
    public async Task CreateInviteJoinLeaveKick_AreMembershipEventsInTheLog()
    {
        var alice = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        var carol = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await using var c = await carol.ConnectAsync();
        var room = await a.CreateRoomAsync("Project X", "launch", invite: [bob.UserId]);
        await b.JoinAsync(room);
        await a.InviteAsync(room, carol.UserId);
        await c.JoinAsync(room);
        await c.LeaveAsync(room);
        await a.KickAsync(room, bob.UserId, "done");

        var page = await a.HistoryAsync(room, forward: true, limit: 100);
        var members = page.Events.Where(e => e.Type == EventTypes.Member)
            .Select(e => ((string)e.ContentMap["user"]!, (string)e.ContentMap["membership"]!)).ToList();
        Assert.Equal(
        [
            (alice.UserId, "join"), (bob.UserId, "invite"), (bob.UserId, "join"), (carol.UserId, "invite"),
            (carol.UserId, "join"), (carol.UserId, "leave"), (bob.UserId, "leave"),
        ], members);
        Assert.Equal(EventTypes.Create, page.Events[0].Type);
        Assert.Equal(-1, EventCodec.VerifyChain(page.Events, null, 0));
        var summary = Assert.Single(await a.ListRoomsAsync(), r => r.RoomId == room);
        Assert.Equal(("Project X", 1L, "owner"), (summary.Name, summary.JoinedCount, summary.Role));
        Assert.DoesNotContain(await b.ListRoomsAsync(), r => r.RoomId == room);
    }

    [Fact]
    public async Task CreatedRoom_IsPrivateAndInviteOnly()
    {
        var alice = await Server.CreateUserAsync();
        var mallory = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var m = await mallory.ConnectAsync();
        var room = await a.CreateRoomAsync("Private");
        Assert.Equal(ErrorCode.NotInvited, (await Assert.ThrowsAsync<TeamCommsException>(() => m.JoinAsync(room))).Code);
        Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<TeamCommsException>(() => m.SendTextAsync(room, "hi"))).Code);
        Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<TeamCommsException>(() => m.HistoryAsync(room))).Code);
        Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<TeamCommsException>(() => m.InviteAsync(room, mallory.UserId))).Code);
    }

    [Fact]
    public async Task Kick_ByPlainMember_IsForbidden()
    {
        var alice = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        var room = await a.CreateRoomAsync("R", invite: [bob.UserId]);
        await b.JoinAsync(room);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => b.KickAsync(room, alice.UserId))).Code);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => b.InviteAsync(room, alice.UserId))).Code);
    }

    [Fact]
    public async Task Invite_UnknownUser_IsUnknownUser()
    {
        var alice = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        var room = await a.CreateRoomAsync("R");
        Assert.Equal(ErrorCode.UnknownUser, (await Assert.ThrowsAsync<TeamCommsException>(() => a.InviteAsync(room, "ghost@test.local"))).Code);
        Assert.Equal(ErrorCode.UnknownUser, (await Assert.ThrowsAsync<TeamCommsException>(() => a.InviteAsync(room, "bob@other.example"))).Code);
    }

    [Fact]
    public async Task Send_UnknownRoom_IsUnknownRoom()
    {
        var alice = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        var ex = await Assert.ThrowsAsync<TeamCommsException>(() => a.SendTextAsync("!aaaaaaaaaaaaaaaa@test.local", "hi"));
        Assert.Equal(ErrorCode.UnknownRoom, ex.Code);
    }

    [Fact]
    public async Task Send_SameTransactionIdTwice_ReturnsOriginalEvent()
    {
        var alice = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        var room = await a.CreateRoomAsync("R");
        var first = await a.SendTextAsync(room, "once", "txn-42");
        var second = await a.SendTextAsync(room, "once", "txn-42");
        Assert.Equal((first.Seq, first.EventId), (second.Seq, second.EventId));
        // Concurrently, in the same batch.
        var both = await Task.WhenAll(a.SendTextAsync(room, "twice", "txn-43"), a.SendTextAsync(room, "twice", "txn-43"));
        Assert.Equal(both[0].EventId, both[1].EventId);
        var page = await a.HistoryAsync(room, forward: true, limit: 100);
        Assert.Single(page.Events, e => e.Type == EventTypes.Message && (string)e.ContentMap["body"]! == "once");
        Assert.Single(page.Events, e => e.Type == EventTypes.Message && (string)e.ContentMap["body"]! == "twice");
    }

    [Fact]
    public async Task Send_ReservedType_IsRefused_CustomTypeIsAccepted()
    {
        var alice = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        var room = await a.CreateRoomAsync("R");
        var ex = await Assert.ThrowsAsync<TeamCommsException>(() => a.SendAsync(room, "room.name", new Dictionary<string, object?> { ["name"] = "hijack" }));
        Assert.Equal(ErrorCode.InvalidEventType, ex.Code);
        var ack = await a.SendAsync(room, "x.acme.poll", new Dictionary<string, object?> { ["question"] = "lunch?", ["options"] = new List<object?> { "a", "b" } });
        Assert.True(ack.Seq > 0);
    }

    [Fact]
    public async Task Messages_GetDenseSeqsServerTimestampAndSender()
    {
        var alice = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        var room = await a.CreateRoomAsync("R");
        var acks = new List<TeamComms.Protocol.Frames.AckFrame>();
        for (var i = 0; i < 20; i++)
        {
            acks.Add(await a.SendTextAsync(room, $"m{i}"));
        }
        Assert.Equal(Enumerable.Range((int)acks[0].Seq, 20).Select(i => (long)i), acks.Select(x => x.Seq));
        var page = await a.HistoryAsync(room, forward: true, limit: 100);
        Assert.All(page.Events, e => Assert.True(EventCodec.Verify(e)));
        Assert.All(page.Events.Where(e => e.Type == EventTypes.Message), e => Assert.Equal(alice.UserId, e.Sender));
        Assert.Equal(-1, EventCodec.VerifyChain(page.Events, null, 0));
    }

    [Fact]
    public async Task History_PagesBackwardAndForward()
    {
        var alice = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        var room = await a.CreateRoomAsync("R");
        for (var i = 0; i < 25; i++)
        {
            await a.SendTextAsync(room, $"m{i}");
        }
        var all = new List<RoomEvent>();
        long? from = null;
        do
        {
            var page = await a.HistoryAsync(room, from, forward: false, limit: 10);
            all.AddRange(page.Events);
            from = page.Next;
        }
        while (from is not null);
        Assert.Equal(Enumerable.Range(1, all.Count).Reverse().Select(i => (long)i), all.Select(e => e.Seq));
        var forward = await a.HistoryAsync(room, 5, forward: true, limit: 3);
        Assert.Equal([5L, 6L, 7L], forward.Events.Select(e => e.Seq));
        Assert.Equal(8L, forward.Next);
    }

    [Fact]
    public async Task UnreadCounts_FollowReadMarkers_AndOwnSendsCountAsRead()
    {
        var alice = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        var room = await a.CreateRoomAsync("R", invite: [bob.UserId]);
        await b.JoinAsync(room);
        TeamComms.Protocol.Frames.AckFrame? last = null;
        for (var i = 0; i < 5; i++)
        {
            last = await a.SendTextAsync(room, $"m{i}");
        }
        Assert.Equal(5, (await b.ListRoomsAsync()).Single(r => r.RoomId == room).Unread);
        Assert.Equal(0, (await a.ListRoomsAsync()).Single(r => r.RoomId == room).Unread);
        Assert.Equal(last!.Seq - 2, await b.MarkReadAsync(room, last.Seq - 2));
        Assert.Equal(2, (await b.ListRoomsAsync()).Single(r => r.RoomId == room).Unread);
        // Markers never move back.
        Assert.Equal(last.Seq - 2, await b.MarkReadAsync(room, 1));
        await b.MarkReadAsync(room, last.Seq);
        Assert.Equal(0, (await b.ListRoomsAsync()).Single(r => r.RoomId == room).Unread);
        Assert.Equal(ErrorCode.BadField, (await Assert.ThrowsAsync<TeamCommsException>(() => b.MarkReadAsync(room, last.Seq + 100))).Code);
    }

    [Fact]
    public async Task HistoryVisibility_Joined_HidesEarlierEventsFromNewMembers()
    {
        var alice = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        var room = await a.CreateRoomAsync("DM-like", history: "joined");
        await a.SendTextAsync(room, "before bob");
        await a.InviteAsync(room, bob.UserId);
        await b.JoinAsync(room);
        await a.SendTextAsync(room, "after bob");
        var page = await b.HistoryAsync(room, forward: true, limit: 100);
        Assert.DoesNotContain(page.Events, e => e.Type == EventTypes.Message && (string)e.ContentMap["body"]! == "before bob");
        Assert.Contains(page.Events, e => e.Type == EventTypes.Message && (string)e.ContentMap["body"]! == "after bob");
    }
}
