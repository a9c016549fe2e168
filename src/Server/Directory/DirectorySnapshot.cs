using System.Collections.Immutable;
using TeamComms.Server.Storage;

namespace TeamComms.Server.CompanyDirectory;

/// <summary>
/// The whole directory in memory: people, groups, rules, room bindings, roles and policy. Immutable; the directory
/// service builds the next one from a committed transaction and swaps it in, so readers (searches, the sequencer's
/// policy checks) never lock and never see half of a change.
/// </summary>
internal sealed class DirectorySnapshot
{
    public ImmutableDictionary<long, DirectoryEntry> Users { get; init; } = ImmutableDictionary<long, DirectoryEntry>.Empty;
    public ImmutableDictionary<string, long> ByUserId { get; init; } = ImmutableDictionary.Create<string, long>(StringComparer.Ordinal);
    /// <summary>Lower-cased SCIM userName → user, for entries not deleted.</summary>
    public ImmutableDictionary<string, long> ByScimName { get; init; } = ImmutableDictionary.Create<string, long>(StringComparer.Ordinal);
    /// <summary>SCIM externalId → user, for entries not deleted.</summary>
    public ImmutableDictionary<string, long> ByExternalId { get; init; } = ImmutableDictionary.Create<string, long>(StringComparer.Ordinal);
    public ImmutableDictionary<long, GroupState> Groups { get; init; } = ImmutableDictionary<long, GroupState>.Empty;
    public ImmutableDictionary<long, CompiledRule> Rules { get; init; } = ImmutableDictionary<long, CompiledRule>.Empty;
    public ImmutableDictionary<long, BindingState> Bindings { get; init; } = ImmutableDictionary<long, BindingState>.Empty;
    public ImmutableDictionary<string, RoleRecord> CustomRoles { get; init; } = ImmutableDictionary.Create<string, RoleRecord>(StringComparer.Ordinal);
    public PolicyRecord Policy { get; init; } = new();

    public DirectoryEntry? Find(string userId) => ByUserId.TryGetValue(userId, out var key) ? Users.GetValueOrDefault(key) : null;

    public GroupState? FindGroup(string idOrName)
    {
        foreach (var g in Groups.Values)
        {
            if (g.Record.Id == idOrName)
            {
                return g;
            }
        }
        var normalized = RuleExpression.Normalize(idOrName);
        return Groups.Values.FirstOrDefault(g => g.NormalizedName == normalized);
    }

    public CompiledRule? FindRule(string name) => Rules.Values.FirstOrDefault(r => r.Record.Name == name);

    /// <summary>Rooms bound to each rule.</summary>
    public Dictionary<long, List<long>> RoomsByRule()
    {
        var result = new Dictionary<long, List<long>>();
        foreach (var binding in Bindings.Values)
        {
            foreach (var rule in binding.Rules)
            {
                if (!result.TryGetValue(rule, out var rooms))
                {
                    result[rule] = rooms = [];
                }
                rooms.Add(binding.RoomKey);
            }
        }
        return result;
    }

    /// <summary>True when <paramref name="role"/> is a built-in or defined custom role.</summary>
    public bool IsRole(string role) => CompanyRoleNames.BuiltIn.Contains(role) || CustomRoles.ContainsKey(role);
}

/// <summary>The built-in company roles.</summary>
internal static class CompanyRoleNames
{
    public static readonly IReadOnlyList<string> BuiltIn =
    [
        Accounts.CompanyRoles.Admin, Accounts.CompanyRoles.SecurityOfficer, Accounts.CompanyRoles.ComplianceOfficer,
        Accounts.CompanyRoles.Hr, Accounts.CompanyRoles.Moderator,
    ];
}
