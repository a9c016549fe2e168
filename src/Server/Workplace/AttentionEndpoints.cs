using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.Api;
using TeamComms.Server.Audit;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Workplace.Alerts;
using TeamComms.Server.Workplace.Incidents;
using TeamComms.Server.Workplace.Notifications;
using TeamComms.Server.Workplace.Push;
using TeamComms.Server.Workplace.Receipts;

namespace TeamComms.Server.Workplace;

/// <summary>
/// The HTTP API of the workplace features (the same operations as the WebSocket calls, for the CLI and integrations),
/// and the admin policy and incident endpoints. docs/protocol.md §17 and docs/operations.md list them.
/// </summary>
internal static class AttentionEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/alerts", async (JsonObject? body, HttpContext context, AccountService accounts, AlertService alerts) =>
        {
            var (session, by) = Access.Require(context, accounts);
            var p = Fields(body);
            var result = await alerts.SendAsync(session, by, AttentionCalls.Target(p), p.RequiredString("body", AlertService.MaxBody + 1000),
                p.OptionalBool("urgent") ?? true, p.OptionalString("type", Protocol.Events.EventTypes.MaxLength)).ConfigureAwait(false);
            return Results.Ok(Json(result));
        });
        app.MapGet("/v1/alerts", (HttpContext context, AccountService accounts, AlertService alerts) =>
            Results.Ok(Json(alerts.List(Access.Require(context, accounts).Session))));
        app.MapGet("/v1/alerts/{alertId}", (string alertId, string? format, HttpContext context, AccountService accounts, AlertService alerts) =>
        {
            var (session, _) = Access.Require(context, accounts);
            var (alert, rows) = alerts.Status(session, alertId);
            return format switch
            {
                null or "json" => Results.Ok(Json(AlertService.StatusJson(alert, rows))),
                "csv" => Results.Text(AlertService.StatusCsv(rows), "text/csv; charset=utf-8"),
                _ => throw new ApiException(ErrorCode.BadRequest, "format is json or csv"),
            };
        });
        app.MapPost("/v1/alerts/{alertId}/ack", async (string alertId, HttpContext context, AccountService accounts, AlertService alerts) =>
            Results.Ok(Json(await alerts.AckAsync(Access.Require(context, accounts).Session, alertId).ConfigureAwait(false))));
        app.MapPost("/v1/alerts/{alertId}/cancel", async (string alertId, JsonObject? body, HttpContext context, AccountService accounts, AlertService alerts) =>
        {
            var (session, by) = Access.Require(context, accounts);
            return Results.Ok(Json(await alerts.CloseAsync(session, by, alertId, false, Fields(body).OptionalString("reason", AlertService.MaxBody + 1)).ConfigureAwait(false)));
        });
        app.MapPost("/v1/alerts/{alertId}/all-clear", async (string alertId, JsonObject? body, HttpContext context, AccountService accounts, AlertService alerts) =>
        {
            var (session, by) = Access.Require(context, accounts);
            return Results.Ok(Json(await alerts.CloseAsync(session, by, alertId, true, Fields(body).RequiredString("body", AlertService.MaxBody + 1)).ConfigureAwait(false)));
        });

        app.MapGet("/v1/receipts", (string? room, long? seq, HttpContext context, AccountService accounts, ReceiptService receipts) =>
        {
            var (session, _) = Access.Require(context, accounts);
            if (room is null || seq is null)
            {
                throw new ApiException(ErrorCode.BadRequest, "room and seq are required");
            }
            return Results.Ok(Json(receipts.Get(session, room, seq.Value)));
        });

        app.MapGet("/v1/notifications", (HttpContext context, AccountService accounts, AttentionService attention) =>
            Results.Ok(Json(attention.Describe(Access.Require(context, accounts).Session))));
        app.MapPost("/v1/notifications/snooze", (JsonObject? body, HttpContext context, AccountService accounts, AttentionCalls calls) =>
            Results.Ok(Json(calls.Snooze(Access.Require(context, accounts).Session, Fields(body)))));
        app.MapGet("/v1/notifications/summary", (HttpContext context, AccountService accounts, AttentionCalls calls) =>
            Results.Ok(Json(calls.Summary(Access.Require(context, accounts).Session))));
        app.MapPut("/v1/push", (JsonObject? body, HttpContext context, AccountService accounts, PushService push) =>
        {
            var (session, _) = Access.Require(context, accounts);
            var p = Fields(body);
            push.Register(session, p.RequiredString("app_id", 256), p.RequiredString("pushkey", 1024));
            return Results.NoContent();
        });
        app.MapDelete("/v1/push", (HttpContext context, AccountService accounts, PushService push) =>
        {
            push.Unregister(Access.Require(context, accounts).Session.SessionKey);
            return Results.NoContent();
        });

        app.MapPost("/v1/incidents", async (JsonObject? body, HttpContext context, AccountService accounts, IncidentService incidents) =>
        {
            var (session, by) = Access.Require(context, accounts);
            var p = Fields(body);
            return Results.Ok(Json(await incidents.ReportAsync(session, by, p.RequiredString("kind", 64),
                p.RequiredString("description", IncidentService.MaxDescription + 1000), p.OptionalBool("anonymous") ?? false).ConfigureAwait(false)));
        });
        app.MapGet("/v1/incidents", (HttpContext context, AccountService accounts, IncidentService incidents) =>
            Results.Ok(Json(incidents.List(Access.Require(context, accounts).Session))));

        var admin = app.MapGroup("/v1/admin");
        admin.MapGet("/workplace/policy", (HttpContext context, AccountService accounts, AttentionPolicy policy) =>
        {
            Access.Require(context, accounts, Access.Admin);
            return Results.Ok(AttentionPolicy.ToJson(policy.Current));
        });
        admin.MapPatch("/workplace/policy", async (JsonObject? body, HttpContext context, AccountService accounts, AttentionPolicy policy, IncidentService incidents) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.Admin);
            var before = policy.Current.IncidentRoles;
            var updated = await policy.UpdateAsync(by, body ?? []).ConfigureAwait(false);
            if (!before.SequenceEqual(updated.IncidentRoles))
            {
                await incidents.SyncRespondersAsync(by).ConfigureAwait(false);
            }
            return Results.Ok(AttentionPolicy.ToJson(updated));
        });
        admin.MapGet("/incidents/{incidentId}/sealed", async (string incidentId, HttpContext context, AccountService accounts, IncidentService incidents) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.Security);
            return Results.Ok(Json(await incidents.SealedAsync(by, incidentId).ConfigureAwait(false)));
        });
    }

    /// <summary>A JSON body as the calls' field map (JSON numbers become integers; floats are refused).</summary>
    private static FieldMap Fields(JsonObject? body)
    {
        var map = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, node) in body ?? [])
        {
            map[name] = node switch
            {
                null => null,
                JsonValue v when v.TryGetValue<string>(out var s) => s,
                JsonValue v when v.TryGetValue<bool>(out var b) => b,
                JsonValue v when v.TryGetValue<long>(out var l) => l,
                _ => throw new ApiException(ErrorCode.BadRequest, $"'{name}' has an unsupported value"),
            };
        }
        return new FieldMap(map);
    }

    /// <summary>Call results for JSON: binary ids become unpadded base64url strings.</summary>
    private static object? Json(object? value) => value switch
    {
        byte[] bytes => System.Buffers.Text.Base64Url.EncodeToString(bytes),
        Dictionary<string, object?> map => map.ToDictionary(kv => kv.Key, kv => Json(kv.Value), StringComparer.Ordinal),
        List<object?> list => list.Select(Json).ToList(),
        RawMsgPack raw => System.Buffers.Text.Base64Url.EncodeToString(raw.Bytes.Span),
        _ => value,
    };
}
