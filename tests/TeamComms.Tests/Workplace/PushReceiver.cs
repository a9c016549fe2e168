using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TeamComms.Tests.Workplace;

/// <summary>
/// A local push gateway for tests: a real HTTP server on 127.0.0.1 that records every POST to
/// <c>/_matrix/push/v1/notify</c> and answers <c>{"rejected": [...]}</c> with the push keys it was told to reject.
/// </summary>
public sealed class PushReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<JsonObject> _received = [];
    private readonly Lock _lock = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private PushReceiver(WebApplication app) => _app = app;

    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>Push keys the gateway reports as rejected (the platform said the device is gone).</summary>
    public HashSet<string> Reject { get; } = [];

    public static async Task<PushReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new PushReceiver(app);
        app.MapPost("/_matrix/push/v1/notify", async (HttpContext context) =>
        {
            var body = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
            var rejected = new JsonArray();
            lock (receiver._lock)
            {
                receiver._received.Add(body);
                foreach (var d in body["notification"]!["devices"]!.AsArray())
                {
                    var key = d!["pushkey"]!.GetValue<string>();
                    if (receiver.Reject.Contains(key))
                    {
                        rejected.Add(key);
                    }
                }
                receiver._changed.TrySetResult();
                receiver._changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            return Results.Json(new JsonObject { ["rejected"] = rejected });
        });
        await app.StartAsync();
        receiver.BaseUrl = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return receiver;
    }

    /// <summary>The <c>notification</c> objects received so far, in order.</summary>
    public List<JsonObject> Notifications()
    {
        lock (_lock)
        {
            return _received.Select(b => b["notification"]!.AsObject()).ToList();
        }
    }

    /// <summary>Waits (without sleeping on a timer) until a notification matches.</summary>
    public async Task<JsonObject> WaitAsync(Func<JsonObject, bool> match, int timeoutSeconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (_received.Select(b => b["notification"]!.AsObject()).FirstOrDefault(match) is { } found)
                {
                    return found;
                }
                changed = _changed.Task;
            }
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                throw new TimeoutException("no matching push; got " + string.Join(" | ", Notifications().Select(n => n.ToJsonString())));
            }
            await Task.WhenAny(changed, Task.Delay(remaining));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
