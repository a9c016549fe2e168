using TeamComms.Protocol;

namespace TeamComms.Server.Workplace.Alerts;

/// <summary>Where an alert goes: a room, one person (their direct room), or an emergency broadcast to a rule, a group or everyone.</summary>
internal sealed record AlertTarget(string Kind, string? Value)
{
    public const string Room = "room";
    public const string User = "user";
    public const string Rule = "rule";
    public const string Group = "group";
    public const string Company = "company";

    public bool IsBroadcast => Kind is Rule or Group or Company;

    /// <summary>The broadcast room's key in storage: <c>rule:…</c>, <c>group:…</c> or <c>company</c>.</summary>
    public string BroadcastKey => Kind == Company ? Company : Kind + ":" + Value;

    /// <summary>Reads exactly one of <c>room</c>, <c>user</c>, <c>rule</c>, <c>group</c> or <c>company: true</c>.</summary>
    public static AlertTarget From(string? room, string? user, string? rule, string? group, bool company)
    {
        var given = (room is null ? 0 : 1) + (user is null ? 0 : 1) + (rule is null ? 0 : 1) + (group is null ? 0 : 1) + (company ? 1 : 0);
        if (given != 1)
        {
            throw new ApiException(ErrorCode.BadField, "give exactly one of room, user, rule, group or company: true");
        }
        return room is not null ? new(Room, room)
            : user is not null ? new(User, user)
            : rule is not null ? new(Rule, rule)
            : group is not null ? new(Group, group)
            : new(Company, null);
    }
}
