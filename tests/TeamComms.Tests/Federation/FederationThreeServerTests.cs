using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Federation;
using TeamComms.Server.Federation;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Federation;

[Collection("federation")]
public class FederationThreeServerTests
{
    [Fact]
    public async Task RoomSpanningThreeServers_EveryServerHasTheSameOrderedChain()
    {
        await using var cluster = await FederatedServers.StartAsync(3);
        var users = new[] { await cluster.A.CreateUserAsync("alice"), await cluster.B.CreateUserAsync("bob"), await cluster.C.CreateUserAsync("carol") };
        var connections = await Task.WhenAll(users.Select(u => u.ConnectAsync()));
        var collectors = connections.Select(c => new EventCollector(c)).ToArray();
        try
        {
            var room = await connections[0].CreateRoomAsync("three", invite: [users[1].UserId, users[2].UserId]);
            for (var i = 1; i < 3; i++)
            {
                await collectors[i].WaitAsync(es => es.Any(e => e.RoomId == room));
                await connections[i].JoinAsync(room);
            }
            // Everyone sends concurrently; the hub decides one order for all.
            await Task.WhenAll(connections.Select((c, n) => Task.Run(async () =>
            {
                for (var i = 0; i < 20; i++)
                {
                    await c.SendTextAsync(room, $"{users[n].Username} {i}");
                }
            })));
            var orders = new List<List<EventId>>();
            foreach (var collector in collectors)
            {
                var events = await collector.WaitForMessagesAsync(room, 60);
                var messages = events.Where(e => e.RoomId == room && e.Type == EventTypes.Message).ToList();
                Assert.Equal(60, messages.Count);
                foreach (var u in users)
                {
                    Assert.Equal(Enumerable.Range(0, 20).Select(i => $"{u.Username} {i}"),
                        messages.Select(m => (string)m.ContentMap["body"]!).Where(b => b.StartsWith(u.Username + " ", StringComparison.Ordinal)));
                }
                orders.Add(messages.Select(m => m.Id).ToList());
            }
            Assert.Equal(orders[0], orders[1]);
            Assert.Equal(orders[0], orders[2]);
            // Bob's messages reached carol through the hub, still signed by bob's server.
            var atCarol = await connections[2].HistoryAsync(room, forward: true, limit: 500);
            Assert.All(atCarol.Events.Where(e => e.Sender.EndsWith("@b.test", StringComparison.Ordinal)), e => Assert.NotNull(e.Origin));
            Assert.Equal(-1, EventCodec.VerifyChain(atCarol.Events, null, 0));
        }
        finally
        {
            foreach (var c in collectors)
            {
                await c.DisposeAsync();
            }
            foreach (var c in connections)
            {
                await c.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task KeyRotation_OldEventsStillVerify_ForAServerThatJoinsLater_ThroughTheHubsKeyRelay()
    {
        // a.test partners with both; b.test and c.test do not know each other.
        await using var cluster = await FederatedServers.StartAsync(3, partner: false);
        await cluster.A.AddPartnerAsync(cluster.B);
        await cluster.A.AddPartnerAsync(cluster.C);
        await cluster.B.AddPartnerAsync(cluster.A);
        await cluster.C.AddPartnerAsync(cluster.A);
        var alice = await cluster.A.CreateUserAsync("alice");
        var bob = await cluster.B.CreateUserAsync("bob");
        var carol = await cluster.C.CreateUserAsync("carol");
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await using var c = await carol.ConnectAsync();
        await using var bEvents = new EventCollector(b);
        await using var cEvents = new EventCollector(c);
        var room = await a.CreateRoomAsync("rotation", invite: [bob.UserId]);
        await bEvents.WaitAsync(es => es.Any(e => e.RoomId == room));
        await b.JoinAsync(room);
        await b.SendTextAsync(room, "signed with the first key");

        using var bAdmin = await cluster.B.Server.AdminAsync();
        var firstKey = cluster.B.Services.GetRequiredService<ServerKeyRing>().KeyId;
        var secondKey = await bAdmin.RotateFederationKeyAsync();
        Assert.NotEqual(firstKey, secondKey);
        await b.SendTextAsync(room, "signed with the second key"); // a.test fetches b.test's new key when it sees it

        // b.test's key document: self-signed by the new key, the old one listed with the end of its validity.
        using var http = new HttpClient();
        var (doc, input) = KeyDocument.Read(await http.GetByteArrayAsync(new Uri(new Uri(cluster.B.BaseUrl), "/v1/federation/keys")));
        Assert.Equal("b.test", doc.Server);
        Assert.Equal(secondKey, doc.SignedBy);
        Assert.True(TeamComms.Crypto.SigningKey.Verify(doc.Current!.PublicKey, input, doc.Signature!));
        Assert.NotNull(doc.Keys.Single(k => k.KeyId == firstKey).ValidUntil);
        Assert.Null(doc.Keys.Single(k => k.KeyId == secondKey).ValidUntil);

        // Carol joins later. Her server gets the whole chain, including bob's events signed with both keys, and
        // verifies them with b.test's keys relayed by the hub (c.test does not federate with b.test directly).
        await a.InviteAsync(room, carol.UserId);
        await cEvents.WaitAsync(es => es.Any(e => e.RoomId == room && e.Type == EventTypes.Member));
        await c.JoinAsync(room);
        await a.SendTextAsync(room, "welcome carol");
        await cEvents.WaitForMessagesAsync(room, 1);
        var history = await WaitForHistoryContentAsync(c, room, 3);
        var bobs = history.Where(e => e.Sender == bob.UserId && e.Type == EventTypes.Message).ToList();
        Assert.Equal(["signed with the first key", "signed with the second key"], bobs.Select(e => (string)e.ContentMap["body"]!));
        Assert.Equal([firstKey, secondKey], bobs.Select(e => e.Origin!.KeyId));
        var relayed = cluster.C.Services.GetRequiredService<TeamComms.Server.Storage.FederationStore>().RemoteKeys("b.test");
        Assert.Contains(relayed, k => k.KeyId == firstKey && k.Via == "a.test");
        // No request ever went from c.test to b.test: its refusals would have been audited.
        Assert.DoesNotContain(await cluster.C.AuditAsync(), e => e["server"]!.GetValue<string>() == "b.test");
    }

    internal static async Task<IReadOnlyList<RoomEvent>> WaitForHistoryContentAsync(TeamComms.Client.TeamCommsConnection c, string room, int messages)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var page = await c.HistoryAsync(room, forward: true, limit: 500);
            var withContent = page.Events.Count(e => e.Type == EventTypes.Message && e.Content is not null);
            if (withContent >= messages || DateTime.UtcNow > deadline)
            {
                return page.Events;
            }
            await Task.Delay(50); // the backfill runs in the background; poll its visible effect
        }
    }
}
