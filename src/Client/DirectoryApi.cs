using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using TeamComms.Protocol;

namespace TeamComms.Client;

/// <summary>
/// The company directory, provisioning, policy and audit parts of the HTTP API (docs/operations.md and
/// docs/security.md). Responses are the server's JSON objects.
/// </summary>
public static class DirectoryApi
{
    /// <summary>Case-insensitive prefix search over <paramref name="field"/> (<c>name</c>, <c>department</c> or <c>title</c>); <c>next</c> is the cursor of the following page.</summary>
    public static Task<JsonObject?> SearchDirectoryAsync(this TeamCommsHttpClient http, string query, string field = "name", int limit = 25, string? cursor = null, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Get, $"/v1/directory/search?q={Uri.EscapeDataString(query)}&field={Uri.EscapeDataString(field)}&limit={limit}" +
            (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)), null, ct);

    /// <summary>A person's directory profile.</summary>
    public static Task<JsonObject?> GetProfileAsync(this TeamCommsHttpClient http, string user, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Get, "/v1/directory/users/" + Uri.EscapeDataString(user), null, ct);

    /// <summary>Changes the caller's own profile fields (those the company lets users edit).</summary>
    public static Task<JsonObject?> UpdateMyProfileAsync(this TeamCommsHttpClient http, JsonObject fields, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Patch, "/v1/directory/me", fields, ct);

    /// <summary>Admin or HR: changes a person's profile fields (and, for admins, <c>roles</c>).</summary>
    public static Task<JsonObject?> UpdateUserAsync(this TeamCommsHttpClient http, string user, JsonObject fields, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Patch, "/v1/admin/users/" + Uri.EscapeDataString(user), fields, ct);

    /// <summary>Admin: sets a person's company roles exactly.</summary>
    public static Task<JsonObject?> SetRolesAsync(this TeamCommsHttpClient http, string user, IEnumerable<string> roles, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Put, $"/v1/admin/users/{Uri.EscapeDataString(user)}/roles",
            new JsonObject { ["roles"] = new JsonArray(roles.Select(r => (JsonNode?)r).ToArray()) }, ct);

    /// <summary>Admin or HR: offboards a person (sessions revoked, devices wiped, removed from every room, data kept).</summary>
    public static Task<JsonObject?> DeactivateUserAsync(this TeamCommsHttpClient http, string user, string? reason = null, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Post, $"/v1/admin/users/{Uri.EscapeDataString(user)}/deactivate", new JsonObject { ["reason"] = reason }, ct);

    /// <summary>Admin or HR: lets a deactivated person back in (they log in again; rule memberships return).</summary>
    public static Task<JsonObject?> ReactivateUserAsync(this TeamCommsHttpClient http, string user, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Post, $"/v1/admin/users/{Uri.EscapeDataString(user)}/reactivate", new JsonObject(), ct);

    /// <summary>Admin or security officer: revokes one device's session and tells the device to wipe company data.</summary>
    public static Task<JsonObject?> WipeSessionAsync(this TeamCommsHttpClient http, string sessionId, string? reason = null, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Post, $"/v1/admin/sessions/{Uri.EscapeDataString(sessionId)}/wipe", new JsonObject { ["reason"] = reason }, ct);

    /// <summary>
    /// Admin or HR: imports employees from CSV. With <paramref name="dryRun"/> nothing is applied and the result
    /// lists every change. Row errors throw <see cref="CsvImportException"/> with each problem and its line.
    /// </summary>
    public static async Task<JsonObject> ImportCsvAsync(this TeamCommsHttpClient http, string csv, bool dryRun, bool setupLinks = false,
        bool deactivateMissing = false, CancellationToken ct = default)
    {
        using var client = new HttpClient();
        var query = $"?dry_run={(dryRun ? "true" : "false")}&setup_links={(setupLinks ? "true" : "false")}&deactivate_missing={(deactivateMissing ? "true" : "false")}";
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(http.BaseUrl, "/v1/admin/import/csv" + query));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", http.AccessToken);
        request.Content = new StringContent(csv, Encoding.UTF8, "text/csv");
        using var response = await client.SendAsync(request, ct).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        var json = JsonNode.Parse(text) as JsonObject ?? [];
        if (response.IsSuccessStatusCode)
        {
            return json;
        }
        var name = json["error"]?["code"]?.GetValue<string>() ?? "http_" + (int)response.StatusCode;
        var message = json["error"]?["message"]?.GetValue<string>() ?? text;
        if (json["errors"] is JsonArray rows)
        {
            throw new CsvImportException(message, rows.Select(r => (r!["line"]!.GetValue<int>(), r["message"]!.GetValue<string>())).ToList());
        }
        throw new TeamCommsException(ErrorCodes.TryParse(name, out var code) ? code : ErrorCode.Internal, name, message, (int)response.StatusCode);
    }

    /// <summary>Admin, security or compliance officer: a page of the audit log, newest first. <paramref name="filters"/> are query parameters (actor, action, target, since, until, before, limit).</summary>
    public static Task<JsonObject?> QueryAuditAsync(this TeamCommsHttpClient http, IReadOnlyDictionary<string, string?> filters, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Get, "/v1/admin/audit?" + string.Join('&', filters.Where(f => !string.IsNullOrEmpty(f.Value))
            .Select(f => $"{f.Key}={Uri.EscapeDataString(f.Value!)}")), null, ct);

    /// <summary>Audit entries in seq order after <paramref name="after"/>, with their hashes.</summary>
    public static Task<JsonObject?> ExportAuditAsync(this TeamCommsHttpClient http, long after, int limit = 1000, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Get, $"/v1/admin/audit/export?after={after}&limit={limit}", null, ct);

    /// <summary>The audit log's signed heads and the server's public key.</summary>
    public static Task<JsonObject?> AuditHeadsAsync(this TeamCommsHttpClient http, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Get, "/v1/admin/audit/heads", null, ct);

    /// <summary>The server's public signing key (no login needed).</summary>
    public static Task<JsonObject?> ServerKeyAsync(this TeamCommsHttpClient http, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Get, "/v1/server/key", null, ct);
}

/// <summary>A CSV import refused because rows are wrong; nothing was applied.</summary>
public sealed class CsvImportException(string message, IReadOnlyList<(int Line, string Message)> errors) : Exception(message)
{
    /// <summary>Each problem with the line it is on.</summary>
    public IReadOnlyList<(int Line, string Message)> Errors { get; } = errors;
}
