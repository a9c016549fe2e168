using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TeamComms.Server.Admin;
using TeamComms.Server.Api;
using TeamComms.Server.Connections;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Compliance;
using TeamComms.Server.Federation;
using TeamComms.Server.FanOut;
using TeamComms.Server.Keys;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;
using TeamComms.Server.Web;
using TeamComms.Server.Workplace;

namespace TeamComms.Server.Hosting;

/// <summary>Builds the TeamComms web application: the same code path for <c>dotnet run</c> and for in-process tests.</summary>
public static class TeamCommsApp
{
    /// <summary>Command-line switches beyond ASP.NET Core's own (<c>--urls</c>).</summary>
    private static readonly Dictionary<string, string> s_switches = new(StringComparer.Ordinal)
    {
        ["--data"] = "TeamComms:DataDirectory",
        ["--server-name"] = "TeamComms:ServerName",
    };

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddCommandLine(args, s_switches);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls("http://127.0.0.1:8080");
        }
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        builder.Host.ConfigureHostOptions(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));
        builder.Services.AddTeamComms(builder.Configuration);
        // Let malformed JSON reach HttpErrors, which answers with the API's error body instead of an empty 400.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseMiddleware<HttpErrors>();
        app.UseWebSockets();
        app.MapGet("/healthz", (Readiness readiness) => readiness.IsReady
            ? Results.Ok(new { status = "ok" })
            : Results.Json(new { status = readiness.Status }, statusCode: StatusCodes.Status503ServiceUnavailable));
        app.Map("/v1/ws", WebSocketEndpoint.HandleAsync);
        AccountEndpoints.Map(app);
        AdminEndpoints.Map(app);
        AdminConsole.ConsoleEndpoints.Map(app);
        MetricsEndpoint.Map(app);
        ProvisioningEndpoints.Map(app);
        FederationEndpoints.Map(app);
        KeyEndpoints.Map(app);
        DirectoryApi.Map(app);
        app.MapTeamCommsWorkplace();
        ComplianceServiceCollectionExtensions.MapTeamCommsCompliance(app);
        AttentionEndpoints.Map(app);
        WebAppHosting.Map(app);
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            // Order matters: stop taking appends (the log drains its queue), stop dispatching, then close RocksDB.
            (app.Services.GetRequiredService<IRoomLog>() as IDisposable)?.Dispose();
            app.Services.GetRequiredService<FanOutHub>().Dispose();
            app.Services.GetRequiredService<RocksStore>().Dispose();
        });
        return app;
    }
}
