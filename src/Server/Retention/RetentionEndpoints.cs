using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Accounts;
using TeamComms.Server.Audit;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Moderation;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Retention;

/// <summary>
/// Admin and compliance HTTP API for the content policy, retention and legal holds. Every change is audited; reading
/// content kept under a legal hold is audited too.
/// </summary>
internal static class RetentionEndpoints
{
    public sealed record HoldRequest(string? Kind, string? Target, string? Reason);

    public sealed record RetentionRequest(long? Days);

    private static string[] Compliance => [CompanyRoles.Admin, CompanyRoles.ComplianceOfficer];

    public static void Map(IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/v1/admin");

        admin.MapGet("/policies/content", (HttpContext context, AccountService accounts, ContentPolicy policy) =>
        {
            Access.Require(context, accounts, Compliance);
            return Results.Ok(ContentPolicy.View(policy.Current));
        });

        admin.MapPut("/policies/content", async (JsonObject? body, HttpContext context, AccountService accounts, ContentPolicy policy) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.Admin);
            return Results.Ok(ContentPolicy.View(await policy.UpdateAsync(by, body ?? []).ConfigureAwait(false)));
        });

        admin.MapPut("/rooms/{roomId}/retention", async (string roomId, RetentionRequest? body, HttpContext context, AccountService accounts,
            IRoomLog log, AuditLog audit) =>
        {
            var (session, by) = Access.Require(context, accounts, Compliance);
            var outcome = await ModerationCalls.SetRetentionAsync(log, audit, session, by, roomId,
                body?.Days ?? throw new ApiException(ErrorCode.BadRequest, "days is required (0: the company default)")).ConfigureAwait(false);
            if (!outcome.Ok)
            {
                throw new ApiException(outcome.Error!.Value, outcome.Message!);
            }
            return Results.Ok(new { room_id = roomId, days = body.Days, seq = outcome.Events[^1].Seq });
        });

        admin.MapPost("/retention/run", async (HttpContext context, AccountService accounts, RetentionService retention) =>
        {
            Access.Require(context, accounts, Compliance);
            retention.Trigger();
            await retention.WhenIdleAsync().ConfigureAwait(false);
            // In cluster mode only the node holding the retention lease runs; lease_held says whether that was this one.
            return Results.Ok(new { runs = retention.Runs, lease_held = retention.Active });
        });

        admin.MapGet("/legal-holds", (HttpContext context, AccountService accounts, LegalHolds holds) =>
        {
            Access.Require(context, accounts, Compliance);
            return Results.Ok(new { holds = holds.List().Select(LegalHolds.View) });
        });

        admin.MapPost("/legal-holds", async (HoldRequest? body, HttpContext context, AccountService accounts, LegalHolds holds) =>
        {
            var (_, by) = Access.Require(context, accounts, Compliance);
            var hold = await holds.CreateAsync(by, body?.Kind ?? "", body?.Target ?? "", body?.Reason ?? "").ConfigureAwait(false);
            return Results.Created($"/v1/admin/legal-holds/{hold.Id}", LegalHolds.View(hold));
        });

        admin.MapDelete("/legal-holds/{id:long}", async (long id, HttpContext context, AccountService accounts, LegalHolds holds) =>
        {
            var (_, by) = Access.Require(context, accounts, Compliance);
            return Results.Ok(LegalHolds.View(await holds.ReleaseAsync(by, id).ConfigureAwait(false)));
        });

        // Content removed from a room while a legal hold covered it: compliance officers read the kept originals.
        app.MapGet("/v1/compliance/rooms/{roomId}/held", async (string roomId, HttpContext context, AccountService accounts, RoomRegistry rooms,
            WorkplaceStore store, AuditLog audit) =>
        {
            var (_, by) = Access.Require(context, accounts, CompanyRoles.ComplianceOfficer);
            var room = rooms.Find(roomId) ?? throw new ApiException(ErrorCode.UnknownRoom, "no such room");
            var held = store.Held(room.Key).Select(h => ComplianceEndpoints.EventJson(EventCodec.Read(new StoredEvent(h.Seq, store.OpenHeld(room.Key, h.Seq, h.Value)).Wire))).ToList();
            await audit.RecordAsync(by.Event("compliance.read_held", room.RoomId, new Dictionary<string, string>
            {
                ["count"] = held.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            })).ConfigureAwait(false);
            return Results.Ok(new { room_id = room.RoomId, events = held });
        });
    }
}
