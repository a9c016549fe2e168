using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using TeamComms.Server.Accounts;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Workplace;
using TeamComms.Server.Workplace.Alerts;

namespace TeamComms.Server.AdminConsole;

/// <summary>
/// What the admin console needs beyond the admin API: <c>GET /v1/admin/console</c> (who is signed in and which
/// sections their roles open) and <c>GET /v1/admin/figures</c> (the server's figures). The users list with its
/// filters is <c>GET /v1/admin/users</c> (<see cref="UserListing"/>), the rule preview <c>POST /v1/admin/rules/preview</c>.
/// </summary>
internal static class ConsoleEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        // Uptime counts from here, when the app is built, not from the first request for figures.
        _ = app.ServiceProvider.GetRequiredService<ServerStart>();

        app.MapGet("/v1/admin/console", (HttpContext context, AccountService accounts, DirectoryService directory, AttentionPolicy attention) =>
        {
            var (session, _) = Access.Require(context, accounts);
            var entry = directory.Snapshot.Find(session.UserId);
            var sections = ConsoleAccess.For([.. session.Roles]);
            // The incident inbox follows the workplace policy's incident roles (issue 7b), which admins change at run time.
            if (AttentionPolicy.HasRole(session.Roles, attention.Current.IncidentRoles))
            {
                sections.Insert(sections.IndexOf("figures") is >= 0 and var i ? i : sections.Count, "incidents");
            }
            return Results.Ok(new
            {
                user_id = session.UserId,
                display_name = entry?.Profile.DisplayName,
                roles = session.Roles,
                sections,
            });
        });

        // The acknowledgement dashboard: every alert (GET /v1/alerts lists only the caller's); details and the CSV are
        // GET /v1/alerts/{id}, which lets admins see any alert.
        app.MapGet("/v1/admin/alerts", (HttpContext context, AccountService accounts, AlertService alerts, int? limit) =>
        {
            Access.Require(context, accounts, Access.Admin);
            return Results.Ok(new { alerts = alerts.ListAll(Math.Clamp(limit ?? 200, 1, 1000)) });
        });

        app.MapGet("/v1/admin/figures", (HttpContext context, AccountService accounts, ServerFigures figures) =>
        {
            Access.Require(context, accounts, ConsoleAccess.Operators);
            return Results.Ok(figures.Read());
        });
    }
}
