using System.Globalization;
using System.Text.Json.Nodes;

namespace TeamComms.Client;

/// <summary>
/// Separated security roles over HTTP: two-person approvals (<c>/v1/approvals</c>), changes of the company
/// recipients (<c>/v1/admin/keys/recipients</c>), a compliance officer's export recipient and compliance exports
/// (<c>/v1/compliance/…</c>). See docs/security.md ("Separated roles") and docs/operations.md ("Compliance exports").
/// </summary>
public static class TeamCommsComplianceClient
{
    /// <summary>Security officer: asks to change the escrow (and optional recovery) recipient; another security officer approves.</summary>
    public static Task<JsonObject?> RequestCompanyRecipientsAsync(this TeamCommsHttpClient http, string escrowRecipient, string? recoveryRecipient = null,
        string? note = null, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Post, "/v1/admin/keys/recipients",
            new JsonObject { ["escrow_recipient"] = escrowRecipient, ["recovery_recipient"] = recoveryRecipient, ["note"] = note }, ct);

    /// <summary>Approval requests, newest first; <paramref name="status"/> filters (pending, approved, rejected, cancelled, expired, superseded).</summary>
    public static async Task<JsonArray> ListApprovalsAsync(this TeamCommsHttpClient http, string? status = null, CancellationToken ct = default) =>
        (await http.SendAsync(HttpMethod.Get, "/v1/approvals" + (status is null ? "" : "?status=" + Uri.EscapeDataString(status)), null, ct).ConfigureAwait(false))!["requests"]!.AsArray();

    /// <summary>One approval request.</summary>
    public static Task<JsonObject?> GetApprovalAsync(this TeamCommsHttpClient http, long id, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Get, "/v1/approvals/" + Id(id), null, ct);

    /// <summary>Security officer other than the requester: approves; the change takes effect before this returns.</summary>
    public static Task<JsonObject?> ApproveAsync(this TeamCommsHttpClient http, long id, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Post, $"/v1/approvals/{Id(id)}/approve", new JsonObject(), ct);

    /// <summary>Security officer other than the requester: rejects, with a reason for the record.</summary>
    public static Task<JsonObject?> RejectAsync(this TeamCommsHttpClient http, long id, string? reason = null, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Post, $"/v1/approvals/{Id(id)}/reject", new JsonObject { ["reason"] = reason }, ct);

    /// <summary>The requester withdraws their own pending request.</summary>
    public static Task<JsonObject?> CancelApprovalAsync(this TeamCommsHttpClient http, long id, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Post, $"/v1/approvals/{Id(id)}/cancel", new JsonObject(), ct);

    /// <summary>Compliance officer: asks to register (or replace) their age recipient; a security officer approves.</summary>
    public static Task<JsonObject?> SetExportRecipientAsync(this TeamCommsHttpClient http, string recipient, string? note = null, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Put, "/v1/compliance/recipient", new JsonObject { ["recipient"] = recipient, ["note"] = note }, ct);

    /// <summary>Compliance officer: their approved export recipient and any pending request.</summary>
    public static Task<JsonObject?> GetExportRecipientAsync(this TeamCommsHttpClient http, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Get, "/v1/compliance/recipient", null, ct);

    /// <summary>Compliance officer: removes their export recipient at once.</summary>
    public static Task<JsonObject?> RemoveExportRecipientAsync(this TeamCommsHttpClient http, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Delete, "/v1/compliance/recipient", null, ct);

    /// <summary>
    /// Compliance officer: exports a room, a user's messages and/or a time range (ISO 8601 or Unix milliseconds),
    /// encrypted to the escrow key and to the officer's approved recipient. Returns the file name and signed manifest.
    /// </summary>
    public static Task<JsonObject?> CreateExportAsync(this TeamCommsHttpClient http, string? room = null, string? user = null, string? since = null,
        string? until = null, string? reason = null, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Post, "/v1/compliance/exports",
            new JsonObject { ["room"] = room, ["user"] = user, ["since"] = since, ["until"] = until, ["reason"] = reason }, ct);

    /// <summary>Compliance officer: the manifests of their exports, newest first.</summary>
    public static async Task<JsonArray> ListExportsAsync(this TeamCommsHttpClient http, CancellationToken ct = default) =>
        (await http.SendAsync(HttpMethod.Get, "/v1/compliance/exports", null, ct).ConfigureAwait(false))!["exports"]!.AsArray();

    /// <summary>Downloads one of the officer's export files or its manifest (by file name) into <paramref name="destination"/>.</summary>
    public static async Task DownloadExportFileAsync(this TeamCommsHttpClient http, string fileName, Stream destination, CancellationToken ct = default)
    {
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(http.BaseUrl, "/v1/compliance/exports/" + Uri.EscapeDataString(fileName)));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", http.AccessToken);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new TeamCommsException(Protocol.ErrorCode.NotFound, "not_found", $"cannot download {fileName}: HTTP {(int)response.StatusCode}", (int)response.StatusCode);
        }
        await response.Content.CopyToAsync(destination, ct).ConfigureAwait(false);
    }

    private static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);
}
