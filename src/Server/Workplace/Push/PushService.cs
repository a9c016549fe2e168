using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;
using TeamComms.Server.Accounts;
using TeamComms.Server.Connections;
using TeamComms.Server.FanOut;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;
using TeamComms.Server.Workplace.Notifications;

namespace TeamComms.Server.Workplace.Push;

/// <summary>
/// Push to devices that registered an endpoint (<c>push.register</c>). Committed message-like events become pushes by
/// the same rules as Notify frames: urgent alerts always, ordinary messages only in working hours and not snoozed, and
/// then only to devices with no live connection (a connected device already got the event). Reminders and summaries
/// are pushed by their services. A background loop posts to the gateway, so the room log never waits for HTTP.
/// </summary>
internal sealed partial class PushService : ICommitSink, IDisposable
{
    private readonly ConcurrentDictionary<long, PushDeviceRecord> _devices = new();
    private readonly Channel<Work> _work = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly AttentionStore _store;
    private readonly PushGateway _gateway;
    private readonly RoomRegistry _rooms;
    private readonly AccountStore _accounts;
    private readonly ConnectionRegistry _connections;
    private readonly AttentionService _attention;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private Task? _loop;
    private int _disposed;

    public PushService(AttentionStore store, PushGateway gateway, RoomRegistry rooms, AccountStore accounts, ConnectionRegistry connections,
        AttentionService attention, TimeProvider time, ILogger<PushService> logger)
    {
        _store = store;
        _gateway = gateway;
        _rooms = rooms;
        _accounts = accounts;
        _connections = connections;
        _attention = attention;
        _time = time;
        _logger = logger;
    }

    public bool Enabled => _gateway.Enabled;

    public void Start()
    {
        foreach (var device in _store.PushDevices())
        {
            _devices[device.SessionKey] = device;
        }
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Registers (or replaces) the push endpoint of the caller's device (session).</summary>
    public PushDeviceRecord Register(AuthenticatedSession session, string appId, string pushKey)
    {
        if (!_gateway.Enabled)
        {
            throw new ApiException(ErrorCode.PushDisabled, "this server has no push gateway (TeamComms:Workplace:PushGatewayUrl)");
        }
        if (appId.Length is 0 or > 128 || pushKey.Length is 0 or > 512)
        {
            throw new ApiException(ErrorCode.BadField, "app_id is 1 to 128 and pushkey 1 to 512 characters");
        }
        var device = new PushDeviceRecord
        {
            SessionKey = session.SessionKey,
            UserKey = session.UserKey,
            UserId = session.UserId,
            AppId = appId,
            PushKey = pushKey,
            CreatedAt = _time.GetUtcNow().ToUnixTimeMilliseconds(),
        };
        _store.PutPushDevice(device);
        _devices[session.SessionKey] = device;
        _attention.For(session); // quiet-hours summaries are scheduled for people with a device
        return device;
    }

    public bool Unregister(long sessionKey)
    {
        _store.DeletePushDevice(sessionKey);
        return _devices.TryRemove(sessionKey, out _);
    }

    public bool HasDevices(long userKey) => _devices.Values.Any(d => d.UserKey == userKey);

    /// <summary>Queues a notification built elsewhere (a reminder, a summary).</summary>
    public void Push(PushNotification notification)
    {
        if (_gateway.Enabled && !_devices.IsEmpty)
        {
            _work.Writer.TryWrite(new Work(null, notification));
        }
    }

    public void OnCommitted(IReadOnlyList<CommittedEvent> batch)
    {
        if (_devices.IsEmpty || !_gateway.Enabled)
        {
            return; // the common case costs one check per batch
        }
        _work.Writer.TryWrite(new Work(batch, null));
    }

    private async Task RunAsync()
    {
        try
        {
            await foreach (var work in _work.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    if (work.Batch is not null)
                    {
                        foreach (var ev in work.Batch)
                        {
                            if (EventTypes.CountsAsUnread(ev.Type))
                            {
                                await PushEventAsync(ev).ConfigureAwait(false);
                            }
                        }
                    }
                    else
                    {
                        await SendAsync(work.Notification!).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogPushFault(_logger, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task PushEventAsync(CommittedEvent ev)
    {
        var room = _rooms.Get(ev.RoomKey);
        if (room is null)
        {
            return;
        }
        var state = room.View.State;
        foreach (var userKey in _devices.Values.Select(d => d.UserKey).Distinct().ToList())
        {
            var first = _devices.Values.FirstOrDefault(d => d.UserKey == userKey);
            if (first is null || first.UserId == ev.Sender || !state.IsJoined(first.UserId))
            {
                continue;
            }
            if (!ev.Urgent && _attention.Get(userKey, first.UserId).Decide(ev.Timestamp) != NotifyDecision.Default)
            {
                continue; // quiet hours or snoozed: delivered silently, and counted in the next summary
            }
            await SendAsync(new PushNotification(userKey, ev.Urgent ? NotifyReasons.Urgent : "message", ev.Urgent)
            {
                RoomId = ev.RoomId,
                Seq = ev.Seq,
                EventId = ev.Id.ToString(),
                Type = ev.Type,
                Sender = ev.Sender,
                OfflineOnly = !ev.Urgent,
            }).ConfigureAwait(false);
        }
    }

    private async Task SendAsync(PushNotification n)
    {
        var devices = new List<PushDeviceRecord>();
        foreach (var d in _devices.Values)
        {
            if (d.UserKey != n.UserKey)
            {
                continue;
            }
            if (_accounts.GetSession(d.SessionKey) is not { Revoked: false } session
                || session.ExpiresAt < _time.GetUtcNow().ToUnixTimeMilliseconds())
            {
                Unregister(d.SessionKey); // a signed-out or wiped device gets nothing more
                continue;
            }
            if (n.OfflineOnly && _connections.ForSession(d.SessionKey).Count > 0)
            {
                continue;
            }
            devices.Add(d);
        }
        if (devices.Count == 0)
        {
            return;
        }
        var rejected = await _gateway.NotifyAsync(n, devices, _stop.Token).ConfigureAwait(false);
        foreach (var key in rejected)
        {
            foreach (var d in devices.Where(d => d.PushKey == key))
            {
                Unregister(d.SessionKey);
            }
        }
    }

    public void Dispose()
    {
        // Called by AttentionStartup.StopAsync and again by the container.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _work.Writer.TryComplete();
        _stop.Cancel();
        try
        {
            _loop?.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        _stop.Dispose();
    }

    private readonly record struct Work(IReadOnlyList<CommittedEvent>? Batch, PushNotification? Notification);

    [LoggerMessage(EventId = 9304, Level = LogLevel.Error, Message = "Push fault")]
    private static partial void LogPushFault(ILogger logger, Exception ex);
}
