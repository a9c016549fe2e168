using Microsoft.Extensions.Time.Testing;
using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Workplace;

/// <summary>Threads, reactions, edits and polls, against the real server with real clients.</summary>
public class ConversationTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private TestServer Server => shared.Server;

    [Fact]
    public async Task Threads_ReplyToRoot_AreListedAsRelations_AndNestedThreadsAreRefused()
    {
        var alice = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        var room = await WorkplaceKit.RoomWithAsync(a, [(b, bob)]);
        var root = await a.SendTextAsync(room, "lunch plans?");
        var reply1 = await b.SendReplyAsync(room, root.EventId, "pizza");
        var reply2 = await a.SendReplyAsync(room, root.EventId, "sushi");

        var nested = await Assert.ThrowsAsync<TeamCommsException>(() => b.SendReplyAsync(room, reply1.EventId, "in a thread in a thread"));
        Assert.Equal(ErrorCode.InvalidRelation, nested.Code);
        var unknown = await Assert.ThrowsAsync<TeamCommsException>(() => b.SendReplyAsync(room, new EventId(new byte[32]), "to nothing"));
        Assert.Equal(ErrorCode.UnknownEvent, unknown.Code);
        var malformed = await Assert.ThrowsAsync<TeamCommsException>(() => b.SendAsync(room, EventTypes.Message,
            new Dictionary<string, object?> { ["body"] = "x", ["rel"] = new Dictionary<string, object?> { ["type"] = "thread", ["event"] = "not an id" } }));
        Assert.Equal(ErrorCode.BadField, malformed.Code);

        var thread = await b.RelationsAsync(room, root.EventId, Relations.Thread);
        Assert.Equal([reply1.Seq, reply2.Seq], thread.Select(e => e.Seq));
        Assert.All(thread, e => Assert.True(Relations.TryRead(e.ContentMap, out var rel) && rel.Type == Relations.Thread && rel.Event == root.EventId));
    }

    [Fact]
    public async Task Reactions_OnePerKeyAndPerson_RemovedByRedactingThem()
    {
        var alice = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        var room = await WorkplaceKit.RoomWithAsync(a, [(b, bob)]);
        var msg = await a.SendTextAsync(room, "shipped!");
        var thumbs = await b.ReactAsync(room, msg.EventId, "👍");
        await b.ReactAsync(room, msg.EventId, "🎉");
        await a.ReactAsync(room, msg.EventId, "👍");
        Assert.Equal(ErrorCode.InvalidRelation, (await Assert.ThrowsAsync<TeamCommsException>(() => b.ReactAsync(room, msg.EventId, "👍"))).Code);
        Assert.Equal(ErrorCode.InvalidRelation, (await Assert.ThrowsAsync<TeamCommsException>(() => b.ReactAsync(room, thumbs.EventId, "👍"))).Code);
        var noRel = await Assert.ThrowsAsync<TeamCommsException>(() => b.SendAsync(room, WorkplaceEventTypes.Reaction, new Dictionary<string, object?> { ["key"] = "👍" }));
        Assert.Equal(ErrorCode.BadField, noRel.Code);

        Assert.Equal(3, (await a.RelationsAsync(room, msg.EventId, Relations.Reaction)).Count);
        await b.RedactAsync(room, thumbs.EventId); // un-react
        var left = await a.RelationsAsync(room, msg.EventId, Relations.Reaction);
        Assert.Equal(["🎉", "👍"], left.Select(e => (string)e.ContentMap["key"]!).Order(StringComparer.Ordinal));
        await b.ReactAsync(room, msg.EventId, "👍"); // allowed again
    }

    [Fact]
    public async Task Edits_OnlyBySender_AndTheOriginalKeepsItsId()
    {
        var alice = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        var room = await WorkplaceKit.RoomWithAsync(a, [(b, bob)]);
        var msg = await a.SendTextAsync(room, "meeting at 10");
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => b.SendEditAsync(room, msg.EventId, "meeting cancelled"))).Code);
        var edit = await a.SendEditAsync(room, msg.EventId, "meeting at 11");
        Assert.Equal(ErrorCode.InvalidRelation, (await Assert.ThrowsAsync<TeamCommsException>(() => a.SendEditAsync(room, edit.EventId, "edit of an edit"))).Code);
        var edits = await b.RelationsAsync(room, msg.EventId, Relations.Edit);
        Assert.Equal("meeting at 11", (string)Assert.Single(edits).ContentMap["body"]!);
        Assert.Equal(msg.EventId, (await WorkplaceKit.EventAsync(b, room, msg.Seq)).Id);
    }

    [Fact]
    public async Task Poll_SingleChoice_ResultsUpdateLive_AndVotesCanChange()
    {
        var alice = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        var carol = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await using var c = await carol.ConnectAsync();
        var room = await WorkplaceKit.RoomWithAsync(a, [(b, bob), (c, carol)]);
        await using var watch = new EventCollector(a);
        var poll = await a.SendPollAsync(room, "Offsite?", [("mon", "Monday"), ("fri", "Friday")]);

        await b.VoteAsync(room, poll.EventId, ["mon"]);
        await c.VoteAsync(room, poll.EventId, ["fri"]);
        await b.VoteAsync(room, poll.EventId, ["fri"]);
        Assert.Equal(ErrorCode.BadField, (await Assert.ThrowsAsync<TeamCommsException>(() => c.VoteAsync(room, poll.EventId, ["mon", "fri"]))).Code);
        Assert.Equal(ErrorCode.BadField, (await Assert.ThrowsAsync<TeamCommsException>(() => c.VoteAsync(room, poll.EventId, ["tue"]))).Code);

        var live = await watch.WaitForTypeAsync(room, WorkplaceEventTypes.PollResults, 3);
        var counts = live.Where(e => e.Type == WorkplaceEventTypes.PollResults).Select(e => (Dictionary<string, object?>)e.ContentMap["counts"]!)
            .Select(m => ((long)m["mon"]!, (long)m["fri"]!)).ToList();
        Assert.Equal([(1L, 0L), (1L, 1L), (0L, 2L)], counts);
        var votes = live.Where(e => e.Type == WorkplaceEventTypes.PollVote).Select(e => e.Sender).ToList();
        Assert.Equal([bob.UserId, carol.UserId, bob.UserId], votes); // not anonymous: votes are visible

        var results = await c.PollResultsAsync(room, poll.EventId);
        Assert.Equal(2L, results["voters"]);
        Assert.Equal(["fri"], ((List<object?>)results["mine"]!).Cast<string>());
        await c.VoteAsync(room, poll.EventId, []); // withdraw
        Assert.Equal(1L, (await a.PollResultsAsync(room, poll.EventId))["voters"]);
    }

    [Fact]
    public async Task Poll_AnonymousMultipleChoice_HidesWhoVoted()
    {
        var alice = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        var carol = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await using var c = await carol.ConnectAsync();
        var room = await WorkplaceKit.RoomWithAsync(a, [(b, bob), (c, carol)]);
        var poll = await a.SendPollAsync(room, "Which talks?", [("k8s", "Kubernetes"), ("rust", "Rust"), ("ux", "UX")], multiple: true, anonymous: true);
        await b.VoteAsync(room, poll.EventId, ["k8s", "rust"]);
        await c.VoteAsync(room, poll.EventId, ["rust"]);

        var history = (await a.HistoryAsync(room, forward: true, limit: 100)).Events;
        Assert.DoesNotContain(history, e => e.Type == WorkplaceEventTypes.PollVote);
        var last = history.Last(e => e.Type == WorkplaceEventTypes.PollResults);
        Assert.EndsWith("@test.local", last.Sender);
        Assert.StartsWith("_system@", last.Sender);
        var counts = (Dictionary<string, object?>)last.ContentMap["counts"]!;
        Assert.Equal((1L, 2L, 0L), ((long)counts["k8s"]!, (long)counts["rust"]!, (long)counts["ux"]!));
        Assert.Equal(2L, last.ContentMap["voters"]);
        Assert.DoesNotContain(bob.UserId, System.Text.Encoding.UTF8.GetString(last.Content!.Value.Span));
        // Each voter still sees their own choice.
        Assert.Equal(["k8s", "rust"], ((List<object?>)(await b.PollResultsAsync(room, poll.EventId))["mine"]!).Cast<string>());
    }

    [Fact]
    public async Task Poll_Malformed_IsRefused_AndClosingIsForItsSenderOrModerators()
    {
        var alice = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        var room = await WorkplaceKit.RoomWithAsync(a, [(b, bob)]);
        Assert.Equal(ErrorCode.BadField, (await Assert.ThrowsAsync<TeamCommsException>(() => b.SendPollAsync(room, "one option?", [("a", "A")]))).Code);
        Assert.Equal(ErrorCode.BadField, (await Assert.ThrowsAsync<TeamCommsException>(() => b.SendPollAsync(room, "dupes", [("a", "A"), ("a", "B")]))).Code);
        Assert.Equal(ErrorCode.BadField, (await Assert.ThrowsAsync<TeamCommsException>(() => b.SendPollAsync(room, "past", [("a", "A"), ("b", "B")], closesAt: 1000))).Code);
        var poll = await b.SendPollAsync(room, "ok?", [("y", "Yes"), ("n", "No")]);
        var msg = await a.SendTextAsync(room, "not a poll");
        Assert.Equal(ErrorCode.UnknownEvent, (await Assert.ThrowsAsync<TeamCommsException>(() => b.VoteAsync(room, msg.EventId, ["y"]))).Code);

        var carol = await Server.CreateUserAsync();
        await using var c = await carol.ConnectAsync();
        await a.InviteAsync(room, carol.UserId);
        await c.JoinAsync(room);
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => c.ClosePollAsync(room, poll.EventId))).Code);
        await a.ClosePollAsync(room, poll.EventId); // alice owns the room
        Assert.Equal(ErrorCode.PollClosed, (await Assert.ThrowsAsync<TeamCommsException>(() => c.VoteAsync(room, poll.EventId, ["y"]))).Code);
        Assert.Equal(true, (await c.PollResultsAsync(room, poll.EventId))["closed"]);
    }

    [Fact]
    public async Task Poll_ClosesAtItsClosingTime_OnTheFakeClock()
    {
        var clock = new FakeTimeProvider(WorkplaceKit.Start);
        await using var server = await TestServer.StartAsync(time: clock);
        var alice = await server.CreateUserAsync();
        var bob = await server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        var room = await WorkplaceKit.RoomWithAsync(a, [(b, bob)]);
        await using var watch = new EventCollector(b);
        var closesAt = clock.GetUtcNow().AddMinutes(30).ToUnixTimeMilliseconds();
        var poll = await a.SendPollAsync(room, "Deploy Friday?", [("y", "Yes"), ("n", "No")], closesAt: closesAt);
        await b.VoteAsync(room, poll.EventId, ["n"]);

        clock.Advance(TimeSpan.FromMinutes(29));
        await b.VoteAsync(room, poll.EventId, ["y"]); // still open
        clock.Advance(TimeSpan.FromMinutes(2));
        var events = await watch.WaitAsync(es => es.Any(e => e.Type == WorkplaceEventTypes.PollResults && e.ContentMap["closed"] is true));
        var final = events.Last(e => e.Type == WorkplaceEventTypes.PollResults);
        Assert.Equal(1L, ((Dictionary<string, object?>)final.ContentMap["counts"]!)["y"]);
        Assert.Equal(ErrorCode.PollClosed, (await Assert.ThrowsAsync<TeamCommsException>(() => b.VoteAsync(room, poll.EventId, ["n"]))).Code);
    }
}
