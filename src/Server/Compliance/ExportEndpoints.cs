using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TeamComms.Crypto.Age;
using TeamComms.Protocol;
using TeamComms.Protocol.Exports;
using TeamComms.Server.Accounts;
using TeamComms.Server.Api;
using TeamComms.Server.Approvals;
using TeamComms.Server.Audit;

namespace TeamComms.Server.Compliance;

/// <summary>
/// Compliance officers' exports and export recipient, under <c>/v1/compliance</c> beside the archived-room reads:
/// <c>PUT|GET|DELETE /v1/compliance/recipient</c> (registering one's age recipient is a request a security officer
/// approves), <c>POST /v1/compliance/exports</c>, <c>GET /v1/compliance/exports</c> and
/// <c>GET /v1/compliance/exports/{file}</c>. Everyone without the compliance officer role is refused.
/// </summary>
internal static class ExportEndpoints
{
    public sealed record RecipientBody(string? Recipient, string? Note);

    public sealed record ExportBody(string? Room, string? User, string? Since, string? Until, string? Reason);

    public static void Map(IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/compliance");

        group.MapPut("/recipient", async (RecipientBody? body, HttpContext context, AccountService accounts, ApprovalService approvals) =>
        {
            var (session, by) = Officer(context, accounts);
            var request = await approvals.RequestExportRecipientAsync(session, by, body?.Recipient, body?.Note).ConfigureAwait(false);
            return Results.Json(ApprovalEndpoints.Json(request), statusCode: StatusCodes.Status202Accepted);
        });

        group.MapGet("/recipient", (HttpContext context, AccountService accounts, ApprovalService approvals) =>
        {
            var (session, _) = Officer(context, accounts);
            var current = approvals.ExportRecipientOf(session.UserId);
            var pending = approvals.PendingExportRequest(session.UserId);
            return Results.Ok(new
            {
                user_id = session.UserId,
                recipient = current?.Recipient,
                key_id = current?.KeyId,
                approved_by = current?.ApprovedBy,
                approved_at = current is null ? (DateTimeOffset?)null : DateTimeOffset.FromUnixTimeMilliseconds(current.ApprovedAt),
                pending_request = pending is null ? null : ApprovalEndpoints.Json(pending),
            });
        });

        group.MapDelete("/recipient", async (HttpContext context, AccountService accounts, ApprovalService approvals) =>
        {
            var (session, by) = Officer(context, accounts);
            var removed = await approvals.RemoveExportRecipientAsync(session, by).ConfigureAwait(false);
            return removed ? Results.Ok(new { removed }) : throw new ApiException(ErrorCode.NotFound, "you have no export recipient");
        });

        group.MapPost("/exports", async (ExportBody? body, HttpContext context, AccountService accounts, ExportService exports) =>
        {
            var (session, by) = Officer(context, accounts);
            var scope = ExportScope.From(body?.Room, body?.User, body?.Since, body?.Until, body?.Reason);
            var signed = await exports.CreateAsync(session, by, scope).ConfigureAwait(false);
            return Results.Ok(new { file = signed.Manifest.File, manifest_file = signed.Manifest.File + ".manifest.json", manifest = signed.Manifest, signature = signed.Signature });
        });

        group.MapGet("/exports", (HttpContext context, AccountService accounts, ExportService exports) =>
        {
            var (session, _) = Officer(context, accounts);
            return Results.Ok(new { exports = exports.List(session.UserId).Select(m => m.Manifest) });
        });

        group.MapGet("/exports/{file}", async (string file, HttpContext context, AccountService accounts, ExportService exports, AuditLog audit) =>
        {
            var (session, by) = Officer(context, accounts);
            var path = exports.Resolve(file, session.UserId) ?? throw new ApiException(ErrorCode.NotFound, "no such export of yours");
            if (file.EndsWith(".age", StringComparison.Ordinal))
            {
                await audit.RecordAsync(by.Event("compliance.export.download", file)).ConfigureAwait(false);
            }
            return Results.File(path, "application/octet-stream", file, enableRangeProcessing: true);
        });
    }

    private static (AuthenticatedSession Session, Principal By) Officer(HttpContext context, AccountService accounts)
    {
        var session = Bearer.Require(context, accounts);
        if (!session.Roles.Contains(CompanyRoles.ComplianceOfficer))
        {
            throw new ApiException(ErrorCode.Forbidden, "exports are for compliance officers");
        }
        RoleSeparation.RefuseCombined(session);
        return (session, new Principal(session.UserId, Bearer.Address(context)));
    }
}
