using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using TeamComms.Client;
using TeamComms.Protocol.Frames;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Workplace;

/// <summary>Shared helpers of the workplace tests: a fake clock on a known Monday, people with roles and profiles, Notify frames.</summary>
public static class AttentionKit
{
    /// <summary>Monday 2 March 2026, 12:00 UTC: inside the company's default working hours (mon–fri 09:00–17:00 UTC).</summary>
    public static readonly DateTimeOffset MondayNoon = new(2026, 3, 2, 12, 0, 0, TimeSpan.Zero);

    public static FakeTimeProvider Clock(DateTimeOffset? start = null) => new(start ?? MondayNoon);

    /// <summary>A person created by the admin API with profile fields and company roles, logged in.</summary>
    public static Task<TestUser> PersonAsync(this TestServer server, string username, string? manager = null, string[]? roles = null,
        string? department = null, JsonObject? extra = null)
    {
        var fields = extra?.DeepClone().AsObject() ?? [];
        if (manager is not null)
        {
            fields["manager"] = manager;
        }
        if (roles is not null)
        {
            fields["roles"] = new JsonArray(roles.Select(r => (JsonNode)r).ToArray());
        }
        if (department is not null)
        {
            fields["department"] = department;
        }
        return server.CreateProfiledUserAsync(username, fields);
    }

    public static async Task<Dictionary<string, object?>> CallMapAsync(this TeamCommsConnection connection, string method, Dictionary<string, object?> p) =>
        (Dictionary<string, object?>)(await connection.CallAsync(method, p))!;

    public static async Task<ErrorCodeAndMessage> CallErrorAsync(this TeamCommsConnection connection, string method, Dictionary<string, object?> p)
    {
        var ex = await Assert.ThrowsAsync<TeamCommsException>(() => connection.CallAsync(method, p));
        return new ErrorCodeAndMessage(ex.Code, ex.Message);
    }

    public static List<string> Strings(object? list) => ((List<object?>)list!).Cast<string>().ToList();

    public sealed record ErrorCodeAndMessage(TeamComms.Protocol.ErrorCode Code, string Message);
}

/// <summary>Collects a connection's Notify frames in the background, so tests can wait for one without sleeping.</summary>
public sealed class NotifyCollector : IAsyncDisposable
{
    private readonly List<NotifyFrame> _frames = [];
    private readonly Lock _lock = new();
    private readonly Task _pump;
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public NotifyCollector(TeamCommsConnection connection)
    {
        _pump = Task.Run(async () =>
        {
            try
            {
                await foreach (var n in connection.Notifications.ReadAllAsync(_stop.Token))
                {
                    lock (_lock)
                    {
                        _frames.Add(n);
                        _changed.TrySetResult();
                        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    public IReadOnlyList<NotifyFrame> Snapshot()
    {
        lock (_lock)
        {
            return [.. _frames];
        }
    }

    public async Task<NotifyFrame> WaitAsync(Func<NotifyFrame, bool> match, int timeoutSeconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (_frames.FirstOrDefault(match) is { } found)
                {
                    return found;
                }
                changed = _changed.Task;
            }
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                throw new TimeoutException($"no matching Notify; got {string.Join(", ", Snapshot().Select(f => $"{f.RoomId}/{f.Seq}/{f.Reason}"))}");
            }
            await Task.WhenAny(changed, Task.Delay(remaining));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _pump;
        _stop.Dispose();
    }
}
