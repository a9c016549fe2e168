using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace TeamComms.Server.Web;

/// <summary>
/// Serves the web app built from src/Web (TeamComms.Web.targets copies it to <c>web/</c> beside the server):
/// the client at <c>/</c> (and <c>/setup</c>, the setup-link page), the admin console at <c>/admin</c>, and the hashed
/// assets (scripts, styles, fonts) at <c>/assets/</c>. Every answer carries a strict Content-Security-Policy:
/// scripts, styles and fonts from this server only, no inline script, no eval.
/// </summary>
public static partial class WebAppHosting
{
    /// <summary>
    /// The policy for every file of the app. <c>connect-src 'self'</c> covers the API and the WebSocket on the same
    /// host and port; <c>blob:</c> images are files the client downloaded and shows (attachments).
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; img-src 'self' blob:; " +
        "media-src 'self' blob:; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; " +
        "frame-ancestors 'none'";

    /// <summary>Where the built app lives: <c>web/</c> next to the server's assembly.</summary>
    public static string Root => Path.Combine(AppContext.BaseDirectory, "web");

    public static void Map(WebApplication app)
    {
        var root = Root;
        if (!File.Exists(Path.Combine(root, "index.html")))
        {
            Log.NoWebApp(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("TeamComms.Web"), root);
            return;
        }
        var files = new PhysicalFileProvider(root);
        var contentTypes = new FileExtensionContentTypeProvider();
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            ContentTypeProvider = contentTypes,
            OnPrepareResponse = ctx =>
            {
                var headers = ctx.Context.Response.Headers;
                AddSecurityHeaders(headers);
                // Hashed file names under /assets never change content; everything else is revalidated.
                headers.CacheControl = ctx.Context.Request.Path.StartsWithSegments("/assets", StringComparison.Ordinal)
                    ? "public, max-age=31536000, immutable"
                    : "no-cache";
            },
        });
        var client = Path.Combine(root, "index.html");
        var admin = Path.Combine(root, "admin", "index.html");
        app.MapGet("/", (HttpContext c) => Page(c, client));
        app.MapGet("/setup", (HttpContext c) => Page(c, client));
        app.MapGet("/admin", (HttpContext c) => Page(c, admin));
        app.MapGet("/admin/{**rest}", (HttpContext c) => Page(c, admin));
    }

    private static IResult Page(HttpContext context, string path)
    {
        var headers = context.Response.Headers;
        AddSecurityHeaders(headers);
        headers.CacheControl = "no-cache";
        return Results.File(path, "text/html; charset=utf-8");
    }

    private static void AddSecurityHeaders(IHeaderDictionary headers)
    {
        headers[HeaderNames.ContentSecurityPolicy] = ContentSecurityPolicy;
        headers[HeaderNames.XContentTypeOptions] = "nosniff";
        headers[HeaderNames.XFrameOptions] = "DENY";
        // The setup link's token is in the fragment, which browsers never send; no-referrer keeps paths private too.
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 9001, Level = LogLevel.Warning,
            Message = "The web app is not built ({Root} has no index.html): / and /admin are not served. Build the server with Node.js 20 and npm on PATH.")]
        public static partial void NoWebApp(ILogger logger, string root);
    }
}
