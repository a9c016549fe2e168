using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.Api;
using TeamComms.Server.Audit;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Admin;

/// <summary>
/// Bulk provisioning for imports and load tests: rooms created with their members already joined
/// (<c>POST /v1/admin/rooms/bulk</c>), and, with <c>POST /v1/admin/users/bulk</c> and <c>sessions: true</c>, one
/// access token per created user. 10,000 users and their rooms then cost one password hash and a few group
/// commits instead of 10,000 Argon2 runs and 20,000 invite/join round trips. Admins only.
/// </summary>
internal static class ProvisioningEndpoints
{
    /// <summary>Most member joins in one request (one room of 10,000 and some headroom; 5,000 rooms of 2).</summary>
    public const int MaxMembershipsPerRequest = 50_000;

    /// <summary>Most rooms in one request.</summary>
    public const int MaxRoomsPerRequest = 10_000;

    public sealed record BulkRoom(string? Name, List<string>? Members);

    public sealed record BulkRoomsRequest(List<BulkRoom>? Rooms);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/admin/rooms/bulk", async (BulkRoomsRequest? body, HttpContext context, AccountService accounts, IRoomLog log, AuditLog audit) =>
        {
            var (admin, by) = Access.Require(context, accounts, Access.Admin);
            if (body?.Rooms is not { Count: > 0 and <= MaxRoomsPerRequest } rooms)
            {
                throw new ApiException(ErrorCode.BadRequest, $"rooms (1 to {MaxRoomsPerRequest}) are required");
            }
            if (rooms.Sum(r => r.Members?.Count ?? 0) > MaxMembershipsPerRequest)
            {
                throw new ApiException(ErrorCode.BadRequest, $"at most {MaxMembershipsPerRequest} members in one request");
            }
            // All proposals are queued before any is awaited, so the sequencer group-commits them together.
            var appends = rooms.Select(r => log.AppendAsync(new ProvisionRoomProposal(admin.Actor, r.Name ?? "",
                (r.Members ?? []).Select(m => m.Contains('@') ? m : accounts.UserIdFor(m)).ToList()))).ToList();
            var outcomes = await Task.WhenAll(appends).ConfigureAwait(false);
            var created = outcomes.Count(o => o.Ok);
            await audit.RecordAsync(by.Event("rooms.provision_bulk", $"{created} rooms",
                new Dictionary<string, string>
                {
                    ["rooms"] = created.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["members"] = rooms.Sum(r => r.Members?.Count ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture),
                })).ConfigureAwait(false);
            return Results.Ok(new
            {
                rooms = outcomes.Select(o => o.Ok
                    ? (object)new { room_id = o.RoomId }
                    : new { error = new { code = ErrorCodes.Name(o.Error!.Value), message = o.Message } }),
            });
        });
    }

    /// <summary>One session per created user; tokens in the order of <paramref name="users"/>.</summary>
    public static List<string> IssueSessions(AccountService accounts, IEnumerable<(long Key, string UserId)> users, string? deviceName, string address) =>
        users.Select(u => accounts.IssueProvisionedSession(u.Key, u.UserId, string.IsNullOrWhiteSpace(deviceName) ? "provisioned" : deviceName, address)).ToList();
}
