using System.Text.RegularExpressions;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Moderation;

/// <summary>
/// The link policy of a room's content rules: <c>allow</c> (any link), <c>block</c> (no links to other sites than the
/// company's own) or <c>allowlist</c> (the company's own and the listed domains, with their subdomains). A link is a
/// URL with a scheme (<c>https://…</c>, <c>http://…</c>, <c>ftp://…</c>) or starting with <c>www.</c>.
/// </summary>
internal static partial class LinkRules
{
    public const string Allow = "allow";
    public const string Block = "block";
    public const string Allowlist = "allowlist";

    public static bool IsValidPolicy(string policy) => policy is Allow or Block or Allowlist;

    [GeneratedRegex(@"(?i)\b(?:(?:https?|ftp)://|www\.)[^\s<>""'`]+", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex LinkPattern();

    /// <summary>The first link in <paramref name="texts"/> the rules refuse, or null.</summary>
    public static string? FirstRefused(IEnumerable<string> texts, ContentRulesRecord rules, IReadOnlyList<string> internalDomains)
    {
        var policy = rules.LinkPolicy ?? Allow;
        if (policy == Allow)
        {
            return null;
        }
        foreach (var text in texts)
        {
            MatchCollection matches;
            try
            {
                matches = LinkPattern().Matches(text);
                _ = matches.Count;
            }
            catch (RegexMatchTimeoutException)
            {
                return "(text too complex to check for links)";
            }
            foreach (Match m in matches)
            {
                var link = m.Value.TrimEnd('.', ',', ';', ':', '!', '?', ')', ']', '}');
                var host = HostOf(link);
                if (host is null)
                {
                    return link;
                }
                if (Covered(host, internalDomains))
                {
                    continue;
                }
                if (policy == Allowlist && Covered(host, rules.LinkDomains ?? []))
                {
                    continue;
                }
                return link;
            }
        }
        return null;
    }

    private static string? HostOf(string link)
    {
        var url = link.StartsWith("www.", StringComparison.OrdinalIgnoreCase) ? "http://" + link : link;
        return Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.IdnHost.Length > 0 ? uri.IdnHost.ToLowerInvariant().TrimEnd('.') : null;
    }

    /// <summary>True when <paramref name="host"/> is one of <paramref name="domains"/> or a subdomain of one.</summary>
    public static bool Covered(string host, IEnumerable<string> domains)
    {
        foreach (var d in domains)
        {
            var domain = NormalizeDomain(d);
            if (host == domain || host.EndsWith("." + domain, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Lower case, without a port or trailing dot.</summary>
    public static string NormalizeDomain(string domain)
    {
        var d = domain.Trim().ToLowerInvariant().TrimEnd('.');
        var colon = d.LastIndexOf(':');
        return colon > 0 && !d.Contains(']', StringComparison.Ordinal) ? d[..colon] : d;
    }

    /// <summary>True for a plausible DNS name (letters, digits, hyphens, dots; 1 to 253 characters).</summary>
    public static bool IsValidDomain(string domain) =>
        domain.Length is > 0 and <= 253 && domain.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.') && !domain.StartsWith('.') && !domain.Contains("..", StringComparison.Ordinal);
}
