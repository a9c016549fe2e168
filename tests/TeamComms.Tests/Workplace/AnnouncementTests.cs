using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Workplace;

/// <summary>Announcement rooms: who posts, everyone reacts, pins, and posting roles set per room.</summary>
public class AnnouncementTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private TestServer Server => shared.Server;

    [Fact]
    public async Task AnnouncementRoom_OnlyPostersPost_EveryoneReactsAndVotes_PostersPin()
    {
        var owner = await Server.CreateUserAsync();
        var poster = await Server.CreateUserAsync();
        var reader = await Server.CreateUserAsync();
        await using var o = await owner.ConnectAsync();
        await using var p = await poster.ConnectAsync();
        await using var r = await reader.ConnectAsync();
        var room = await WorkplaceKit.RoomWithAsync(o, [(p, poster), (r, reader)], "All hands", kind: "announcement");
        await o.CallAsync("rooms.set_role", new Dictionary<string, object?> { ["room"] = room, ["user"] = poster.UserId, ["role"] = "poster" });

        var post = await p.SendTextAsync(room, "Office closed on Friday");
        var refused = await Assert.ThrowsAsync<TeamCommsException>(() => r.SendTextAsync(room, "me too"));
        Assert.Equal(ErrorCode.Forbidden, refused.Code);
        Assert.Contains("posters", refused.ServerMessage);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => r.SendReplyAsync(room, post.EventId, "reply"))).Code);
        await r.ReactAsync(room, post.EventId, "👍"); // everyone reacts
        var poll = await p.SendPollAsync(room, "Lunch order?", [("a", "A"), ("b", "B")]);
        await r.VoteAsync(room, poll.EventId, ["a"]); // and votes

        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => r.PinAsync(room, post.EventId))).Code);
        await p.PinAsync(room, post.EventId);
        await p.PinAsync(room, poll.EventId);
        Assert.Equal(ErrorCode.Conflict, (await Assert.ThrowsAsync<TeamCommsException>(() => p.PinAsync(room, post.EventId))).Code);
        var settings = await r.RoomSettingsAsync(room);
        Assert.Equal([post.EventId, poll.EventId], ((List<object?>)settings["pins"]!).Select(x => new EventId((byte[])x!)));
        Assert.Equal("poster", settings["posting_role"]);

        await o.UnpinAsync(room, post.EventId);
        var pins = (await r.HistoryAsync(room, forward: true, limit: 100)).Events.Where(e => e.Type == WorkplaceEventTypes.Pins).ToList();
        Assert.Equal(3, pins.Count);
        var lastPins = (List<object?>)pins[^1].ContentMap["events"]!;
        Assert.Equal(poll.EventId, new EventId((byte[])Assert.Single(lastPins)!));
        Assert.Equal([poll.EventId], ((List<object?>)(await r.RoomSettingsAsync(room))["pins"]!).Select(x => new EventId((byte[])x!)));
    }

    [Fact]
    public async Task PostingRole_IsConfigurablePerRoom_ByOwners()
    {
        var owner = await Server.CreateUserAsync();
        var mod = await Server.CreateUserAsync();
        var member = await Server.CreateUserAsync();
        await using var o = await owner.ConnectAsync();
        await using var m = await mod.ConnectAsync();
        await using var u = await member.ConnectAsync();
        var room = await WorkplaceKit.RoomWithAsync(o, [(m, mod), (u, member)], "Team");
        await o.CallAsync("rooms.set_role", new Dictionary<string, object?> { ["room"] = room, ["user"] = mod.UserId, ["role"] = "moderator" });
        await u.SendTextAsync(room, "members post in a group room by default");

        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => m.SetPostingRoleAsync(room, "moderator"))).Code);
        Assert.Equal(ErrorCode.BadField, (await Assert.ThrowsAsync<TeamCommsException>(() => o.SetPostingRoleAsync(room, "everyone"))).Code);
        await o.SetPostingRoleAsync(room, "moderator");
        var refused = await Assert.ThrowsAsync<TeamCommsException>(() => u.SendTextAsync(room, "read-only now"));
        Assert.Equal(ErrorCode.Forbidden, refused.Code);
        Assert.Contains("moderator", refused.ServerMessage);
        await m.SendTextAsync(room, "moderators still post");
        var posting = (await u.HistoryAsync(room, limit: 10)).Events.First(e => e.Type == WorkplaceEventTypes.Posting);
        Assert.Equal("moderator", posting.ContentMap["role"]);

        await o.SetPostingRoleAsync(room, "member");
        await u.SendTextAsync(room, "open again");
    }
}
