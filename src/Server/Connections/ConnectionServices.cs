using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TeamComms.Server.Accounts;
using TeamComms.Server.Api;
using TeamComms.Server.FanOut;
using TeamComms.Server.Hosting;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Connections;

/// <summary>What every connection needs, resolved once.</summary>
internal sealed class ConnectionServices(
    IRoomLog log,
    FanOutHub fanOut,
    RoomRegistry rooms,
    RoomStore roomStore,
    EventStore events,
    AccountStore accountStore,
    AccountService accounts,
    ConnectionRegistry registry,
    ClientCalls calls,
    TimeProvider time,
    IOptions<ConnectionOptions> options,
    ServerMetrics metrics,
    ILoggerFactory loggers,
    IDeliveryObserver? deliveryObserver = null)
{
    /// <summary>Learns of devices' "received up to here" confirmations (the workplace features' delivery receipts).</summary>
    public IDeliveryObserver? DeliveryObserver { get; } = deliveryObserver;

    public IRoomLog Log { get; } = log;
    public FanOutHub FanOut { get; } = fanOut;
    public RoomRegistry Rooms { get; } = rooms;
    public RoomStore RoomStore { get; } = roomStore;
    public EventStore Events { get; } = events;
    public AccountStore AccountStore { get; } = accountStore;
    public AccountService Accounts { get; } = accounts;
    public ConnectionRegistry Registry { get; } = registry;
    public ClientCalls Calls { get; } = calls;
    public TimeProvider Time { get; } = time;
    public ConnectionOptions Options { get; } = options.Value;
    public ServerMetrics Metrics { get; } = metrics;
    public ILogger Logger { get; } = loggers.CreateLogger("TeamComms.Server.Connections");
    private long _nextId;

    public long NextConnectionId() => Interlocked.Increment(ref _nextId);
}
