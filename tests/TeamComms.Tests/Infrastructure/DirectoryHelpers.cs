using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using TeamComms.Client;

namespace TeamComms.Tests.Infrastructure;

/// <summary>Admin and SCIM calls the directory tests share, over real HTTP.</summary>
public static class DirectoryHelpers
{
    public static Task<JsonObject?> PostAsync(this TeamCommsHttpClient http, string path, JsonNode? body = null) =>
        http.SendAsync(HttpMethod.Post, path, body ?? new JsonObject());

    public static Task<JsonObject?> PutAsync(this TeamCommsHttpClient http, string path, JsonNode body) =>
        http.SendAsync(HttpMethod.Put, path, body);

    public static Task<JsonObject?> PatchAsync(this TeamCommsHttpClient http, string path, JsonNode body) =>
        http.SendAsync(HttpMethod.Patch, path, body);

    public static Task<JsonObject?> GetAsync(this TeamCommsHttpClient http, string path) => http.SendAsync(HttpMethod.Get, path, null);

    public static string Room(string roomId) => Uri.EscapeDataString(roomId);

    /// <summary>Creates a SCIM token through the admin API; returns the token.</summary>
    public static async Task<string> CreateScimTokenAsync(this TestServer server, string name)
    {
        using var admin = await server.AdminAsync();
        var created = await admin.PostAsync("/v1/admin/scim/tokens", new JsonObject { ["name"] = name });
        return created!["token"]!.GetValue<string>();
    }

    /// <summary>A user with a password and extra profile fields, created through the admin API and logged in.</summary>
    public static async Task<TestUser> CreateProfiledUserAsync(this TestServer server, string username, JsonObject? fields = null)
    {
        using var admin = await server.AdminAsync();
        var body = fields?.DeepClone().AsObject() ?? [];
        body["username"] = username;
        body["display_name"] ??= username.ToUpperInvariant();
        body["password"] = "password-" + username;
        var created = await admin.PostAsync("/v1/admin/users", body);
        using var http = server.Http();
        var login = await http.LoginAsync(username, "password-" + username, "tests");
        return new TestUser(server, created!["user"]!["user_id"]!.GetValue<string>(), username, login.AccessToken, login.SessionId);
    }
}

/// <summary>A raw SCIM client: requests as identity providers send them, responses as JSON with the status.</summary>
public sealed class ScimClient(Uri baseUrl, string? token) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = new Uri(baseUrl, "/scim/v2/") };

    public async Task<(int Status, JsonObject? Body)> SendAsync(HttpMethod method, string path, string? json = null, string contentType = "application/scim+json")
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        request.Headers.Accept.ParseAdd("application/scim+json");
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (text.Length > 0)
        {
            Assert.StartsWith("application/scim+json", response.Content.Headers.ContentType?.ToString() ?? "", StringComparison.Ordinal);
        }
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text)!.AsObject());
    }

    public Task<(int Status, JsonObject? Body)> GetAsync(string path) => SendAsync(HttpMethod.Get, path);
    public Task<(int Status, JsonObject? Body)> PostAsync(string path, string json) => SendAsync(HttpMethod.Post, path, json);
    public Task<(int Status, JsonObject? Body)> PutAsync(string path, string json) => SendAsync(HttpMethod.Put, path, json);
    public Task<(int Status, JsonObject? Body)> PatchAsync(string path, string json) => SendAsync(HttpMethod.Patch, path, json);
    public Task<(int Status, JsonObject? Body)> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path);

    public void Dispose() => _http.Dispose();
}
