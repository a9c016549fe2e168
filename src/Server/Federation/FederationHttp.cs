using System.Net;

namespace TeamComms.Server.Federation;

/// <summary>The one HTTP client this server uses to talk to other servers (pooled connections, no cookies, no redirects).</summary>
internal sealed class FederationHttp : IDisposable
{
    public FederationHttp()
    {
        Client = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
        })
        {
            // Each request carries its own timeout (FederationOptions.RequestTimeout) through a cancellation token.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        Client.DefaultRequestHeaders.UserAgent.ParseAdd("TeamComms-Federation/1");
    }

    public HttpClient Client { get; }

    public void Dispose() => Client.Dispose();
}
