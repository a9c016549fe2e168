using Microsoft.Extensions.DependencyInjection;
using TeamComms.Client;
using TeamComms.Protocol.Events;
using TeamComms.Server.Rooms;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Federation;

/// <summary>Two federating servers shared by a test class; each test makes its own users and rooms.</summary>
public sealed class TwoServers : IAsyncLifetime
{
    public FederatedServers Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await FederatedServers.StartAsync(2);

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    /// <summary>A room on A with a user of A and a user of B, both joined, and one message that B has stored.</summary>
    public async Task<SharedRoom> SharedRoomAsync()
    {
        var alice = await Cluster.A.CreateUserAsync();
        var bob = await Cluster.B.CreateUserAsync();
        var a = await alice.ConnectAsync();
        var b = await bob.ConnectAsync();
        var bEvents = new EventCollector(b);
        var room = await a.CreateRoomAsync("shared", invite: [bob.UserId]);
        await bEvents.WaitAsync(es => es.Any(e => e.RoomId == room && e.Type == EventTypes.Member));
        await b.JoinAsync(room);
        await a.SendTextAsync(room, "m1");
        await bEvents.WaitForMessagesAsync(room, 1);
        return new SharedRoom(this, room, alice, bob, a, b, bEvents);
    }

    internal static RoomHead HeadOf(FederatedServer server, string room) =>
        server.Services.GetRequiredService<RoomRegistry>().Find(room)!.View.Head;
}

public sealed record SharedRoom(TwoServers Servers, string RoomId, TestUser Alice, TestUser Bob, TeamCommsConnection A, TeamCommsConnection B, EventCollector BEvents) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        await BEvents.DisposeAsync();
        await A.DisposeAsync();
        await B.DisposeAsync();
    }
}
