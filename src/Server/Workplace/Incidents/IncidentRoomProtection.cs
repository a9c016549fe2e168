using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Workplace.Incidents;

/// <summary>Incident rooms are confidential: no admin adds, excludes or re-roles anyone by hand; the incident roles decide.</summary>
internal sealed class IncidentRoomProtection(AttentionStore store) : IRoomProtection
{
    public string? RefuseAdminChange(long roomKey) => store.IncidentByRoom(roomKey) is null
        ? null
        : "incident rooms are confidential: their members are the reporter and the people with the workplace policy's incident roles";
}
