using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.Api;
using TeamComms.Server.Backups;

namespace TeamComms.Server.Keys;

/// <summary>
/// Key and backup administration under <c>/v1/admin</c>, for the <c>admin</c> role. Separating these into the
/// security-officer role with two-person approval comes with the directory's roles (issue 4).
/// </summary>
internal static class KeyEndpoints
{
    public sealed record RotateKekRequest(string? NewPassphrase);

    public static void Map(IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/v1/admin");

        admin.MapGet("/keys", (HttpContext context, AccountService accounts, KeyService keys) =>
        {
            Bearer.RequireRole(context, accounts, CompanyRoles.Admin);
            return Results.Ok(keys.Status());
        });

        admin.MapPost("/keys/kek/rotate", async (RotateKekRequest? body, HttpContext context, AccountService accounts, KeyService keys) =>
        {
            var session = Bearer.RequireRole(context, accounts, CompanyRoles.Admin);
            var (from, to) = await keys.RotateKekAsync(body?.NewPassphrase, session.UserId).ConfigureAwait(false);
            return Results.Ok(new { from, to });
        });

        admin.MapPost("/rooms/{roomId}/keys/rotate", async (string roomId, HttpContext context, AccountService accounts, KeyService keys) =>
        {
            var session = Bearer.RequireRole(context, accounts, CompanyRoles.Admin);
            var version = await keys.RotateRoomKeyAsync(roomId, session.UserId).ConfigureAwait(false);
            return Results.Ok(new { room_id = roomId, version });
        });

        admin.MapPost("/backups", async (HttpContext context, AccountService accounts, BackupService backups) =>
        {
            var session = Bearer.RequireRole(context, accounts, CompanyRoles.Admin);
            var (manifest, path) = await backups.CreateAsync(session.UserId).ConfigureAwait(false);
            return Results.Ok(new { path, manifest_path = path + ".manifest.json", manifest = manifest.Manifest, signature = manifest.Signature });
        });

        admin.MapGet("/backups/{file}", (string file, HttpContext context, AccountService accounts, BackupService backups) =>
        {
            Bearer.RequireRole(context, accounts, CompanyRoles.Admin);
            var path = backups.Resolve(file) ?? throw new ApiException(ErrorCode.NotFound, "no such backup file");
            return Results.File(path, "application/octet-stream", file, enableRangeProcessing: true);
        });
    }
}
