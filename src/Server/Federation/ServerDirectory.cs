using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TeamComms.Protocol;

namespace TeamComms.Server.Federation;

/// <summary>
/// Finds a server's base URL from its name. A partner-table entry with a base URL wins; otherwise
/// <c>GET https://{name}/.well-known/teamcomms/server</c> answers <c>{"base_url": "https://…"}</c>; otherwise the
/// name itself is the host (<c>https://{name}</c>). Results are cached. Only https URLs are used, except loopback
/// addresses in the explicit test mode (<see cref="FederationOptions.AllowInsecureLoopback"/>).
/// </summary>
internal sealed partial class ServerDirectory(PartnerTable partners, FederationHttp http, IOptions<FederationOptions> options,
    TimeProvider time, ILogger<ServerDirectory> logger)
{
    private readonly FederationOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, (Uri BaseUrl, long Expires)> _cache = new(StringComparer.Ordinal);

    /// <summary>Null when <paramref name="url"/> may be used as a server's base URL; otherwise why not.</summary>
    public static string? CheckBaseUrl(string url, bool allowInsecureLoopback)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
        {
            return $"'{url}' is not an absolute http(s) URL";
        }
        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment) || uri.AbsolutePath != "/" || !string.IsNullOrEmpty(uri.UserInfo))
        {
            return $"'{url}' must be scheme://host[:port] with no path, query or credentials";
        }
        if (uri.Scheme == "http" && !(allowInsecureLoopback && IsLoopback(uri.Host)))
        {
            return allowInsecureLoopback
                ? $"'{url}' is plain HTTP; only loopback addresses may skip TLS in the loopback test mode"
                : $"'{url}' is plain HTTP; federation requires TLS (https)";
        }
        return null;
    }

    public static bool IsLoopback(string host) =>
        host == "localhost" || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>The base URL of <paramref name="server"/>.</summary>
    public async Task<Uri> ResolveAsync(string server, CancellationToken ct)
    {
        if (partners.Get(server)?.BaseUrl is { } configured)
        {
            return new Uri(configured);
        }
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (_cache.TryGetValue(server, out var cached) && cached.Expires > now)
        {
            return cached.BaseUrl;
        }
        var host = server.Contains(':', StringComparison.Ordinal) ? server[..server.LastIndexOf(':')] : server;
        var scheme = _options.AllowInsecureLoopback && IsLoopback(host) ? "http" : "https";
        var fallback = new Uri($"{scheme}://{server}");
        var resolved = fallback;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(_options.RequestTimeout);
            using var response = await http.Client.GetAsync(new Uri(fallback, "/.well-known/teamcomms/server"), timeout.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false));
                if (doc.RootElement.TryGetProperty("base_url", out var value) && value.GetString() is { } url)
                {
                    if (CheckBaseUrl(url, _options.AllowInsecureLoopback) is { } problem)
                    {
                        LogBadWellKnown(logger, server, problem);
                    }
                    else
                    {
                        resolved = new Uri(url);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or OperationCanceledException or InvalidOperationException)
        {
            if (ct.IsCancellationRequested)
            {
                throw;
            }
            LogWellKnownFailed(logger, server, ex.Message);
        }
        _cache[server] = (resolved, now + (long)_options.DiscoveryCacheLifetime.TotalMilliseconds);
        return resolved;
    }

    /// <summary>Forgets a cached resolution (after the partner entry changed).</summary>
    public void Forget(string server) => _cache.TryRemove(server, out _);

    [LoggerMessage(EventId = 7101, Level = LogLevel.Warning, Message = "The well-known document of {Server} names an unusable base URL: {Problem}")]
    private static partial void LogBadWellKnown(ILogger logger, string server, string problem);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Debug, Message = "No well-known document for {Server} ({Reason}); using the name as the host")]
    private static partial void LogWellKnownFailed(ILogger logger, string server, string reason);
}
