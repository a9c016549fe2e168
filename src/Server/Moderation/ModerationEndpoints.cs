using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Accounts;
using TeamComms.Server.CompanyDirectory;

namespace TeamComms.Server.Moderation;

/// <summary>The moderation queue and redaction over HTTP, for company admins and moderators (and the CLI).</summary>
internal static class ModerationEndpoints
{
    public sealed record ResolveRequest(string? Action, string? Note);

    public sealed record RedactRequest(string? EventId, string? Reason);

    private static string[] Moderators => [CompanyRoles.Admin, CompanyRoles.Moderator];

    public static void Map(IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/v1/admin/moderation");

        admin.MapGet("/reports", (HttpContext context, AccountService accounts, ModerationService moderation, string? status, string? room, int? limit, long? before) =>
        {
            var (session, _) = Access.Require(context, accounts, Moderators);
            var (reports, next) = moderation.Queue(session, status ?? ModerationService.Open, room, Math.Clamp(limit ?? 50, 1, 200), before);
            return Results.Ok(new { reports = reports.Select(r => moderation.View(r, wire: false)), next });
        });

        admin.MapPost("/reports/{id:long}/resolve", async (long id, ResolveRequest? body, HttpContext context, AccountService accounts, ModerationService moderation) =>
        {
            var (session, by) = Access.Require(context, accounts, Moderators);
            var resolved = await moderation.ResolveAsync(session, by, id, body?.Action ?? "", body?.Note).ConfigureAwait(false);
            return Results.Ok(moderation.View(resolved, wire: false));
        });

        admin.MapPost("/rooms/{roomId}/redact", async (string roomId, RedactRequest? body, HttpContext context, AccountService accounts, ModerationService moderation) =>
        {
            var (session, by) = Access.Require(context, accounts, Moderators);
            var target = EventId.Parse(body?.EventId ?? throw new ApiException(ErrorCode.BadRequest, "event_id is required"));
            var outcome = await moderation.RedactAsync(session, by, roomId, target, body.Reason).ConfigureAwait(false);
            if (!outcome.Ok)
            {
                throw new ApiException(outcome.Error!.Value, outcome.Message!);
            }
            return Results.Ok(new { room_id = roomId, seq = outcome.Events.Count > 0 ? outcome.Events[^1].Seq : (long?)null });
        });
    }
}
