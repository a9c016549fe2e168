using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Server.Storage;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Workplace;

/// <summary>"Read by N of M" from delivered positions (devices' Received) and read markers, against the real server.</summary>
public class ReceiptTests
{
    // Devices that confirm receipt only when the test says so.
    private static readonly ClientOptions s_manualReceipts = new() { ReceiptInterval = TimeSpan.FromHours(1) };

    private static Task<Dictionary<string, object?>> ReceiptsAsync(TeamCommsConnection c, string room, long seq) =>
        c.CallMapAsync("receipts.get", new() { ["room"] = room, ["seq"] = seq });

    [Fact]
    public async Task Receipts_ReadByNOfM_FromPositions_OnlyForSenderAndModerators()
    {
        await using var server = await TestServer.StartAsync();
        var alice = await server.PersonAsync("rc-alice");
        var bob = await server.PersonAsync("rc-bob");
        var carol = await server.PersonAsync("rc-carol");
        var dave = await server.PersonAsync("rc-dave");
        var frank = await server.PersonAsync("rc-frank");
        var late = await server.PersonAsync("rc-late");
        await using var aliceConn = await alice.ConnectAsync(s_manualReceipts);
        var room = await aliceConn.CreateRoomAsync("Receipts", invite: [bob.UserId, carol.UserId, dave.UserId, frank.UserId, late.UserId]);
        await using var bobConn = await bob.ConnectAsync(s_manualReceipts);
        await using var carolConn = await carol.ConnectAsync(s_manualReceipts);
        await using var daveConn = await dave.ConnectAsync(s_manualReceipts);
        await bobConn.JoinAsync(room);
        await carolConn.JoinAsync(room);
        await daveConn.JoinAsync(room);
        await using (var frankConn = await frank.ConnectAsync(s_manualReceipts))
        {
            await frankConn.JoinAsync(room); // then frank goes offline
        }
        await aliceConn.CallAsync("rooms.set_role", new Dictionary<string, object?> { ["room"] = room, ["user"] = dave.UserId, ["role"] = "moderator" });
        await using var bobEvents = new EventCollector(bobConn);
        await using var carolEvents = new EventCollector(carolConn);

        var sent = await aliceConn.SendTextAsync(room, "did everyone see this?");
        await using (var lateConn = await late.ConnectAsync(s_manualReceipts))
        {
            await lateConn.JoinAsync(room); // joined after the message: not counted
        }
        await bobEvents.WaitAsync(es => es.Any(e => e.Seq == sent.Seq));
        await carolEvents.WaitAsync(es => es.Any(e => e.Seq == sent.Seq));
        await bobConn.ConfirmReceivedAsync();
        await bobConn.MarkReadAsync(room, sent.Seq);
        await carolConn.ConfirmReceivedAsync();

        Dictionary<string, object?> r = [];
        await Eventually.TrueAsync(() =>
        {
            r = ReceiptsAsync(aliceConn, room, sent.Seq).GetAwaiter().GetResult();
            return (long)r["delivered"]! == 2;
        }, what: "bob's and carol's devices confirmed");
        Assert.Equal((4L, 1L, 2L), ((long)r["total"]!, (long)r["read"]!, (long)r["delivered"]!));
        Assert.Equal([carol.UserId, dave.UserId, frank.UserId], AttentionKit.Strings(r["not_read"]));
        Assert.Equal([dave.UserId, frank.UserId], AttentionKit.Strings(r["not_delivered"]));
        Assert.Empty(AttentionKit.Strings(r["hidden"]));
        Assert.Equal(alice.UserId, r["sender"]);

        // A moderator may look too; an ordinary member may not, not even at their own read state.
        Assert.Equal(4L, (await ReceiptsAsync(daveConn, room, sent.Seq))["total"]);
        Assert.Equal(ErrorCode.Forbidden, (await bobConn.CallErrorAsync("receipts.get", new() { ["room"] = room, ["seq"] = sent.Seq })).Code);
        Assert.Equal(ErrorCode.NotFound, (await aliceConn.CallErrorAsync("receipts.get", new() { ["room"] = room, ["seq"] = 999L })).Code);
        using (var http = alice.Http())
        {
            var viaHttp = await http.GetAsync($"/v1/receipts?room={Uri.EscapeDataString(room)}&seq={sent.Seq}");
            Assert.Equal(1, viaHttp!["read"]!.GetValue<int>());
        }

        // Nothing was stored per message or per member: the workplace rows are empty.
        var store = server.Services.GetRequiredService<RocksStore>();
        Assert.Empty(store.ScanPrefix(store.Family(AttentionStore.Family), []));
    }

    [Fact]
    public async Task ReadPrivacy_HidesReadInOrdinaryRooms_CompanyPolicyDecidesInAnnouncements()
    {
        await using var server = await TestServer.StartAsync();
        using var admin = await server.AdminAsync();
        var alice = await server.PersonAsync("rp-alice");
        var bob = await server.PersonAsync("rp-bob");
        var carol = await server.PersonAsync("rp-carol");
        await using var aliceConn = await alice.ConnectAsync();
        var group = await aliceConn.CreateRoomAsync("Group", invite: [bob.UserId, carol.UserId]);
        var news = await aliceConn.CreateRoomAsync("News", invite: [bob.UserId, carol.UserId], kind: "announcement");
        await using var bobConn = await bob.ConnectAsync();
        await using var carolConn = await carol.ConnectAsync();
        foreach (var c in new[] { bobConn, carolConn })
        {
            await c.JoinAsync(group);
            await c.JoinAsync(news);
        }
        Assert.Equal(true, (await carolConn.CallMapAsync("receipts.set_privacy", new() { ["hide_read_receipts"] = true }))["hide_read_receipts"]);
        var inGroup = await aliceConn.SendTextAsync(group, "group message");
        var inNews = await aliceConn.SendTextAsync(news, "announcement");
        foreach (var c in new[] { bobConn, carolConn })
        {
            await c.MarkReadAsync(group, inGroup.Seq);
            await c.MarkReadAsync(news, inNews.Seq);
        }

        var g = await ReceiptsAsync(aliceConn, group, inGroup.Seq);
        Assert.Equal((2L, 1L), ((long)g["total"]!, (long)g["read"]!));
        Assert.Equal([carol.UserId], AttentionKit.Strings(g["hidden"]));
        Assert.Empty(AttentionKit.Strings(g["not_read"])); // a hidden reader is not reported as "not read" either

        var n = await ReceiptsAsync(aliceConn, news, inNews.Seq);
        Assert.Equal(2L, n["read"]); // policy "show": carol's setting does not apply in announcements
        Assert.Empty(AttentionKit.Strings(n["hidden"]));

        await admin.PatchAsync("/v1/admin/workplace/policy", new JsonObject { ["announcement_read_receipts"] = "hide" });
        n = await ReceiptsAsync(aliceConn, news, inNews.Seq);
        Assert.Equal(0L, n["read"]);
        Assert.Equal([bob.UserId, carol.UserId], AttentionKit.Strings(n["hidden"]));
        Assert.Equal(ErrorCode.BadRequest, (await Assert.ThrowsAsync<TeamCommsException>(() =>
            admin.PatchAsync("/v1/admin/workplace/policy", new JsonObject { ["announcement_read_receipts"] = "sometimes" }))).Code);
        var audit = await admin.GetAsync("/v1/admin/audit?action=workplace.policy");
        Assert.Single(audit!["entries"]!.AsArray());
    }
}
