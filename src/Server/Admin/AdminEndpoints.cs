using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using TeamComms.Protocol;
using TeamComms.Server.AdminConsole;
using TeamComms.Server.Accounts;
using TeamComms.Server.Api;
using TeamComms.Server.Audit;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Provisioning;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Admin;

/// <summary>The admin HTTP API: JSON under <c>/v1/admin</c>, for users with the <c>admin</c> role.</summary>
internal static class AdminEndpoints
{
    public sealed record BulkUser(string? Username, string? DisplayName);

    /// <summary><c>sessions: true</c> also issues one access token per created user (see <see cref="ProvisioningEndpoints"/>).</summary>
    public sealed record BulkUsersRequest(List<BulkUser>? Users, string? Password, bool? Sessions = null, string? DeviceName = null);

    public static void Map(IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/v1/admin");

        // Users are created through the directory, so rules, groups and the audit log see them (docs/operations.md).
        admin.MapPost("/users", async (JsonObject? body, HttpContext context, AccountService accounts, ProvisioningService provisioning,
            IOptions<AccountOptions> options) =>
        {
            var (session, by) = Access.Require(context, accounts, Access.People);
            var fields = ProfileEdit.FromJson(body ?? []);
            if (fields.GetValueOrDefault("username") is not string username || fields.GetValueOrDefault("display_name") is not string)
            {
                throw new ApiException(ErrorCode.BadRequest, "username and display_name are required");
            }
            var password = fields.GetValueOrDefault("password") as string;
            var roles = body?["roles"] is JsonArray r ? r.Select(n => n?.GetValue<string>() ?? "").ToList() : null;
            var groups = body?["groups"] is JsonArray g ? g.Select(n => n?.GetValue<string>() ?? "").ToList() : null;
            if (roles is { Count: > 0 } && !session.IsAdmin)
            {
                throw new ApiException(ErrorCode.Forbidden, "only admins assign company roles");
            }
            fields.Remove("username");
            fields.Remove("password");
            fields.Remove("roles");
            fields.Remove("groups");
            var profile = ProfileEdit.Apply(new ProfileRecord { UserKey = 0, DisplayName = "-" }, fields);
            var (user, setup) = await provisioning.CreateAsync(by, new NewUser(username, profile, roles, Groups: groups), password).ConfigureAwait(false);
            return Results.Created($"/v1/admin/users/{user.UserId}", new
            {
                user = ProfileEdit.View(user, provisioning.Directory.Snapshot, full: true),
                setup_token = setup,
                setup_link = setup is null ? null : SetupLink(context, options.Value, setup),
            });
        });

        admin.MapPost("/users/bulk", async (BulkUsersRequest? body, HttpContext context, AccountService accounts, ProvisioningService provisioning, AuditLog audit) =>
        {
            var (session, by) = Access.Require(context, accounts, Access.People);
            if (body?.Sessions == true && !session.Roles.Contains(CompanyRoles.Admin))
            {
                throw new ApiException(ErrorCode.Forbidden, "issuing sessions for new users needs the admin role");
            }
            if (body?.Users is not { Count: > 0 and <= 20_000 } users || body.Password is not { } password)
            {
                throw new ApiException(ErrorCode.BadRequest, "users (1 to 20000) and password are required");
            }
            var created = await provisioning.CreateManyAsync(by, users.Select(u => new NewUser(u.Username ?? "",
                new ProfileRecord { UserKey = 0, DisplayName = u.DisplayName ?? u.Username ?? "" })).ToList(), password).ConfigureAwait(false);
            if (body.Sessions == true)
            {
                var tokens = ProvisioningEndpoints.IssueSessions(accounts, created.Select(u => (u.Key, u.UserId)), body.DeviceName, Bearer.Address(context));
                await audit.RecordAsync(by.Event("sessions.issue_bulk", $"{tokens.Count} new users",
                    new Dictionary<string, string> { ["count"] = tokens.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) })).ConfigureAwait(false);
                return Results.Ok(new
                {
                    created = created.Count,
                    user_ids = created.Select(u => u.UserId),
                    access_tokens = tokens,
                });
            }
            return Results.Ok(new { created = created.Count, user_ids = created.Select(u => u.UserId) });
        });

        // The console's user list: search, status and last-login filters, paging (Console/UserListing.cs).
        admin.MapGet("/users", (HttpContext context, AccountService accounts, DirectoryService directory, string? q, string? status,
            bool? never_logged_in, string? last_login_before, long? after, int? limit) =>
        {
            Access.Require(context, accounts, ConsoleAccess.UserReaders);
            var page = UserListing.Page(accounts, directory.Snapshot, UserListing.Parse(q, status, never_logged_in, last_login_before, after, limit));
            return Results.Ok(new { users = page.Users.Select(u => UserListing.Json(u.User, u.Entry)), next = page.Next, scanned = page.Scanned });
        });

        admin.MapGet("/users/{userId}", (string userId, HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            Access.Require(context, accounts, ConsoleAccess.UserReaders);
            var user = accounts.FindUser(userId) ?? throw new ApiException(ErrorCode.NotFound, "no such user");
            var entry = directory.Snapshot.Users.GetValueOrDefault(user.Key);
            // The row's fields at the top level (as before the console), plus the full directory profile for editing.
            var json = UserListing.Json(user, entry);
            json["profile"] = entry is null ? null : ProfileEdit.View(entry, directory.Snapshot, full: true);
            return Results.Ok(json);
        });

        admin.MapPost("/users/{userId}/setup-link", async (string userId, HttpContext context, AccountService accounts, AuditLog audit,
            IOptions<AccountOptions> options) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.People);
            var user = accounts.FindUser(userId) ?? throw new ApiException(ErrorCode.NotFound, "no such user");
            var token = accounts.CreateSetupToken(user.Key);
            await audit.RecordAsync(by.Event("user.setup_link", user.UserId)).ConfigureAwait(false);
            return Results.Ok(new { setup_token = token, setup_link = SetupLink(context, options.Value, token) });
        });

        admin.MapGet("/users/{userId}/sessions", (string userId, HttpContext context, AccountService accounts) =>
        {
            Access.Require(context, accounts, Access.Security);
            var user = accounts.FindUser(userId) ?? throw new ApiException(ErrorCode.NotFound, "no such user");
            return Results.Ok(new { sessions = accounts.ListSessions(user.Key).Select(s => AccountEndpoints.SessionJson(s, -1)) });
        });

        admin.MapDelete("/sessions/{id}", async (string id, HttpContext context, AccountService accounts, AuditLog audit) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.Security);
            if (!SessionIds.TryParse(id, out var key))
            {
                throw new ApiException(ErrorCode.NotFound, "no such session");
            }
            await accounts.RevokeSessionAsync(key, null).ConfigureAwait(false);
            await audit.RecordAsync(by.Event("session.revoke", id)).ConfigureAwait(false);
            return Results.NoContent();
        });
    }

    /// <summary>The setup link puts the token in the fragment, so it never reaches a server log or a Referer header.</summary>
    private static string SetupLink(HttpContext context, AccountOptions options, string token)
    {
        var baseUrl = options.PublicBaseUrl?.TrimEnd('/') ?? $"{context.Request.Scheme}://{context.Request.Host}";
        return $"{baseUrl}/setup#token={token}";
    }
}
