using Microsoft.AspNetCore.Http;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;

namespace TeamComms.Server.Api;

/// <summary>Resolves <c>Authorization: Bearer …</c> to a session. Tokens are accepted only in that header.</summary>
internal static class Bearer
{
    public static AuthenticatedSession Require(HttpContext context, AccountService accounts)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            throw new ApiException(ErrorCode.Unauthenticated, "send 'Authorization: Bearer <access token>'");
        }
        var (session, error) = accounts.Authenticate(header["Bearer ".Length..].Trim());
        return session ?? throw new ApiException(error!.Value, error switch
        {
            ErrorCode.TokenExpired => "the access token has expired",
            ErrorCode.SessionRevoked => "the session was revoked",
            _ => "the access token is not valid",
        });
    }

    public static AuthenticatedSession RequireRole(HttpContext context, AccountService accounts, string role)
    {
        var session = Require(context, accounts);
        return session.Roles.Contains(role) ? session : throw new ApiException(ErrorCode.Forbidden, $"this needs the '{role}' role");
    }

    public static string Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
}
