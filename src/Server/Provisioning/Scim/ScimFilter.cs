using System.Text.RegularExpressions;

namespace TeamComms.Server.Provisioning.Scim;

/// <summary>
/// The filters identity providers send to find a resource before creating it (RFC 7644 §3.4.2.2, the subset Okta and
/// Entra ID use): <c>attribute eq "value"</c>, attribute names case-insensitive, for example
/// <c>userName eq "alice@acme.example"</c>, <c>externalId eq "…"</c>, <c>displayName eq "Sales"</c>. Anything else is
/// refused with <c>invalidFilter</c> rather than answered wrongly.
/// </summary>
internal static partial class ScimFilter
{
    public static (string Attribute, string Value)? Parse(string? filter, IReadOnlyCollection<string> attributes)
    {
        if (string.IsNullOrWhiteSpace(filter))
        {
            return null;
        }
        var match = EqFilter().Match(filter.Trim());
        if (!match.Success)
        {
            throw ScimException.InvalidFilter($"unsupported filter '{filter}'; this server supports 'attribute eq \"value\"'");
        }
        var attribute = match.Groups["attr"].Value;
        var known = attributes.FirstOrDefault(a => a.Equals(attribute, StringComparison.OrdinalIgnoreCase))
            ?? throw ScimException.InvalidFilter($"cannot filter on '{attribute}'; filterable attributes are {string.Join(", ", attributes)}");
        var value = match.Groups["value"].Value.Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
        return (known, value);
    }

    [GeneratedRegex("""^(?<attr>[A-Za-z][A-Za-z0-9._:]*)\s+(?i:eq)\s+"(?<value>(?:[^"\\]|\\.)*)"$""")]
    private static partial Regex EqFilter();
}
