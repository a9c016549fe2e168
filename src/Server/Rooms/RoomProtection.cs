using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TeamComms.Protocol;

namespace TeamComms.Server.Rooms;

/// <summary>
/// Rooms whose membership even company admins may not change by hand (confidential incident rooms): features register
/// an <see cref="IRoomProtection"/>, and the admin endpoints that add members, exclusions, rules or roles ask it first.
/// </summary>
internal interface IRoomProtection
{
    /// <summary>Why admins may not change this room's members or roles, or null when they may.</summary>
    string? RefuseAdminChange(long roomKey);
}

internal static class RoomProtection
{
    /// <summary>Throws <c>forbidden</c> when a registered protection refuses changes to <paramref name="room"/>.</summary>
    public static void Check(HttpContext context, Room room)
    {
        foreach (var protection in context.RequestServices.GetServices<IRoomProtection>())
        {
            if (protection.RefuseAdminChange(room.Key) is { } reason)
            {
                throw new ApiException(ErrorCode.Forbidden, reason);
            }
        }
    }
}
