using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using TeamComms.Client;
using TeamComms.Server.Hosting;

namespace TeamComms.Tests.Infrastructure;

/// <summary>
/// The real server, in this process, on 127.0.0.1 port 0 with a temporary RocksDB directory. Settings are passed
/// exactly as an operator would (configuration keys), plus an optional fake clock.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    public const string AdminPassword = "admin-password-1";
    private readonly bool _ownsDirectory;

    private TestServer(WebApplication app, string dataDirectory, bool ownsDirectory)
    {
        App = app;
        DataDirectory = dataDirectory;
        _ownsDirectory = ownsDirectory;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        BaseUrl = new Uri(addresses.First());
    }

    public WebApplication App { get; }
    public string DataDirectory { get; }
    public Uri BaseUrl { get; }
    public Uri WebSocketUrl => new UriBuilder(BaseUrl) { Scheme = "ws", Path = "/v1/ws" }.Uri;
    public IServiceProvider Services => App.Services;

    public static async Task<TestServer> StartAsync(Dictionary<string, string?>? settings = null, TimeProvider? time = null,
        string? dataDirectory = null, Action<IServiceCollection>? services = null)
    {
        var owns = dataDirectory is null;
        dataDirectory ??= TempDirectory.Create("tc-data");
        var args = new List<string> { "--urls", "http://127.0.0.1:0", "--data", dataDirectory };
        var all = new Dictionary<string, string?>
        {
            ["TeamComms:ServerName"] = "test.local",
            ["TeamComms:Accounts:Argon2MemoryKiB"] = "8",
            ["TeamComms:Accounts:Argon2Passes"] = "1",
            ["TeamComms:Accounts:BootstrapPassword"] = AdminPassword,
            ["TeamComms:Storage:MinFreeBytes"] = "0",
            ["TeamComms:Connections:FramesPerSecond"] = "100000",
            ["TeamComms:Connections:FrameBurst"] = "100000",
        };
        if (settings is not null)
        {
            foreach (var (k, v) in settings)
            {
                all[k] = v;
            }
        }
        foreach (var (k, v) in all)
        {
            args.Add($"--{k}={v}");
        }
        var app = TeamCommsApp.Build([.. args], b =>
        {
            b.Logging.ClearProviders();
            b.Logging.AddFilter(_ => false);
            if (time is not null)
            {
                b.Services.Replace(ServiceDescriptor.Singleton(time));
            }
            services?.Invoke(b.Services);
        });
        await app.StartAsync();
        return new TestServer(app, dataDirectory, owns);
    }

    /// <summary>Stops this server and starts a new one on the same data directory (a clean restart).</summary>
    public async Task<TestServer> RestartAsync(Dictionary<string, string?>? settings = null, TimeProvider? time = null)
    {
        await StopAsync();
        return await StartAsync(settings, time, DataDirectory);
    }

    public async Task StopAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }

    public TeamCommsHttpClient Http(string? token = null) => new(BaseUrl) { AccessToken = token };

    public async Task<TeamCommsHttpClient> AdminAsync()
    {
        var http = Http();
        await http.LoginAsync("admin", AdminPassword, "tests");
        return http;
    }

    /// <summary>Creates a user (through the admin API) and logs them in. Returns the user id and token.</summary>
    public async Task<TestUser> CreateUserAsync(string? username = null)
    {
        username ??= "u" + Guid.NewGuid().ToString("N")[..10];
        using var admin = await AdminAsync();
        var created = await admin.CreateUserAsync(username, username.ToUpperInvariant(), null, "password-" + username);
        using var http = Http();
        var login = await http.LoginAsync(username, "password-" + username, "tests");
        return new TestUser(this, created.UserId, username, login.AccessToken, login.SessionId);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (ObjectDisposedException)
        {
        }
        if (_ownsDirectory)
        {
            TempDirectory.Delete(DataDirectory);
        }
    }
}

/// <summary>A logged-in user of a <see cref="TestServer"/>.</summary>
public sealed record TestUser(TestServer Server, string UserId, string Username, string Token, string SessionId)
{
    public Task<TeamCommsConnection> ConnectAsync(ClientOptions? options = null) =>
        TeamCommsConnection.ConnectAsync(Server.WebSocketUrl, Token, options ?? new ClientOptions());

    public TeamCommsHttpClient Http() => Server.Http(Token);
}

public static class TempDirectory
{
    public static string Create(string prefix)
    {
        var path = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    public static void Delete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
