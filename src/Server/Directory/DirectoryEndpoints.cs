using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.Hosting;
using TeamComms.Server.Provisioning;

namespace TeamComms.Server.CompanyDirectory;

/// <summary>The directory for every employee: search, profiles, and editing one's own profile where policy allows.</summary>
internal static class DirectoryEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/directory/search", (HttpContext context, AccountService accounts, DirectoryService directory,
            string? q, string? field, int? limit, string? cursor) =>
        {
            Access.Require(context, accounts);
            var (users, next) = directory.Search(field ?? "name", q ?? "", Math.Clamp(limit ?? 25, 1, 200), cursor);
            var snapshot = directory.Snapshot;
            return Results.Ok(new { users = users.Select(u => ProfileEdit.View(u, snapshot, full: false)), next });
        });

        app.MapGet("/v1/directory/users/{userId}", (string userId, HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            var (session, _) = Access.Require(context, accounts);
            var privileged = session.Roles.Any(Access.People.Contains);
            var snapshot = directory.Snapshot;
            var entry = snapshot.Find(userId.Contains('@') ? userId : Identifiers.UserId(userId, directory.ServerName));
            if (entry is null || entry.Deleted || (!entry.Active && !privileged))
            {
                throw new ApiException(ErrorCode.UnknownUser, $"no user {userId} in the directory");
            }
            return Results.Ok(ProfileEdit.View(entry, snapshot, full: privileged || entry.Key == session.UserKey));
        });

        app.MapPatch("/v1/directory/me", async (JsonObject? body, HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            var (session, by) = Access.Require(context, accounts);
            var fields = ProfileEdit.FromJson(body ?? []);
            var (entry, _) = await directory.ChangeAsync(by, tx =>
            {
                var me = tx.RequireUser(session.UserId);
                return tx.UpdateProfile(me.Key, ProfileEdit.Apply(me.Profile, fields, tx.CurrentPolicy.SelfEditable), "user.update_self");
            }).ConfigureAwait(false);
            return Results.Ok(ProfileEdit.View(entry, directory.Snapshot, full: true));
        });

        // The server's public signing key, so anyone can check signed audit heads (and, later, federation requests).
        app.MapGet("/v1/server/key", (ServerKey key, ServerIdentity identity) => Results.Ok(new
        {
            server = identity.ServerName,
            algorithm = "ed25519",
            key_id = key.KeyId,
            public_key = Convert.ToBase64String(key.PublicKey),
        }));
    }
}
