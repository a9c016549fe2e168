using System.Text.Json.Nodes;

namespace TeamComms.Client;

/// <summary>Admin calls for keys and backups (<c>/v1/admin/keys</c>, <c>/v1/admin/backups</c>). See docs/operations.md.</summary>
public static class TeamCommsKeysClient
{
    /// <summary>The server's key status: KEK id and source, company recipients, signing key id.</summary>
    public static Task<JsonObject?> KeyStatusAsync(this TeamCommsHttpClient http, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Get, "/v1/admin/keys", null, ct);

    /// <summary>Rotates the KEK. Give <paramref name="newPassphrase"/> when the KEK comes from a passphrase.</summary>
    public static Task<JsonObject?> RotateKekAsync(this TeamCommsHttpClient http, string? newPassphrase = null, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Post, "/v1/admin/keys/kek/rotate", new JsonObject { ["new_passphrase"] = newPassphrase }, ct);

    /// <summary>Starts a new data key for a room.</summary>
    public static Task<JsonObject?> RotateRoomKeyAsync(this TeamCommsHttpClient http, string roomId, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Post, $"/v1/admin/rooms/{Uri.EscapeDataString(roomId)}/keys/rotate", null, ct);

    /// <summary>Makes an online backup; returns its path on the server and its signed manifest.</summary>
    public static Task<JsonObject?> CreateBackupAsync(this TeamCommsHttpClient http, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Post, "/v1/admin/backups", null, ct);

    /// <summary>Downloads a backup file or its manifest (by file name) into <paramref name="destination"/>.</summary>
    public static async Task DownloadBackupFileAsync(this TeamCommsHttpClient http, string fileName, Stream destination, CancellationToken ct = default)
    {
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(http.BaseUrl, "/v1/admin/backups/" + Uri.EscapeDataString(fileName)));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", http.AccessToken);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new TeamCommsException(Protocol.ErrorCode.NotFound, "not_found", $"cannot download {fileName}: HTTP {(int)response.StatusCode}", (int)response.StatusCode);
        }
        await response.Content.CopyToAsync(destination, ct).ConfigureAwait(false);
    }
}
