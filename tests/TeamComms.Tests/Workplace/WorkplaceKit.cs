using System.Text.Json.Nodes;
using TeamComms.Client;
using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Workplace;

/// <summary>Helpers the workplace tests share: rooms with members, waiting for events, and company roles.</summary>
internal static class WorkplaceKit
{
    public static DateTimeOffset Start { get; } = DateTimeOffset.Parse("2026-11-30T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A room created by <paramref name="owner"/> that every other connection has joined.</summary>
    public static async Task<string> RoomWithAsync(TeamCommsConnection owner, IEnumerable<(TeamCommsConnection Conn, TestUser User)> members,
        string name = "room", string? kind = null)
    {
        var list = members.ToList();
        var room = await owner.CreateRoomAsync(name, invite: list.Select(m => m.User.UserId), kind: kind);
        foreach (var (conn, _) in list)
        {
            await conn.JoinAsync(room);
        }
        return room;
    }

    /// <summary>Gives a user company roles; connect (again) afterwards so the connection's session carries them.</summary>
    public static async Task SetRolesAsync(TestServer server, TestUser user, params string[] roles)
    {
        using var admin = await server.AdminAsync();
        await admin.SetRolesAsync(user.UserId, roles);
    }

    public static Task<IReadOnlyList<RoomEvent>> WaitForTypeAsync(this EventCollector events, string roomId, string type, int count = 1) =>
        events.WaitAsync(es => es.Count(e => e.RoomId == roomId && e.Type == type) >= count);

    public static async Task<RoomEvent> EventAsync(TeamCommsConnection c, string roomId, long seq)
    {
        var page = await c.HistoryAsync(roomId, seq, forward: true, limit: 1);
        return Assert.Single(page.Events);
    }

    public static JsonObject Json(params (string Key, JsonNode? Value)[] fields)
    {
        var o = new JsonObject();
        foreach (var (k, v) in fields)
        {
            o[k] = v;
        }
        return o;
    }
}

/// <summary>Reading the audit log in tests.</summary>
internal static class AuditReader
{
    public static async Task<List<JsonObject>> EntriesAsync(TestServer server, string action, string? target = null)
    {
        using var admin = await server.AdminAsync();
        var query = "/v1/admin/audit?limit=200&action=" + Uri.EscapeDataString(action) + (target is null ? "" : "&target=" + Uri.EscapeDataString(target));
        var page = await admin.GetAsync(query);
        return [.. page!["entries"]!.AsArray().Select(e => e!.AsObject())];
    }
}
