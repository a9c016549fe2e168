using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using TeamComms.Server.Accounts;
using TeamComms.Server.Api;
using TeamComms.Server.Workplace;

namespace TeamComms.Server.Attachments;

/// <summary>
/// Uploading and downloading attachments over HTTP. Uploads and link requests authenticate with the Authorization
/// header; downloads with the header or a short-lived signed link. An access token is never accepted in a URL.
/// </summary>
internal static class AttachmentEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/rooms/{roomId}/attachments", async (string roomId, HttpContext context, AccountService accounts, AttachmentService service,
            IOptions<WorkplaceOptions> options) =>
        {
            var session = Bearer.Require(context, accounts);
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                // The service enforces the room's limit while streaming; Kestrel's default of 30 MB must not cut in first.
                limit.MaxRequestBodySize = options.Value.MaxAttachmentBytes + 1;
            }
            var record = await service.UploadAsync(session, roomId, context.Request.ContentType, context.Request.ContentLength,
                context.Request.Body, context.RequestAborted).ConfigureAwait(false);
            return Results.Created($"/v1/attachments/{record.Id}", new
            {
                attachment_id = record.Id,
                room_id = record.RoomId,
                content_type = record.ContentType,
                size = record.Size,
            });
        });

        app.MapGet("/v1/attachments/{id}", async (string id, HttpContext context, AccountService accounts, AttachmentService service,
            IAttachmentStorage files, string? u, long? d, long? e, string? s) =>
        {
            var userId = context.Request.Headers.Authorization.Count > 0
                ? Bearer.Require(context, accounts).UserId
                : service.VerifyLink(id.ToLowerInvariant(), u, d, e, s);
            var record = service.Authorize(userId, id.ToLowerInvariant());
            // Opened (and, in cluster mode, fetched and checked) before the headers go out, so damage is a clear error.
            await using var download = await files.OpenAsync(record, context.RequestAborted).ConfigureAwait(false);
            var response = context.Response;
            response.ContentType = record.ContentType;
            response.ContentLength = record.Size;
            // Never rendered by the browser as a page of this origin: a download, no sniffing, no scripts, no caching.
            response.Headers.ContentDisposition = $"attachment; filename=\"{record.Id}\"";
            response.Headers.XContentTypeOptions = "nosniff";
            response.Headers.ContentSecurityPolicy = "default-src 'none'; sandbox";
            response.Headers.CacheControl = "private, no-store";
            response.Headers["Referrer-Policy"] = "no-referrer";
            await download.CopyToAsync(response.Body, context.RequestAborted).ConfigureAwait(false);
            return Results.Empty;
        });

        app.MapPost("/v1/attachments/{id}/link", (string id, HttpContext context, AccountService accounts, AttachmentService service) =>
        {
            var session = Bearer.Require(context, accounts);
            var (url, expires) = service.Link(session, service.Authorize(session.UserId, id.ToLowerInvariant()));
            return Results.Ok(new { url, expires_at = expires });
        });
    }

    /// <summary>The WebSocket call <c>attachments.link {attachment}</c> → <c>{url, expires_at}</c>.</summary>
    public static void Register(ClientCalls calls, AttachmentService service) =>
        calls.Register("attachments.link", (s, p) =>
        {
            var id = p.RequiredString("attachment", 64).ToLowerInvariant();
            var (url, expires) = service.Link(s, service.Authorize(s.UserId, id));
            return Task.FromResult<object?>(new Dictionary<string, object?> { ["url"] = url, ["expires_at"] = expires });
        });
}
