using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Api;

/// <summary>Login, logout, sessions and setup links for every user: JSON under <c>/v1</c>.</summary>
internal static class AccountEndpoints
{
    public sealed record LoginRequest(string? Username, string? Password, string? DeviceName);

    public sealed record SetupRequest(string? Token, string? Password);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/login", async (LoginRequest? body, HttpContext context, AccountService accounts) =>
        {
            if (body?.Username is not { Length: > 0 } username || body.Password is not { } password)
            {
                throw new ApiException(ErrorCode.BadRequest, "username and password are required");
            }
            var result = await accounts.LoginAsync(username, password, body.DeviceName, Bearer.Address(context)).ConfigureAwait(false);
            return Results.Ok(new
            {
                access_token = result.AccessToken,
                session_id = SessionIds.Format(result.Session.Key),
                user_id = result.Session.UserId,
                expires_at = result.Session.ExpiresAt,
            });
        });

        app.MapPost("/v1/logout", async (HttpContext context, AccountService accounts) =>
        {
            var session = Bearer.Require(context, accounts);
            await accounts.RevokeSessionAsync(session.SessionKey, session.UserKey, CloseCode.SessionRevoked, "logged out").ConfigureAwait(false);
            return Results.NoContent();
        });

        app.MapGet("/v1/me", (HttpContext context, AccountService accounts) =>
        {
            var session = Bearer.Require(context, accounts);
            var user = accounts.GetUser(session.UserKey)!;
            return Results.Ok(UserJson(user));
        });

        app.MapGet("/v1/sessions", (HttpContext context, AccountService accounts) =>
        {
            var session = Bearer.Require(context, accounts);
            return Results.Ok(new { sessions = accounts.ListSessions(session.UserKey).Select(s => SessionJson(s, session.SessionKey)) });
        });

        app.MapDelete("/v1/sessions/{id}", async (string id, HttpContext context, AccountService accounts) =>
        {
            var session = Bearer.Require(context, accounts);
            if (!SessionIds.TryParse(id, out var key))
            {
                throw new ApiException(ErrorCode.NotFound, "no such session");
            }
            await accounts.RevokeSessionAsync(key, session.UserKey).ConfigureAwait(false);
            return Results.NoContent();
        });

        app.MapPost("/v1/setup", async (SetupRequest? body, AccountService accounts) =>
        {
            if (body?.Token is not { Length: > 0 } token || body.Password is not { } password)
            {
                throw new ApiException(ErrorCode.BadRequest, "token and password are required");
            }
            var user = await accounts.CompleteSetupAsync(token, password).ConfigureAwait(false);
            return Results.Ok(new { user_id = user.UserId });
        });
    }

    public static object SessionJson(SessionRecord s, long current) => new
    {
        session_id = SessionIds.Format(s.Key),
        device_name = s.DeviceName,
        created_at = s.CreatedAt,
        last_seen_at = s.LastSeenAt,
        last_address = s.LastAddress,
        expires_at = s.ExpiresAt,
        current = s.Key == current,
    };

    public static object UserJson(UserRecord u) => new
    {
        user_id = u.UserId,
        username = u.Username,
        display_name = u.DisplayName,
        email = u.Email,
        roles = u.Roles,
        active = u.Active,
        created_at = u.CreatedAt,
        last_login_at = u.LastLoginAt,
        has_password = u.PasswordHash is not null,
    };
}
