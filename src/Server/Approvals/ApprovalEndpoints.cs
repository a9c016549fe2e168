using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TeamComms.Crypto.Age;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.Api;
using TeamComms.Server.Audit;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Approvals;

/// <summary>
/// <c>/v1/approvals</c>: the two-person approval of changes to who receives backups and exports. Security officers
/// list every request and approve or reject others' requests; compliance officers see their own; a requester
/// cancels their own. See docs/security.md ("Separated roles") and docs/operations.md ("Approvals").
/// </summary>
internal static class ApprovalEndpoints
{
    public sealed record DecisionRequest(string? Reason);

    public static void Map(IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/approvals");

        group.MapGet("", async (HttpContext context, AccountService accounts, ApprovalService approvals, string? status, int? limit) =>
        {
            var session = Officer(context, accounts);
            if (status is not null and not ("pending" or "approved" or "rejected" or "cancelled" or "expired" or "superseded"))
            {
                throw new ApiException(ErrorCode.BadRequest, "status is pending, approved, rejected, cancelled, expired or superseded");
            }
            var list = await approvals.ListAsync(session, status, Math.Clamp(limit ?? 100, 1, 1000)).ConfigureAwait(false);
            return Results.Ok(new { requests = list.Select(Json) });
        });

        group.MapGet("/{id}", async (string id, HttpContext context, AccountService accounts, ApprovalService approvals) =>
        {
            var session = Officer(context, accounts);
            return Results.Ok(Json(await approvals.GetAsync(session, ParseId(id)).ConfigureAwait(false)));
        });

        group.MapPost("/{id}/approve", async (string id, HttpContext context, AccountService accounts, ApprovalService approvals) =>
        {
            var session = Officer(context, accounts);
            var (request, rewrapped) = await approvals.ApproveAsync(session, By(context, session), ParseId(id)).ConfigureAwait(false);
            var json = Json(request);
            json["data_keys_rewrapped"] = rewrapped;
            return Results.Ok(json);
        });

        group.MapPost("/{id}/reject", async (string id, DecisionRequest? body, HttpContext context, AccountService accounts, ApprovalService approvals) =>
        {
            var session = Officer(context, accounts);
            return Results.Ok(Json(await approvals.RejectAsync(session, By(context, session), ParseId(id), body?.Reason).ConfigureAwait(false)));
        });

        group.MapPost("/{id}/cancel", async (string id, HttpContext context, AccountService accounts, ApprovalService approvals) =>
        {
            var session = Officer(context, accounts);
            return Results.Ok(Json(await approvals.CancelAsync(session, By(context, session), ParseId(id)).ConfigureAwait(false)));
        });
    }

    /// <summary>A request as the API shows it: what changes, to what, who asked, when it expires, who decided.</summary>
    public static Dictionary<string, object?> Json(ApprovalRecord r)
    {
        var json = new Dictionary<string, object?>
        {
            ["id"] = r.Id,
            ["kind"] = r.Kind,
            ["status"] = r.Status,
            ["requested_by"] = r.RequestedBy,
            ["requested_from"] = r.RequestedFrom,
            ["requested_at"] = DateTimeOffset.FromUnixTimeMilliseconds(r.RequestedAt),
            ["expires_at"] = DateTimeOffset.FromUnixTimeMilliseconds(r.ExpiresAt),
            ["current"] = r.Current,
            ["note"] = r.Note,
            ["decided_by"] = r.DecidedBy,
            ["decided_at"] = r.DecidedAt is { } t ? DateTimeOffset.FromUnixTimeMilliseconds(t) : null,
            ["reason"] = r.Reason,
        };
        if (r.Kind == ApprovalService.CompanyRecipients)
        {
            json["escrow_recipient"] = r.Escrow;
            json["escrow_key_id"] = KeyId(r.Escrow);
            json["recovery_recipient"] = r.Recovery;
            json["recovery_key_id"] = KeyId(r.Recovery);
        }
        else
        {
            json["subject"] = r.Subject;
            json["recipient"] = r.Recipient;
            json["recipient_key_id"] = KeyId(r.Recipient);
        }
        return json;
    }

    private static string? KeyId(string? recipient) => recipient is not null && AgeRecipient.TryParse(recipient, out var r) ? r.KeyId : null;

    /// <summary>Approvals concern security and compliance officers only; everyone else is refused.</summary>
    private static AuthenticatedSession Officer(HttpContext context, AccountService accounts)
    {
        var session = Bearer.Require(context, accounts);
        if (!session.Roles.Contains(CompanyRoles.SecurityOfficer) && !session.Roles.Contains(CompanyRoles.ComplianceOfficer))
        {
            throw new ApiException(ErrorCode.Forbidden, "approvals are for security officers and compliance officers");
        }
        return session;
    }

    private static Principal By(HttpContext context, AuthenticatedSession session) => new(session.UserId, Bearer.Address(context));

    private static long ParseId(string id) =>
        long.TryParse(id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) && v > 0
            ? v
            : throw new ApiException(ErrorCode.BadRequest, $"'{id}' is not an approval request id (a positive number)");
}
