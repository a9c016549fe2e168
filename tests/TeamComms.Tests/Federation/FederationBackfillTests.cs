using Microsoft.Extensions.DependencyInjection;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Federation;
using TeamComms.Server.Federation;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Federation;

/// <summary>Joining a room hosted elsewhere, history visibility across servers, and what a partner can and cannot learn.</summary>
[Collection("federation")]
public class FederationBackfillTests
{
    private static Dictionary<string, string?> Settings() => new() { ["TeamComms:Federation:BackfillPageSize"] = "200" };

    private static List<RoomEvent> StoredCopy(FederatedServer server, string room)
    {
        var r = server.Services.GetRequiredService<RoomRegistry>().Find(room)!;
        return server.Services.GetRequiredService<EventStore>().ReadRange(r.Key, 1, long.MaxValue, true, 10_000)
            .Select(s => EventCodec.Read(s.Wire)).ToList();
    }

    [Fact]
    public async Task JoinFullHistoryRoom_InviteeServerGetsNoContentUntilTheJoin_ThenBackfillsItInVerifiedPages()
    {
        await using var cluster = await FederatedServers.StartAsync(2, Settings());
        var alice = await cluster.A.CreateUserAsync("alice");
        var bob = await cluster.B.CreateUserAsync("bob");
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await using var bEvents = new EventCollector(b);
        var room = await a.CreateRoomAsync("history", history: "full");
        for (var i = 0; i < 450; i++)
        {
            await a.SendTextAsync(room, $"old {i}");
        }
        await a.InviteAsync(room, bob.UserId);
        await bEvents.WaitAsync(es => es.Any(e => e.RoomId == room && e.Type == EventTypes.Member));

        // Invited only: b.test holds the whole chain, but no message content.
        var invited = StoredCopy(cluster.B, room);
        Assert.Equal(-1, EventCodec.VerifyChain(invited, null, 0));
        Assert.Equal(450, invited.Count(e => e.Type == EventTypes.Message));
        Assert.All(invited.Where(e => e.Type == EventTypes.Message), e => Assert.Null(e.Content));
        Assert.All(invited.Where(e => e.Type.StartsWith("room.", StringComparison.Ordinal)), e => Assert.NotNull(e.Content));

        await b.JoinAsync(room);
        var history = await FederationThreeServerTests.WaitForHistoryContentAsync(b, room, 450);
        Assert.Equal(Enumerable.Range(0, 450).Select(i => $"old {i}"),
            history.Where(e => e.Type == EventTypes.Message).Select(e => (string)e.ContentMap["body"]!));
        // 453 events before the join, 200 per page: three pages.
        Assert.Equal(3, cluster.B.Services.GetRequiredService<FollowerBackfill>().PagesFetched);
        Assert.Equal(StoredCopy(cluster.A, room).Select(e => e.Id), StoredCopy(cluster.B, room).Select(e => e.Id));
        Assert.Empty(cluster.B.Services.GetRequiredService<FederationStore>().Backfills());
    }

    [Fact]
    public async Task JoinJoinedHistoryRoom_EarlierContentNeverLeavesTheHub()
    {
        await using var cluster = await FederatedServers.StartAsync(2, Settings());
        var alice = await cluster.A.CreateUserAsync("alice");
        var bob = await cluster.B.CreateUserAsync("bob");
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await using var bEvents = new EventCollector(b);
        var room = await a.CreateRoomAsync("private past", history: "joined", invite: [bob.UserId]);
        for (var i = 0; i < 50; i++)
        {
            await a.SendTextAsync(room, $"secret {i}");
        }
        await bEvents.WaitAsync(es => es.Any(e => e.RoomId == room && e.Type == EventTypes.Member));
        await b.JoinAsync(room);
        await a.SendTextAsync(room, "after the join");
        await bEvents.WaitForMessagesAsync(room, 1);

        var copy = StoredCopy(cluster.B, room);
        Assert.Equal(-1, EventCodec.VerifyChain(copy, null, 0));
        Assert.All(copy.Where(e => e.Type == EventTypes.Message && e.Seq < copy[^1].Seq), e => Assert.Null(e.Content));
        var page = await b.HistoryAsync(room, forward: true, limit: 500);
        Assert.Equal(["after the join"], page.Events.Where(e => e.Type == EventTypes.Message).Select(e => (string)e.ContentMap["body"]!));
        // Asking the hub directly does not help either.
        var (status, body) = await FederationProbe.SendAsync(cluster.B, cluster.A, HttpMethod.Get,
            $"/v1/federation/rooms/{Uri.EscapeDataString(room)}/events?from=1&limit=100");
        Assert.Equal(200, status);
        var events = EventPage.Read(body).Batch.Events.Select(w => EventCodec.Read(w)).ToList();
        Assert.All(events.Where(e => e.Type == EventTypes.Message && (e.Content is null || !((string)e.ContentMap["body"]!).StartsWith("after", StringComparison.Ordinal))),
            e => Assert.Null(e.Content));
    }

