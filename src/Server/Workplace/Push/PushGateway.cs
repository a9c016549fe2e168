using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Workplace.Push;

/// <summary>
/// Posts notifications to the company's push gateway in the Matrix push gateway format and reads back the push keys it
/// rejected. Retries a failed request (5xx or unreachable) with doubling delays on the injected clock.
/// </summary>
internal sealed partial class PushGateway : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri? _notifyUrl;
    private readonly AttentionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private long _sent;
    private long _failed;

    public PushGateway(IOptions<AttentionOptions> options, TimeProvider time, ILogger<PushGateway> logger)
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = _options.PushTimeout };
        if (_options.PushGatewayUrl is { Length: > 0 } url)
        {
            _notifyUrl = new Uri(new Uri(url.TrimEnd('/') + "/"), "_matrix/push/v1/notify");
        }
    }

    public bool Enabled => _notifyUrl is not null;

    public long Sent => Interlocked.Read(ref _sent);

    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Posts one notification for <paramref name="devices"/>; returns the push keys the gateway rejected.</summary>
    public async Task<IReadOnlyList<string>> NotifyAsync(PushNotification n, IReadOnlyList<PushDeviceRecord> devices, CancellationToken ct)
    {
        if (_notifyUrl is null || devices.Count == 0)
        {
            return [];
        }
        var body = Body(n, devices);
        var delay = TimeSpan.FromSeconds(1);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var response = await _http.PostAsJsonAsync(_notifyUrl, body, ct).ConfigureAwait(false);
                if ((int)response.StatusCode < 500)
                {
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref _failed);
                        LogRefused(_logger, (int)response.StatusCode);
                        return [];
                    }
                    Interlocked.Increment(ref _sent);
                    var answer = await response.Content.ReadFromJsonAsync<JsonObject>(ct).ConfigureAwait(false);
                    return answer?["rejected"] is JsonArray rejected ? rejected.Select(r => r?.GetValue<string>() ?? "").ToList() : [];
                }
                LogRetry(_logger, attempt, (int)response.StatusCode);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !ct.IsCancellationRequested)
            {
                LogUnreachable(_logger, attempt, ex.Message);
            }
            if (attempt >= _options.PushAttempts)
            {
                Interlocked.Increment(ref _failed);
                return [];
            }
            await Task.Delay(delay, _time, ct).ConfigureAwait(false);
            delay *= 2;
        }
    }

    private static JsonObject Body(PushNotification n, IReadOnlyList<PushDeviceRecord> devices)
    {
        var tweaks = new JsonObject { ["sound"] = n.Urgent ? "urgent" : "default" };
        var notification = new JsonObject
        {
            ["prio"] = n.Reason == Protocol.Frames.NotifyReasons.Summary ? "low" : "high",
            ["devices"] = new JsonArray(devices.Select(d => (JsonNode)new JsonObject
            {
                ["app_id"] = d.AppId,
                ["pushkey"] = d.PushKey,
                ["pushkey_ts"] = d.CreatedAt / 1000,
                ["tweaks"] = tweaks.DeepClone(),
            }).ToArray()),
        };
        if (n.EventId is not null)
        {
            notification["event_id"] = n.EventId;
        }
        if (n.RoomId is not null)
        {
            notification["room_id"] = n.RoomId;
        }
        if (n.Type is not null)
        {
            notification["type"] = n.Type;
        }
        if (n.Sender is not null)
        {
            notification["sender"] = n.Sender;
        }
        var extra = new JsonObject { ["reason"] = n.Reason, ["urgent"] = n.Urgent };
        if (n.RoomId is not null)
        {
            extra["seq"] = n.Seq;
        }
        if (n.AlertId is not null)
        {
            extra["alert"] = n.AlertId;
        }
        if (n.Summary is { } summary)
        {
            extra["rooms"] = new JsonArray(summary.Select(s => (JsonNode)new JsonObject { ["room_id"] = s.RoomId, ["count"] = s.Count }).ToArray());
            notification["counts"] = new JsonObject { ["unread"] = summary.Sum(s => s.Count) };
        }
        notification["teamcomms"] = extra;
        return new JsonObject { ["notification"] = notification };
    }

    public void Dispose() => _http.Dispose();

    [LoggerMessage(EventId = 9301, Level = LogLevel.Warning, Message = "Push gateway answered {Status}; will retry (attempt {Attempt})")]
    private static partial void LogRetry(ILogger logger, int attempt, int status);

    [LoggerMessage(EventId = 9302, Level = LogLevel.Warning, Message = "Push gateway unreachable (attempt {Attempt}): {Error}")]
    private static partial void LogUnreachable(ILogger logger, int attempt, string error);

    [LoggerMessage(EventId = 9303, Level = LogLevel.Warning, Message = "Push gateway refused a notification with {Status}")]
    private static partial void LogRefused(ILogger logger, int status);
}
