using System.Collections.Immutable;
using TeamComms.Server.Storage;

namespace TeamComms.Server.CompanyDirectory;

/// <summary>One person in the directory, as the directory's in-memory snapshot holds them. Immutable.</summary>
internal sealed record DirectoryEntry
{
    // Rebuilt whenever Profile is set, never mutated afterwards, so copies made with 'with' may share it.
    private Dictionary<string, string> _attributes = new(StringComparer.Ordinal);
    private readonly ProfileRecord _profile = null!;

    public required long Key { get; init; }
    public required string UserId { get; init; }
    public required string Username { get; init; }
    public required bool Active { get; init; }

    public required ProfileRecord Profile
    {
        get => _profile;
        init
        {
            _profile = value;
            var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
            void Put(string name, string? v)
            {
                if (!string.IsNullOrWhiteSpace(v))
                {
                    attributes[name] = RuleExpression.Normalize(v);
                }
            }
            Put("display_name", value.DisplayName);
            Put("email", value.Email);
            Put("title", value.Title);
            Put("department", value.Department);
            Put("team", value.Team);
            Put("location", value.Location);
            Put("manager", value.Manager);
            Put("employment_status", value.EmploymentStatus);
            Put("time_zone", value.TimeZone);
            Put("employee_number", value.EmployeeNumber);
            if (value.Custom is { } custom)
            {
                foreach (var (k, v) in custom)
                {
                    Put("custom." + k, v);
                }
            }
            _attributes = attributes;
        }
    }

    public ImmutableHashSet<long> Groups { get; init; } = [];
    public IReadOnlyList<string> Roles { get; init; } = [];
    public bool HasPassword { get; init; }
    public long CreatedAt { get; init; }

    /// <summary>Visible to provisioning (not deleted through SCIM).</summary>
    public bool Deleted => Profile.Deleted;

    /// <summary>Normalized (trimmed, lower-case) single-valued attributes, for rules.</summary>
    public IReadOnlyDictionary<string, string> Attributes => _attributes;
}

/// <summary>A directory group and its members.</summary>
internal sealed class GroupState(GroupRecord record, ImmutableHashSet<long> members)
{
    public GroupRecord Record { get; } = record;
    public ImmutableHashSet<long> Members { get; } = members;
    public string NormalizedName { get; } = RuleExpression.Normalize(record.DisplayName);
}

/// <summary>A rule as stored and as parsed.</summary>
internal sealed record CompiledRule(RuleRecord Record, RuleExpression Expression);

/// <summary>How a room's membership follows the directory: its rules, and the admins' manual members and exclusions.</summary>
internal sealed record BindingState(long RoomKey, string RoomId, ImmutableHashSet<long> Rules, ImmutableHashSet<long> Include, ImmutableHashSet<long> Exclude)
{
    public bool IsEmpty => Rules.IsEmpty && Include.IsEmpty && Exclude.IsEmpty;
}

/// <summary>Evaluates rules against one entry, resolving group names through a group table.</summary>
internal sealed class RuleSubject(IReadOnlyDictionary<long, GroupState> groups) : RuleExpression.IAttributeSource
{
    private DirectoryEntry _entry = null!;

    public RuleSubject For(DirectoryEntry entry)
    {
        _entry = entry;
        return this;
    }

    public IEnumerable<string> Values(string attribute)
    {
        switch (attribute)
        {
            case "username":
                return [_entry.Username];
            case "user_id":
                return [_entry.UserId];
            case "group":
                return GroupNames();
            case "group_id":
                return GroupIds();
            case "role":
                return _entry.Roles;
            default:
                return _entry.Attributes.TryGetValue(attribute, out var v) ? [v] : [];
        }
    }

    public bool AnyIn(string attribute, IReadOnlySet<string> values)
    {
        switch (attribute)
        {
            case "username":
                return values.Contains(_entry.Username);
            case "user_id":
                return values.Contains(_entry.UserId);
            case "group":
                foreach (var key in _entry.Groups)
                {
                    if (groups.TryGetValue(key, out var g) && values.Contains(g.NormalizedName))
                    {
                        return true;
                    }
                }
                return false;
            case "group_id":
                foreach (var key in _entry.Groups)
                {
                    if (groups.TryGetValue(key, out var g) && values.Contains(g.Record.Id))
                    {
                        return true;
                    }
                }
                return false;
            case "role":
                foreach (var role in _entry.Roles)
                {
                    if (values.Contains(role))
                    {
                        return true;
                    }
                }
                return false;
            default:
                return _entry.Attributes.TryGetValue(attribute, out var v) && values.Contains(v);
        }
    }

    private IEnumerable<string> GroupIds()
    {
        foreach (var key in _entry.Groups)
        {
            if (groups.TryGetValue(key, out var g))
            {
                yield return g.Record.Id;
            }
        }
    }

    private IEnumerable<string> GroupNames()
    {
        foreach (var key in _entry.Groups)
        {
            if (groups.TryGetValue(key, out var g))
            {
                yield return g.NormalizedName;
            }
        }
    }
}
