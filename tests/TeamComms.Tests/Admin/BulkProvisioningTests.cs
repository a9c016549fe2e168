using System.Text.Json.Nodes;
using TeamComms.Client;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Admin;

public class BulkProvisioningTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private TestServer Server => shared.Server;

    [Fact]
    public async Task RoomsBulk_UsersWithSessions_MembersAreJoinedAndTokensWork()
    {
        using var admin = await Server.AdminAsync();
        var prefix = "b" + Guid.NewGuid().ToString("N")[..8];
        var users = await admin.SendAsync(HttpMethod.Post, "/v1/admin/users/bulk", new JsonObject
        {
            ["users"] = new JsonArray(Enumerable.Range(0, 3).Select(i => (JsonNode)new JsonObject { ["username"] = $"{prefix}{i}" }).ToArray()),
            ["password"] = "bulk-password-1",
            ["sessions"] = true,
        });
        var ids = ((JsonArray)users!["user_ids"]!).Select(x => (string)x!).ToList();
        var tokens = ((JsonArray)users["access_tokens"]!).Select(x => (string)x!).ToList();
        Assert.Equal(3, ids.Count);
        Assert.Equal(3, tokens.Count);

        var rooms = await admin.SendAsync(HttpMethod.Post, "/v1/admin/rooms/bulk", new JsonObject
        {
            ["rooms"] = new JsonArray(new JsonObject { ["name"] = "bulk", ["members"] = new JsonArray(ids.Select(i => (JsonNode)i).ToArray()) }),
        });
        var roomId = (string)rooms!["rooms"]![0]!["room_id"]!;

        // A provisioned token opens a connection, and its user is already a member: it can send at once.
        await using var connection = await TeamCommsConnection.ConnectAsync(Server.WebSocketUrl, tokens[1], new ClientOptions());
        var ack = await connection.SendTextAsync(roomId, "hello");
        Assert.True(ack.Seq > 1);
        var listed = await connection.ListRoomsAsync();
        Assert.Contains(listed, r => r.RoomId == roomId);
    }

    [Fact]
    public async Task RoomsBulk_UnknownMember_RoomRefusedWithItsCode()
    {
        using var admin = await Server.AdminAsync();
        var rooms = await admin.SendAsync(HttpMethod.Post, "/v1/admin/rooms/bulk", new JsonObject
        {
            ["rooms"] = new JsonArray(new JsonObject { ["name"] = "x", ["members"] = new JsonArray("nobody-here@test.local") }),
        });
        Assert.Equal("unknown_user", (string)rooms!["rooms"]![0]!["error"]!["code"]!);
    }

    [Fact]
    public async Task RoomsBulk_NotAdmin_Forbidden()
    {
        var user = await Server.CreateUserAsync();
        using var http = user.Http();
        var ex = await Assert.ThrowsAsync<TeamCommsException>(() => http.SendAsync(HttpMethod.Post, "/v1/admin/rooms/bulk", new JsonObject
        {
            ["rooms"] = new JsonArray(new JsonObject { ["name"] = "x", ["members"] = new JsonArray() }),
        }));
        Assert.Equal("forbidden", ex.CodeName);
    }
}
