using TeamComms.Protocol;
using TeamComms.Protocol.Events;

namespace TeamComms.Server.Rooms;

internal sealed partial class LocalRoomLog
{
    /// <summary>
    /// A room created by an admin with its members joined: the create proposal (owner = the admin) followed by one
    /// join per member, all in the same batch. Every member is checked like an invitee; one bad member refuses the
    /// whole room.
    /// </summary>
    private (ErrorCode Code, string Message)? SequenceProvision(Request request, ProvisionRoomProposal p)
    {
        var members = p.Members.Distinct(StringComparer.Ordinal).Where(m => m != p.Actor.UserId).ToList();
        foreach (var member in members)
        {
            if (CheckLocalUser(member) is { } error)
            {
                return error;
            }
        }
        var create = new CreateRoomProposal(p.Actor, p.Name, "", RoomKinds.Group, HistoryVisibilities.Full, InvitePolicies.Moderators, [])
        {
            PresetRoomId = p.PresetRoomId,
        };
        if (SequenceCreate(request, create) is { } createError)
        {
            return createError;
        }
        var room = _rooms.Find(request.RoomId!)!;
        foreach (var member in members)
        {
            request.Events.Add(AppendMember(room, p.Actor.UserId, member, Membership.Join, RoomRoles.Member, null));
        }
        return null;
    }
}
