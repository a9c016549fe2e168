using TeamComms.Protocol.Events;

namespace TeamComms.Server.Rooms;

/// <summary>What the directory wants for one user in one room.</summary>
internal enum WantKind
{
    /// <summary>Joined because a directory rule matches (a managed member).</summary>
    JoinManaged,
    /// <summary>Joined because an admin added them by hand.</summary>
    JoinManual,
    /// <summary>Not a member any more, if the membership came from a rule; members who joined otherwise stay.</summary>
    LeaveIfManaged,
    /// <summary>Not a member, however they joined (exclusions, offboarding).</summary>
    Leave,
    /// <summary>Keep the membership, with <see cref="MembershipWant.Role"/>.</summary>
    SetRole,
}

/// <summary>One desired membership state, applied by the sequencer against the room's working state.</summary>
internal sealed record MembershipWant(long RoomKey, string UserId, long UserKey, WantKind Kind, string Reason, string? Role = null)
{
    /// <summary>
    /// The member event that moves <paramref name="current"/> to what <paramref name="kind"/> wants, or null when
    /// nothing needs to change. Archived rooms are frozen, except that removals still apply (a leaver loses access
    /// to archived rooms too).
    /// </summary>
    public static (string Membership, string Role, bool Managed)? Decide(MemberInfo? current, WantKind kind, bool archived, string? role)
    {
        var joined = current?.Membership == Membership.Join;
        switch (kind)
        {
            case WantKind.JoinManaged:
                return archived || joined ? null : (Membership.Join, RoomRoles.Member, true);
            case WantKind.JoinManual:
                return archived || joined ? null : (Membership.Join, role ?? RoomRoles.Member, false);
            case WantKind.LeaveIfManaged:
                return archived || !joined || !current!.Managed ? null : (Membership.Leave, current.Role, false);
            case WantKind.Leave:
                return current?.Membership is Membership.Join or Membership.Invite ? (Membership.Leave, current.Role, false) : null;
            case WantKind.SetRole:
                return archived || !joined || role is null || role == current!.Role ? null : (Membership.Join, role, current.Managed);
            default:
                return null;
        }
    }
}
