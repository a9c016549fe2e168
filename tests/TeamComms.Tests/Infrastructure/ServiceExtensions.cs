using Microsoft.Extensions.DependencyInjection;
using TeamComms.Server.Connections;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Tests.Infrastructure;

internal static class ServiceExtensions
{
    public static AccountStore GetAccountStore(this IServiceProvider sp) => sp.GetRequiredService<AccountStore>();
    public static ConnectionRegistry GetConnectionRegistry(this IServiceProvider sp) => sp.GetRequiredService<ConnectionRegistry>();
    public static RocksStore GetRocksStore(this IServiceProvider sp) => sp.GetRequiredService<RocksStore>();
    public static IRoomLog GetRoomLog(this IServiceProvider sp) => sp.GetRequiredService<IRoomLog>();
    public static RoomRegistry GetRoomRegistry(this IServiceProvider sp) => sp.GetRequiredService<RoomRegistry>();
    public static EventStore GetEventStore(this IServiceProvider sp) => sp.GetRequiredService<EventStore>();
}
