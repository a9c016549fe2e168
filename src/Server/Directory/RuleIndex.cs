namespace TeamComms.Server.CompanyDirectory;

/// <summary>
/// The rules bound to rooms, indexed by their <see cref="RuleExpression.Requirement"/>: for a person, the only rules
/// that can match are those whose required attribute value they have, plus the few rules without a requirement.
/// With 200 rooms of the form <c>department = X and location = Y</c>, a person is checked against 4 rules, not 200.
/// </summary>
internal sealed class RuleIndex
{
    private readonly Dictionary<string, Dictionary<string, List<long>>> _byValue = new(StringComparer.Ordinal);
    private readonly List<long> _unindexed = [];

    public RuleIndex(DirectorySnapshot snapshot, IEnumerable<long> boundRules)
    {
        foreach (var key in boundRules)
        {
            if (!snapshot.Rules.TryGetValue(key, out var rule))
            {
                continue;
            }
            if (rule.Expression.Requirement is not { } requirement)
            {
                _unindexed.Add(key);
                continue;
            }
            if (!_byValue.TryGetValue(requirement.Attribute, out var byValue))
            {
                _byValue[requirement.Attribute] = byValue = new Dictionary<string, List<long>>(StringComparer.Ordinal);
            }
            foreach (var value in requirement.Values)
            {
                if (!byValue.TryGetValue(value, out var rules))
                {
                    byValue[value] = rules = [];
                }
                rules.Add(key);
            }
        }
    }

    /// <summary>Adds to <paramref name="into"/> every bound rule that could match <paramref name="entry"/>.</summary>
    public void Candidates(DirectoryEntry? entry, RuleSubject subject, HashSet<long> into)
    {
        if (entry is not { Active: true, Deleted: false })
        {
            return;
        }
        into.UnionWith(_unindexed);
        subject.For(entry);
        foreach (var (attribute, byValue) in _byValue)
        {
            foreach (var value in subject.Values(attribute))
            {
                if (byValue.TryGetValue(value, out var rules))
                {
                    into.UnionWith(rules);
                }
            }
        }
    }
}
