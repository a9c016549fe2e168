using System.Text.Json.Nodes;
using TeamComms.Client;

namespace TeamComms.Tests.Infrastructure;

/// <summary>Security and compliance officers, created by the admin and logged in over real HTTP.</summary>
public static class OfficerHelpers
{
    public const string SecurityOfficer = "security_officer";
    public const string ComplianceOfficer = "compliance_officer";

    /// <summary>Creates a user with <paramref name="role"/> on the server at <paramref name="baseUrl"/> and returns their logged-in client.</summary>
    public static async Task<TeamCommsHttpClient> CreateOfficerAsync(Uri baseUrl, string adminPassword, string role, string? username = null)
    {
        username ??= role[..3] + Guid.NewGuid().ToString("N")[..8];
        using (var admin = new TeamCommsHttpClient(baseUrl))
        {
            await admin.LoginAsync("admin", adminPassword, "tests");
            var created = await admin.CreateUserAsync(username, username.ToUpperInvariant(), null, "password-" + username);
            await admin.PutAsync($"/v1/admin/users/{created.UserId}/roles", new JsonObject { ["roles"] = new JsonArray(role) });
        }
        var http = new TeamCommsHttpClient(baseUrl);
        await http.LoginAsync(username, "password-" + username, "tests");
        return http;
    }

    /// <summary>A new security officer of <paramref name="server"/>, logged in.</summary>
    public static Task<TeamCommsHttpClient> SecurityOfficerAsync(this TestServer server, string? username = null) =>
        CreateOfficerAsync(server.BaseUrl, TestServer.AdminPassword, SecurityOfficer, username);

    /// <summary>A new compliance officer of <paramref name="server"/>, logged in.</summary>
    public static Task<TeamCommsHttpClient> ComplianceOfficerAsync(this TestServer server, string? username = null) =>
        CreateOfficerAsync(server.BaseUrl, TestServer.AdminPassword, ComplianceOfficer, username);
}
