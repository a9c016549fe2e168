using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using TeamComms.Protocol;

namespace TeamComms.Client;

/// <summary>
/// The HTTP half of the client API: login, sessions, setup links and the admin API. Requests and responses are
/// JSON objects with snake_case names; errors are <c>{"error": {"code", "message"}}</c> and surface as
/// <see cref="TeamCommsException"/>.
/// </summary>
public sealed class TeamCommsHttpClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    /// <summary>Creates a client for a server base URL such as <c>http://127.0.0.1:8080</c>.</summary>
    public TeamCommsHttpClient(Uri baseUrl, HttpClient? http = null)
    {
        _ownsHttp = http is null;
        _http = http ?? new HttpClient();
        BaseUrl = baseUrl;
    }

    /// <summary>The server's base URL.</summary>
    public Uri BaseUrl { get; }

    /// <summary>The access token sent as a bearer token; set by <see cref="LoginAsync"/>.</summary>
    public string? AccessToken { get; set; }

    /// <summary>The WebSocket URL for this server (<c>ws[s]://host/v1/ws</c>).</summary>
    public Uri WebSocketUrl => new UriBuilder(BaseUrl) { Scheme = BaseUrl.Scheme == "https" ? "wss" : "ws", Path = "/v1/ws" }.Uri;

    /// <summary>Logs in and keeps the access token for later calls.</summary>
    public async Task<LoginResult> LoginAsync(string username, string password, string? deviceName = null, CancellationToken ct = default)
    {
        var json = await SendAsync(HttpMethod.Post, "/v1/login", new JsonObject
        {
            ["username"] = username,
            ["password"] = password,
            ["device_name"] = deviceName,
        }, ct).ConfigureAwait(false);
        var result = new LoginResult(json!["access_token"]!.GetValue<string>(), json["session_id"]!.GetValue<string>(),
            json["user_id"]!.GetValue<string>(), json["expires_at"]!.GetValue<long>());
        AccessToken = result.AccessToken;
        return result;
    }

    /// <summary>Revokes the current session.</summary>
    public Task LogoutAsync(CancellationToken ct = default) => SendAsync(HttpMethod.Post, "/v1/logout", null, ct);

    /// <summary>The caller's own profile.</summary>
    public Task<JsonObject?> MeAsync(CancellationToken ct = default) => SendAsync(HttpMethod.Get, "/v1/me", null, ct);

    /// <summary>The caller's live sessions.</summary>
    public async Task<IReadOnlyList<SessionInfo>> ListSessionsAsync(CancellationToken ct = default)
    {
        var json = await SendAsync(HttpMethod.Get, "/v1/sessions", null, ct).ConfigureAwait(false);
        return json!["sessions"]!.AsArray().Select(s => new SessionInfo(
            s!["session_id"]!.GetValue<string>(), s["device_name"]!.GetValue<string>(), s["created_at"]!.GetValue<long>(),
            s["current"]!.GetValue<bool>())).ToList();
    }

    /// <summary>Revokes one of the caller's sessions; its connections are closed when this returns.</summary>
    public Task RevokeSessionAsync(string sessionId, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, "/v1/sessions/" + Uri.EscapeDataString(sessionId), null, ct);

    /// <summary>Sets a first password with a setup-link token.</summary>
    public Task<JsonObject?> CompleteSetupAsync(string token, string password, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "/v1/setup", new JsonObject { ["token"] = token, ["password"] = password }, ct);

    /// <summary>Admin: creates a user with a password, or (without one) returns a setup link.</summary>
    public async Task<CreatedUser> CreateUserAsync(string username, string displayName, string? email = null, string? password = null,
        IEnumerable<string>? roles = null, CancellationToken ct = default)
    {
        var body = new JsonObject
        {
            ["username"] = username,
            ["display_name"] = displayName,
            ["email"] = email,
            ["password"] = password,
        };
        if (roles is not null)
        {
            body["roles"] = new JsonArray(roles.Select(r => (JsonNode?)r).ToArray());
        }
        var json = await SendAsync(HttpMethod.Post, "/v1/admin/users", body, ct).ConfigureAwait(false);
        return new CreatedUser(json!["user"]!["user_id"]!.GetValue<string>(), json["setup_token"]?.GetValue<string>(), json["setup_link"]?.GetValue<string>());
    }

    /// <summary>Admin: creates many users sharing one password (one Argon2 hash), for provisioning and load tests.</summary>
    public async Task<IReadOnlyList<string>> CreateUsersBulkAsync(IEnumerable<(string Username, string DisplayName)> users, string password, CancellationToken ct = default)
    {
        var body = new JsonObject
        {
            ["users"] = new JsonArray(users.Select(u => (JsonNode?)new JsonObject { ["username"] = u.Username, ["display_name"] = u.DisplayName }).ToArray()),
            ["password"] = password,
        };
        var json = await SendAsync(HttpMethod.Post, "/v1/admin/users/bulk", body, ct).ConfigureAwait(false);
        return json!["user_ids"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
    }

    /// <summary>Admin: lists users (first page of up to <paramref name="limit"/>).</summary>
    public async Task<IReadOnlyList<JsonObject>> ListUsersAsync(int limit = 1000, CancellationToken ct = default)
    {
        var json = await SendAsync(HttpMethod.Get, $"/v1/admin/users?limit={limit}", null, ct).ConfigureAwait(false);
        return json!["users"]!.AsArray().Select(n => n!.AsObject()).ToList();
    }

    /// <summary>Admin: a new setup link for a user.</summary>
    public async Task<string> CreateSetupLinkAsync(string userId, CancellationToken ct = default)
    {
        var json = await SendAsync(HttpMethod.Post, $"/v1/admin/users/{Uri.EscapeDataString(userId)}/setup-link", null, ct).ConfigureAwait(false);
        return json!["setup_token"]!.GetValue<string>();
    }

    /// <summary>Admin: federation status (keys, partners, per-destination outboxes).</summary>
    public Task<JsonObject?> FederationStatusAsync(CancellationToken ct = default) =>
        SendAsync(HttpMethod.Get, "/v1/admin/federation", null, ct);

    /// <summary>Admin: the federation partner allowlist.</summary>
    public async Task<IReadOnlyList<JsonObject>> ListPartnersAsync(CancellationToken ct = default)
    {
        var json = await SendAsync(HttpMethod.Get, "/v1/admin/federation/partners", null, ct).ConfigureAwait(false);
        return json!["partners"]!.AsArray().Select(n => n!.AsObject()).ToList();
    }

    /// <summary>Admin: adds or updates a partner server; <paramref name="baseUrl"/> overrides its well-known discovery.</summary>
    public Task<JsonObject?> AddPartnerAsync(string server, string? baseUrl = null, string? note = null, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "/v1/admin/federation/partners", new JsonObject { ["server"] = server, ["base_url"] = baseUrl, ["note"] = note }, ct);

    /// <summary>Admin: removes a partner; requests from and to it are refused from now on.</summary>
    public Task RemovePartnerAsync(string server, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, "/v1/admin/federation/partners/" + Uri.EscapeDataString(server), null, ct);

    /// <summary>Admin: rotates the server's federation signing key; returns the new key id.</summary>
    public async Task<string> RotateFederationKeyAsync(CancellationToken ct = default)
    {
        var json = await SendAsync(HttpMethod.Post, "/v1/admin/federation/keys/rotate", null, ct).ConfigureAwait(false);
        return json!["key_id"]!.GetValue<string>();
    }

    /// <summary>Admin: the latest audited federation decisions (refusals, partner and key changes), oldest first.</summary>
    public async Task<IReadOnlyList<JsonObject>> FederationAuditAsync(int limit = 100, CancellationToken ct = default)
    {
        var json = await SendAsync(HttpMethod.Get, $"/v1/admin/federation/audit?limit={limit}", null, ct).ConfigureAwait(false);
        return json!["entries"]!.AsArray().Select(n => n!.AsObject()).ToList();
    }

    /// <summary>Any JSON call: returns the response object (null for 204), throws <see cref="TeamCommsException"/> on an error body.</summary>
    public async Task<JsonObject?> SendAsync(HttpMethod method, string path, JsonNode? body, CancellationToken ct = default)
    {
        using var request = new HttpRequestMessage(method, new Uri(BaseUrl, path));
        if (AccessToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AccessToken);
        }
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }
        using var response = await _http.SendAsync(request, ct).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        JsonNode? json = null;
        if (text.Length > 0)
        {
            try
            {
                json = JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                json = null;
            }
        }
        if (!response.IsSuccessStatusCode)
        {
            var error = json?["error"];
            var name = error?["code"]?.GetValue<string>() ?? "http_" + (int)response.StatusCode;
            var code = ErrorCodes.TryParse(name, out var parsed) ? parsed : ErrorCode.Internal;
            throw new TeamCommsException(code, name, error?["message"]?.GetValue<string>() ?? text, (int)response.StatusCode);
        }
        return json as JsonObject;
    }

    /// <summary>A GET whose answer is text (a CSV export): returns the body, throws <see cref="TeamCommsException"/> on an error body.</summary>
    public async Task<string> GetTextAsync(string path, CancellationToken ct = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(BaseUrl, path));
        if (AccessToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AccessToken);
        }
        using var response = await _http.SendAsync(request, ct).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            JsonNode? error = null;
            try
            {
                error = JsonNode.Parse(text)?["error"];
            }
            catch (JsonException)
            {
            }
            var name = error?["code"]?.GetValue<string>() ?? "http_" + (int)response.StatusCode;
            var code = ErrorCodes.TryParse(name, out var parsed) ? parsed : ErrorCode.Internal;
            throw new TeamCommsException(code, name, error?["message"]?.GetValue<string>() ?? text, (int)response.StatusCode);
        }
        return text;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }
}

/// <summary>A successful login.</summary>
public sealed record LoginResult(string AccessToken, string SessionId, string UserId, long ExpiresAt);

/// <summary>A session as listed by <see cref="TeamCommsHttpClient.ListSessionsAsync"/>.</summary>
public sealed record SessionInfo(string SessionId, string DeviceName, long CreatedAt, bool Current);

/// <summary>A user created by an admin; <see cref="SetupToken"/> is set when no password was given.</summary>
public sealed record CreatedUser(string UserId, string? SetupToken, string? SetupLink);
