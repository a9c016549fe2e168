using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using TeamComms.Protocol;
using TeamComms.Protocol.Federation;
using TeamComms.Server.Accounts;
using TeamComms.Server.Api;
using TeamComms.Server.Audit;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Federation;

/// <summary>
/// Server-to-server endpoints (<c>/v1/federation</c>, MessagePack, signed), discovery (<c>/.well-known/teamcomms/server</c>)
/// and the federation admin API (<c>/v1/admin/federation</c>, JSON). docs/federation.md specifies them.
/// </summary>
internal static class FederationEndpoints
{
    public sealed record PartnerRequest(string? Server, string? BaseUrl, string? Note);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/.well-known/teamcomms/server", (IOptions<FederationOptions> options) =>
            options.Value is { Enabled: true, PublicBaseUrl: { } url }
                ? Results.Ok(new { base_url = url.TrimEnd('/') })
                : throw new ApiException(ErrorCode.NotFound, "this server does not publish a federation base URL"));

        var fed = app.MapGroup("/v1/federation");

        fed.MapGet("/keys", (ServerKeyRing keys, PartnerTable partners) =>
        {
            RequireEnabled(partners);
            return Results.Bytes(keys.Document().ToBytes(), FederationClient.ContentType);
        });

        // Key relay: the document another partner signed, as this server fetched it (for servers that are not partners of the asker).
        fed.MapGet("/keys/{server}", async (string server, HttpContext context, RequestVerifier verifier, KeyCache keys, PartnerTable partners) =>
        {
            await verifier.VerifyAsync(context, []).ConfigureAwait(false);
            if (!partners.IsPartner(server))
            {
                throw new ApiException(ErrorCode.NotFound, $"this server does not federate with {server}");
            }
            var doc = await keys.DocumentAsync(server, context.RequestAborted).ConfigureAwait(false)
                ?? throw new ApiException(ErrorCode.Unavailable, $"the keys of {server} cannot be fetched now");
            return Results.Bytes(doc, FederationClient.ContentType);
        });

        fed.MapPut("/send/{txn}", async (string txn, HttpContext context, RequestVerifier verifier, TransactionIngest ingest, PartnerTable partners) =>
        {
            var body = await ReadBodyAsync(context).ConfigureAwait(false);
            var origin = await verifier.VerifyAsync(context, body).ConfigureAwait(false);
            var transaction = FederationTransaction.Read(body);
            if (transaction.Id != txn || transaction.Origin != origin || transaction.Destination != partners.ServerName)
            {
                throw new ApiException(ErrorCode.BadField, "the transaction's id, origin and destination must match the request");
            }
            var result = await ingest.ProcessAsync(origin, transaction, context.RequestAborted).ConfigureAwait(false);
            return Results.Bytes(result.ToBytes(), FederationClient.ContentType);
        });

        fed.MapGet("/rooms/{room}/events", async (string room, long? from, int? limit, HttpContext context, RequestVerifier verifier, RoomEventPages pages) =>
        {
            var origin = await verifier.VerifyAsync(context, []).ConfigureAwait(false);
            return Results.Bytes(pages.Page(origin, room, from ?? 1, limit ?? 100).ToBytes(), FederationClient.ContentType);
        });

        MapAdmin(app);
    }

    private static void MapAdmin(IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/v1/admin/federation");

        admin.MapGet("", (HttpContext context, AccountService accounts, PartnerTable partners, ServerKeyRing keys, FederationSenders senders,
            FederationStore store, ForwardRegistry forwards, FollowerBackfill backfill) =>
        {
            Bearer.RequireRole(context, accounts, CompanyRoles.Admin);
            return Results.Ok(new
            {
                enabled = partners.Enabled,
                server_name = partners.ServerName,
                key_id = keys.KeyId,
                keys = keys.VerifyKeys().Select(KeyJson),
                partners = partners.List().Select(PartnerJson),
                pending_sends = store.PendingCount(),
                backfill_pages = backfill.PagesFetched,
                destinations = senders.Status().Select(s => new
                {
                    server = s.Server,
                    sending = s.Sending,
                    outbox = store.OutboxCount(s.Server),
                    rooms_behind = s.DirtyRooms,
                    failures = s.Failures,
                    next_attempt_at = s.NextAttemptAt,
                    last_error = s.LastError,
                    last_success_at = s.LastSuccessAt,
                    attempts = s.Attempts,
                    transactions = s.Transactions,
                    events_sent = s.EventsSent,
                    proposals_sent = s.ProposalsSent,
                }),
            });
        });

        admin.MapGet("/partners", (HttpContext context, AccountService accounts, PartnerTable partners) =>
        {
            Bearer.RequireRole(context, accounts, CompanyRoles.Admin);
            return Results.Ok(new { partners = partners.List().Select(PartnerJson) });
        });

        admin.MapPost("/partners", async (PartnerRequest? body, HttpContext context, AccountService accounts, PartnerTable partners, ServerDirectory directory,
            AuditLog auditLog) =>
        {
            var session = Bearer.RequireRole(context, accounts, CompanyRoles.Admin);
            if (body?.Server is not { Length: > 0 } server)
            {
                throw new ApiException(ErrorCode.BadRequest, "server is required");
            }
            var record = await partners.PutAsync(server, string.IsNullOrEmpty(body.BaseUrl) ? null : body.BaseUrl, body.Note, session.UserId).ConfigureAwait(false);
            directory.Forget(server);
            await auditLog.RecordAsync(new AuditEvent(session.UserId, "federation." + FederationAuditKinds.PartnerAdded, record.Server, Bearer.Address(context),
                new Dictionary<string, string> { ["base_url"] = record.BaseUrl ?? "", ["note"] = record.Note ?? "" })).ConfigureAwait(false);
            return Results.Created($"/v1/admin/federation/partners/{record.Server}", PartnerJson(record));
        });

        admin.MapDelete("/partners/{server}", async (string server, HttpContext context, AccountService accounts, PartnerTable partners, ServerDirectory directory,
            AuditLog auditLog) =>
        {
            var session = Bearer.RequireRole(context, accounts, CompanyRoles.Admin);
            if (!await partners.RemoveAsync(server, session.UserId).ConfigureAwait(false))
            {
                throw new ApiException(ErrorCode.NotFound, $"{server} is not a partner");
            }
            directory.Forget(server);
            await auditLog.RecordAsync(new AuditEvent(session.UserId, "federation." + FederationAuditKinds.PartnerRemoved, server, Bearer.Address(context))).ConfigureAwait(false);
            return Results.NoContent();
        });

        admin.MapPost("/keys/rotate", async (HttpContext context, AccountService accounts, ServerKeyRing keys, IFederationAudit audit, TimeProvider time,
            AuditLog auditLog) =>
        {
            var session = Bearer.RequireRole(context, accounts, CompanyRoles.Admin);
            var keyId = await keys.RotateAsync().ConfigureAwait(false);
            audit.Record(new FederationAuditEntry(time.GetUtcNow().ToUnixTimeMilliseconds(), FederationAuditKinds.KeyRotated, keys.ServerName,
                $"new key {keyId} by {session.UserId}"));
            await auditLog.RecordAsync(new AuditEvent(session.UserId, "federation." + FederationAuditKinds.KeyRotated, keyId, Bearer.Address(context))).ConfigureAwait(false);
            return Results.Ok(new { key_id = keyId, keys = keys.VerifyKeys().Select(KeyJson) });
        });

        admin.MapGet("/audit", (int? limit, HttpContext context, AccountService accounts, IFederationAudit audit) =>
        {
            Bearer.RequireRole(context, accounts, CompanyRoles.Admin);
            return Results.Ok(new
            {
                entries = audit.Recent(Math.Clamp(limit ?? 100, 1, 1000)).Select(e => new
                {
                    ts = e.Timestamp,
                    kind = e.Kind,
                    server = e.Server,
                    room_id = e.RoomId,
                    detail = e.Detail,
                }),
            });
        });
    }

    private static object KeyJson(VerifyKey k) => new
    {
        key_id = k.KeyId,
        public_key = System.Buffers.Text.Base64Url.EncodeToString(k.PublicKey),
        valid_from = k.ValidFrom,
        valid_until = k.ValidUntil,
    };

    private static object PartnerJson(PartnerRecord p) => new
    {
        server = p.Server,
        base_url = p.BaseUrl,
        note = p.Note,
        added_at = p.AddedAt,
        added_by = p.AddedBy,
    };

    private static void RequireEnabled(PartnerTable partners)
    {
        if (!partners.Enabled)
        {
            throw new ApiException(ErrorCode.FederationRefused, "federation is off on this server");
        }
    }

    private static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        if (context.Request.ContentLength > FederationLimits.MaxBodyBytes)
        {
            throw new ApiException(ErrorCode.ContentTooLarge, $"federation bodies are at most {FederationLimits.MaxBodyBytes} bytes");
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int n;
        while ((n = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            buffer.Write(chunk, 0, n);
            if (buffer.Length > FederationLimits.MaxBodyBytes)
            {
                throw new ApiException(ErrorCode.ContentTooLarge, $"federation bodies are at most {FederationLimits.MaxBodyBytes} bytes");
            }
        }
        return buffer.ToArray();
    }
}
