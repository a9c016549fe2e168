using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.Api;
using TeamComms.Server.Approvals;
using TeamComms.Server.Audit;
using TeamComms.Server.Backups;

namespace TeamComms.Server.Keys;

/// <summary>
/// Key and backup administration under <c>/v1/admin</c> (the paths of the first version), for the
/// <c>security_officer</c> role, not <c>admin</c>: admins run the directory, security officers hold the keys
/// (docs/security.md, "Separated roles"). A change of the company recipients is only requested here; a second
/// security officer approves it under <c>/v1/approvals</c>.
/// </summary>
internal static class KeyEndpoints
{
    public sealed record RotateKekRequest(string? NewPassphrase);

    public sealed record RecipientsRequest(string? EscrowRecipient, string? RecoveryRecipient, string? Note);

    public static void Map(IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/v1/admin");

        admin.MapGet("/keys", (HttpContext context, AccountService accounts, KeyService keys, ApprovalService approvals) =>
        {
            Officer(context, accounts);
            var pending = approvals.PendingCompanyRequest();
            return Results.Ok(keys.Status(pending is null ? null : ApprovalEndpoints.Json(pending)));
        });

        admin.MapPost("/keys/recipients", async (RecipientsRequest? body, HttpContext context, AccountService accounts, ApprovalService approvals) =>
        {
            var session = Officer(context, accounts);
            var request = await approvals.RequestCompanyRecipientsAsync(session, new Principal(session.UserId, Bearer.Address(context)),
                body?.EscrowRecipient, body?.RecoveryRecipient, body?.Note).ConfigureAwait(false);
            return Results.Json(ApprovalEndpoints.Json(request), statusCode: StatusCodes.Status202Accepted);
        });

        admin.MapPost("/keys/kek/rotate", async (RotateKekRequest? body, HttpContext context, AccountService accounts, KeyService keys) =>
        {
            var session = Officer(context, accounts);
            var (from, to) = await keys.RotateKekAsync(body?.NewPassphrase, session.UserId).ConfigureAwait(false);
            return Results.Ok(new { from, to });
        });

        admin.MapPost("/rooms/{roomId}/keys/rotate", async (string roomId, HttpContext context, AccountService accounts, KeyService keys) =>
        {
            var session = Officer(context, accounts);
            var version = await keys.RotateRoomKeyAsync(roomId, session.UserId).ConfigureAwait(false);
            return Results.Ok(new { room_id = roomId, version });
        });

        admin.MapPost("/backups", async (HttpContext context, AccountService accounts, BackupService backups) =>
        {
            var session = Officer(context, accounts);
            var (manifest, path) = await backups.CreateAsync(session.UserId).ConfigureAwait(false);
            return Results.Ok(new { path, manifest_path = path + ".manifest.json", manifest = manifest.Manifest, signature = manifest.Signature });
        });

        admin.MapGet("/backups/{file}", (string file, HttpContext context, AccountService accounts, BackupService backups) =>
        {
            Officer(context, accounts);
            var path = backups.Resolve(file) ?? throw new ApiException(ErrorCode.NotFound, "no such backup file");
            return Results.File(path, "application/octet-stream", file, enableRangeProcessing: true);
        });
    }

    private static AuthenticatedSession Officer(HttpContext context, AccountService accounts)
    {
        var session = Bearer.RequireRole(context, accounts, CompanyRoles.SecurityOfficer);
        RoleSeparation.RefuseCombined(session);
        return session;
    }
}
