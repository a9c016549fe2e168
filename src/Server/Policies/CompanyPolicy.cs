using TeamComms.Protocol;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Policies;

/// <summary>
/// The company's policies, enforced by the sequencer for every path that creates rooms or invites: who may create
/// rooms, who may start direct conversations with whom, and who may invite. Refusals name the policy, so users and
/// admins see why. Reads the directory snapshot only, so it costs a few dictionary lookups.
/// </summary>
internal sealed class CompanyPolicy(DirectoryState state) : IRoomPolicy
{
    public const string Everyone = "everyone";
    public const string Roles = "roles";
    public const string Admins = "admins";
    public const string SameDepartment = "same_department";
    public const string Allowlist = "allowlist";
    public const string Moderators = "moderators";

    public string? CheckCreate(Actor actor, string kind, IReadOnlyList<string> invite)
    {
        var snapshot = state.Current;
        var policy = snapshot.Policy;
        var me = snapshot.Find(actor.UserId);
        if (IsExempt(me, policy))
        {
            return null;
        }
        if (kind == RoomKinds.Direct)
        {
            foreach (var target in invite)
            {
                if (target != actor.UserId && CheckDirect(snapshot, policy, me, target) is { } refusal)
                {
                    return refusal;
                }
            }
            return null;
        }
        switch (policy.RoomCreation)
        {
            case Admins:
                return "company policy: only admins may create rooms";
            case Roles when !HasAnyRole(me, policy.RoomCreationRoles):
                return $"company policy: only people with the role {Either(policy.RoomCreationRoles)} may create rooms";
        }
        if (invite.Any(i => i != actor.UserId) && policy.Invites == Roles && !HasAnyRole(me, policy.InviteRoles))
        {
            return $"company policy: only people with the role {Either(policy.InviteRoles)} may invite";
        }
        return null;
    }

    public string? CheckInvite(Actor actor, RoomState room, string target)
    {
        var snapshot = state.Current;
        var policy = snapshot.Policy;
        var me = snapshot.Find(actor.UserId);
        if (IsExempt(me, policy))
        {
            return null;
        }
        switch (policy.Invites)
        {
            case Moderators when RoomRoles.Rank(room.RoleOf(actor.UserId)) < RoomRoles.Rank(RoomRoles.Moderator):
                return "company policy: only room moderators and owners may invite";
            case Roles when !HasAnyRole(me, policy.InviteRoles):
                return $"company policy: only people with the role {Either(policy.InviteRoles)} may invite";
        }
        return room.Kind == RoomKinds.Direct ? CheckDirect(snapshot, policy, me, target) : null;
    }

    private static string? CheckDirect(DirectorySnapshot snapshot, PolicyRecord policy, DirectoryEntry? me, string targetId)
    {
        if (policy.DirectMessages == Everyone)
        {
            return null;
        }
        var target = snapshot.Find(targetId);
        if (policy.DirectAllowlist.Any(a => Selects(snapshot, a.From, me) && Selects(snapshot, a.To, target)))
        {
            return null;
        }
        if (policy.DirectMessages == SameDepartment)
        {
            var mine = me?.Attributes.GetValueOrDefault("department");
            var theirs = target?.Attributes.GetValueOrDefault("department");
            return mine is not null && mine == theirs
                ? null
                : $"company policy: direct messages are allowed within your department only ({targetId} is in {target?.Profile.Department ?? "no department"}, you are in {me?.Profile.Department ?? "no department"})";
        }
        return $"company policy: direct messages are allowed between allowlisted people only, and {targetId} is not on your list";
    }

    /// <summary><c>*</c>, <c>user:&lt;id&gt;</c>, <c>department:&lt;name&gt;</c>, <c>group:&lt;name&gt;</c> or <c>role:&lt;role&gt;</c>.</summary>
    public static bool Selects(DirectorySnapshot snapshot, string selector, DirectoryEntry? who)
    {
        if (selector == "*")
        {
            return who is not null;
        }
        if (who is null)
        {
            return false;
        }
        var colon = selector.IndexOf(':');
        var kind = selector[..colon];
        var value = RuleExpression.Normalize(selector[(colon + 1)..]);
        return kind switch
        {
            "user" => who.UserId == selector[(colon + 1)..],
            "department" => who.Attributes.GetValueOrDefault("department") == value,
            "group" => who.Groups.Any(g => snapshot.Groups.TryGetValue(g, out var group) && group.NormalizedName == value),
            "role" => who.Roles.Contains(selector[(colon + 1)..]),
            _ => false,
        };
    }

    /// <summary>Checks a selector's form; throws <see cref="ApiException"/> when it cannot be one.</summary>
    public static void ValidateSelector(string selector)
    {
        if (selector == "*")
        {
            return;
        }
        var colon = selector.IndexOf(':');
        if (colon <= 0 || colon == selector.Length - 1 || selector[..colon] is not ("user" or "department" or "group" or "role"))
        {
            throw new ApiException(ErrorCode.BadRequest, $"'{selector}' is not a selector: use *, user:<id>, department:<name>, group:<name> or role:<role>");
        }
    }

    private static bool IsExempt(DirectoryEntry? me, PolicyRecord policy) => HasAnyRole(me, policy.ExemptRoles);

    private static bool HasAnyRole(DirectoryEntry? me, IReadOnlyList<string> roles) => me is not null && me.Roles.Any(roles.Contains);

    private static string Either(IReadOnlyList<string> roles) => roles.Count == 0 ? "(none configured)" : string.Join(" or ", roles);
}