    [Fact]
    public async Task Partner_CannotSeeRoomsWithoutItsUsers_NorTheDirectory()
    {
        await using var cluster = await FederatedServers.StartAsync(2, Settings());
        var alice = await cluster.A.CreateUserAsync("alice");
        var dave = await cluster.A.CreateUserAsync("dave");
        var bob = await cluster.B.CreateUserAsync("bob");
        await using var a = await alice.ConnectAsync();
        var internalRoom = await a.CreateRoomAsync("internal only", invite: [dave.UserId]);
        await a.SendTextAsync(internalRoom, "not for partners");
        await using var b = await bob.ConnectAsync();
        await using var bEvents = new EventCollector(b);
        var shared = await a.CreateRoomAsync("shared", invite: [bob.UserId]);
        await bEvents.WaitAsync(es => es.Any(e => e.RoomId == shared));
        await b.JoinAsync(shared);

        // b.test never received anything of the internal room, and asking for it looks like asking for a room that does not exist.
        Assert.Null(cluster.B.Services.GetRequiredService<RoomRegistry>().Find(internalRoom));
        var (status, body) = await FederationProbe.SendAsync(cluster.B, cluster.A, HttpMethod.Get,
            $"/v1/federation/rooms/{Uri.EscapeDataString(internalRoom)}/events?from=1&limit=10");
        Assert.Equal(404, status);
        Assert.Equal("unknown_room", FederationProbe.ErrorCodeOf(body));
        // There is no federation endpoint that lists users or rooms.
        foreach (var path in new[] { "/v1/federation/users", "/v1/federation/rooms", $"/v1/federation/users/{dave.UserId}" })
        {
            var (s, _) = await FederationProbe.SendAsync(cluster.B, cluster.A, HttpMethod.Get, path);
            Assert.Equal(404, s);
        }
        // Remote users appear with server-qualified ids, as members of the shared room only; they are not accounts.
        var members = (List<object?>)(await b.CallAsync("rooms.members", new Dictionary<string, object?> { ["room"] = shared }))!;
        Assert.Equal(["alice@a.test", "bob@b.test"], members.Select(m => (string)((Dictionary<string, object?>)m!)["user"]!).Order());
        using var bAdmin = await cluster.B.Server.AdminAsync();
        Assert.DoesNotContain(await bAdmin.ListUsersAsync(), u => u["user_id"]!.GetValue<string>().EndsWith("@a.test", StringComparison.Ordinal));
        var copy = StoredCopy(cluster.B, shared);
        Assert.DoesNotContain(copy, e => e.Sender == dave.UserId || (e.Content is not null && e.ContentMap.GetValueOrDefault("user") as string == dave.UserId));
    }

    [Fact]
    public async Task OffboardingAUser_RemovesThemFromRoomsHostedOnOtherServers_AndOnlyTheHubArchives()
    {
        await using var cluster = await FederatedServers.StartAsync(2);
        var alice = await cluster.A.CreateUserAsync("alice");
        var bob = await cluster.B.CreateUserAsync("bob");
        await using var a = await alice.ConnectAsync();
        await using var aEvents = new EventCollector(a);
        string room;
        await using (var b = await bob.ConnectAsync())
        await using (var bEvents = new EventCollector(b))
        {
            room = await a.CreateRoomAsync("partners", invite: [bob.UserId]);
            await bEvents.WaitAsync(es => es.Any(e => e.RoomId == room));
            await b.JoinAsync(room);
            // An admin of b.test cannot archive a room a.test hosts.
            using var bAdminHttp = await cluster.B.Server.AdminAsync();
            var ex = await Assert.ThrowsAsync<TeamComms.Client.TeamCommsException>(() =>
                bAdminHttp.SendAsync(HttpMethod.Post, $"/v1/admin/rooms/{Uri.EscapeDataString(room)}/archive", new System.Text.Json.Nodes.JsonObject()));
            Assert.Contains(ex.CodeName, new[] { "federation_refused", "not_found", "unknown_room" });
        }
        // bob leaves the company: b.test removes him everywhere, including from a.test's room, by his own signed leave.
        using var bAdmin = await cluster.B.Server.AdminAsync();
        await bAdmin.SendAsync(HttpMethod.Post, $"/v1/admin/users/{bob.UserId}/deactivate", new System.Text.Json.Nodes.JsonObject { ["reason"] = "left" });
        var left = await aEvents.WaitAsync(es => es.Any(e => e.RoomId == room && e.Type == EventTypes.Member
            && (string)e.ContentMap["user"]! == bob.UserId && (string)e.ContentMap["membership"]! == Membership.Leave));
        var leave = left.Last(e => e.RoomId == room && e.Type == EventTypes.Member);
        Assert.Equal(bob.UserId, leave.Sender);
        Assert.NotNull(leave.Origin);
        var members = (List<object?>)(await a.CallAsync("rooms.members", new Dictionary<string, object?> { ["room"] = room }))!;
        Assert.DoesNotContain(members, m => (string)((Dictionary<string, object?>)m!)["user"]! == bob.UserId);
        await Eventually.TrueAsync(() => cluster.B.Services.GetRequiredService<FederationStore>().PendingCount() == 0, what: "b.test has no pending sends");
        Assert.Equal(Membership.Leave, cluster.B.Services.GetRequiredService<RoomRegistry>().Find(room)!.View.State.Member(bob.UserId)!.Membership);
    }
}

