using TeamComms.Protocol;

namespace TeamComms.Server.Accounts;

/// <summary>
/// The separation of the security roles (docs/security.md, "Separated roles"). Compliance officers read exported
/// content; security officers decide who receives exports (they approve officers' export recipients and change the
/// escrow key). So no account may hold both roles: an assignment that would combine them is refused, and an account
/// that holds both anyway (roles given before this rule existed) is refused every action of either side that the
/// separation protects, until an admin removes one of the roles. And nobody gives themselves an officer role.
/// </summary>
internal static class RoleSeparation
{
    /// <summary>Roles that no single account may hold together.</summary>
    public static IReadOnlyList<string> Exclusive { get; } = [CompanyRoles.SecurityOfficer, CompanyRoles.ComplianceOfficer];

    /// <summary>Roles nobody may assign to themselves.</summary>
    public static IReadOnlyList<string> NotSelfAssignable { get; } = [CompanyRoles.SecurityOfficer, CompanyRoles.ComplianceOfficer];

    /// <summary>Refuses a role set that combines the exclusive roles.</summary>
    public static void CheckAssignment(IReadOnlyCollection<string> roles, string userId)
    {
        if (Exclusive.All(roles.Contains))
        {
            throw new ApiException(ErrorCode.RoleConflict,
                $"{userId} cannot be both security_officer and compliance_officer: whoever reads exported content must not also decide who receives exports (docs/security.md)");
        }
    }

    /// <summary>Refuses an officer role given to oneself.</summary>
    public static void CheckNotSelf(IEnumerable<string> added, string targetUserId, string actor)
    {
        if (targetUserId == actor && added.FirstOrDefault(NotSelfAssignable.Contains) is { } role)
        {
            throw new ApiException(ErrorCode.Forbidden, $"nobody gives themselves the role {role}: ask another admin");
        }
    }

    /// <summary>Refuses a protected action to a session that holds both exclusive roles.</summary>
    public static void RefuseCombined(AuthenticatedSession session)
    {
        if (Exclusive.All(session.Roles.Contains))
        {
            throw new ApiException(ErrorCode.RoleConflict,
                $"{session.UserId} holds both security_officer and compliance_officer, which must stay apart; an admin must remove one before this action is allowed");
        }
    }
}
