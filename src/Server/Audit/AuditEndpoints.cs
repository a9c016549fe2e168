using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Hosting;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Audit;

/// <summary>
/// The audit log over HTTP: query with filters and paging, export in seq order with the hashes (what
/// <c>teamcomms admin audit verify</c> checks on its own), the signed heads, and a server-side verification.
/// </summary>
internal static class AuditEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var audit = app.MapGroup("/v1/admin/audit");

        audit.MapGet("", (HttpContext context, AccountService accounts, AuditLog log, string? actor, string? action, string? target,
            string? since, string? until, long? before, int? limit) =>
        {
            Access.Require(context, accounts, Access.Auditors);
            var query = new AuditQuery(Empty(actor), Empty(action), Empty(target), Time(since, "since"), Time(until, "until"), before,
                Math.Clamp(limit ?? 100, 1, 1000));
            var (entries, next) = log.Query(query);
            return Results.Ok(new { entries = entries.Select(Json), next });
        });

        audit.MapGet("/export", (HttpContext context, AccountService accounts, AuditLog log, long? after, int? limit) =>
        {
            Access.Require(context, accounts, Access.Auditors);
            var page = log.Export(after ?? 0, Math.Clamp(limit ?? 1000, 1, 5000));
            return Results.Ok(new { entries = page.Select(Json), next = page.Count == 0 ? (long?)null : page[^1].Seq });
        });

        audit.MapGet("/heads", (HttpContext context, AccountService accounts, AuditLog log, ServerKey key) =>
        {
            Access.Require(context, accounts, Access.Auditors);
            return Results.Ok(new
            {
                public_key = Convert.ToBase64String(key.PublicKey),
                key_id = key.KeyId,
                heads = log.Heads().Select(h => new { seq = h.Seq, hash = h.Hash, ts = h.Ts, server = h.Server, key_id = h.KeyId, signature = h.Signature }),
            });
        });

        audit.MapGet("/verify", (HttpContext context, AccountService accounts, AuditLog log) =>
        {
            Access.Require(context, accounts, Access.Auditors);
            var result = log.Verify();
            return Results.Ok(new
            {
                ok = result.Ok,
                entries = result.Entries,
                last_seq = result.LastSeq,
                last_signed_seq = result.LastSignedSeq,
                problems = result.Problems.Select(p => new { kind = p.Kind, seq = p.Seq, message = p.Message }),
            });
        });

        audit.MapPost("/sign", (HttpContext context, AccountService accounts, AuditLog log) =>
        {
            Access.Require(context, accounts, Access.Security);
            var head = log.SignHead() ?? log.Heads().LastOrDefault();
            return Results.Ok(new { seq = head?.Seq ?? 0, hash = head?.Hash, ts = head?.Ts, signature = head?.Signature });
        });
    }

    public static object Json(AuditRecord r) => new
    {
        seq = r.Seq,
        ts = r.Ts,
        time = DateTimeOffset.FromUnixTimeMilliseconds(r.Ts).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
        actor = r.Actor,
        action = r.Action,
        target = r.Target,
        address = r.Address,
        details = r.Details,
        prev = r.Prev,
        hash = r.Hash,
    };

    private static string? Empty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>Unix milliseconds or an ISO 8601 time.</summary>
    private static long? Time(string? value, string name)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }
        if (long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ms))
        {
            return ms;
        }
        if (DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var t))
        {
            return t.ToUnixTimeMilliseconds();
        }
        throw new ApiException(ErrorCode.BadRequest, $"{name} is unix milliseconds or an ISO 8601 time");
    }
}
