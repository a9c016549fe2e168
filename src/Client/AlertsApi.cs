using System.Text.Json.Nodes;

namespace TeamComms.Client;

/// <summary>
/// Urgent messages, emergency broadcasts and acknowledgements over HTTP (docs/protocol.md §17; the same operations as
/// the <c>alerts.*</c> WebSocket calls). Responses are the server's JSON objects.
/// </summary>
public static class AlertsApi
{
    /// <summary>
    /// Sends a message that requires acknowledgement. <paramref name="target"/> is one of <c>room</c>, <c>user</c>,
    /// <c>rule</c>, <c>group</c> (with <paramref name="value"/>) or <c>company</c>. Returns <c>{alert_id, room_id, seq, event_id, recipients}</c>.
    /// </summary>
    public static Task<JsonObject?> SendAlertAsync(this TeamCommsHttpClient http, string target, string? value, string body, bool urgent = true,
        string? type = null, CancellationToken ct = default)
    {
        var request = new JsonObject { ["body"] = body, ["urgent"] = urgent };
        if (target == "company")
        {
            request["company"] = true;
        }
        else
        {
            request[target] = value;
        }
        if (type is not null)
        {
            request["type"] = type;
        }
        return http.SendAsync(HttpMethod.Post, "/v1/alerts", request, ct);
    }

    /// <summary>The acknowledgement view of an alert: its state, counts and one row per recipient (sender, admins, the room's moderators).</summary>
    public static Task<JsonObject?> AlertStatusAsync(this TeamCommsHttpClient http, string alertId, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Get, "/v1/alerts/" + Uri.EscapeDataString(alertId), null, ct);

    /// <summary>The acknowledgement view as CSV (a header line, then one line per recipient; CRLF line ends).</summary>
    public static Task<string> AlertStatusCsvAsync(this TeamCommsHttpClient http, string alertId, CancellationToken ct = default) =>
        http.GetTextAsync("/v1/alerts/" + Uri.EscapeDataString(alertId) + "?format=csv", ct);

    /// <summary>Alerts you sent and alerts waiting for your acknowledgement.</summary>
    public static Task<JsonObject?> ListAlertsAsync(this TeamCommsHttpClient http, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Get, "/v1/alerts", null, ct);

    /// <summary>Acknowledges an alert (idempotent); returns <c>{alert_id, acknowledged_at}</c>.</summary>
    public static Task<JsonObject?> AcknowledgeAlertAsync(this TeamCommsHttpClient http, string alertId, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Post, "/v1/alerts/" + Uri.EscapeDataString(alertId) + "/ack", null, ct);

    /// <summary>Cancels an alert: reminders stop, what was delivered stays.</summary>
    public static Task<JsonObject?> CancelAlertAsync(this TeamCommsHttpClient http, string alertId, string? reason = null, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Post, "/v1/alerts/" + Uri.EscapeDataString(alertId) + "/cancel", new JsonObject { ["reason"] = reason }, ct);

    /// <summary>Gives the all-clear, a reply in the alert's thread.</summary>
    public static Task<JsonObject?> AllClearAsync(this TeamCommsHttpClient http, string alertId, string body, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Post, "/v1/alerts/" + Uri.EscapeDataString(alertId) + "/all-clear", new JsonObject { ["body"] = body }, ct);
}
