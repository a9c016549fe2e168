using TeamComms.Protocol;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Moderation;

/// <summary>
/// Attachment rules of a room: the largest file and the allowed media types (<c>image/png</c>, <c>image/*</c>,
/// <c>*/*</c>), merged over the company's defaults, and the parsing of a <c>room.content_rules</c> change.
/// </summary>
internal static class AttachmentRules
{
    /// <summary>The largest attachment any rule may allow (2 GiB).</summary>
    public const long HardMaxBytes = 2L * 1024 * 1024 * 1024;

    /// <summary>The room's rules with every unset field taken from <paramref name="defaults"/>.</summary>
    public static ContentRulesRecord Merge(ContentRulesRecord? room, ContentRulesRecord defaults) => room is null ? defaults : new(
        room.MaxAttachmentBytes ?? defaults.MaxAttachmentBytes,
        room.AttachmentTypes ?? defaults.AttachmentTypes,
        room.LinkPolicy ?? defaults.LinkPolicy,
        room.LinkDomains ?? defaults.LinkDomains);

    /// <summary>Null when a file of <paramref name="contentType"/> and <paramref name="size"/> bytes is allowed; else the refusal.</summary>
    public static (ErrorCode Code, string Message)? Refuse(ContentRulesRecord rules, string contentType, long size)
    {
        if (rules.MaxAttachmentBytes is { } max && size > max)
        {
            return (ErrorCode.AttachmentTooLarge, $"this room allows attachments of at most {max} bytes; this one has {size}");
        }
        var types = rules.AttachmentTypes ?? [];
        if (!types.Any(t => Matches(t, contentType)))
        {
            return (ErrorCode.AttachmentTypeNotAllowed, types.Count == 0
                ? "this room allows no attachments"
                : $"this room allows attachments of type {string.Join(", ", types)}; not {contentType}");
        }
        return null;
    }

    /// <summary>True when the media type <paramref name="contentType"/> (parameters ignored) matches <paramref name="pattern"/>.</summary>
    public static bool Matches(string pattern, string contentType)
    {
        var type = MediaType(contentType);
        var p = pattern.Trim().ToLowerInvariant();
        return p == "*/*" || p == type || (p.EndsWith("/*", StringComparison.Ordinal) && type.StartsWith(p[..^1], StringComparison.Ordinal));
    }

    /// <summary>The bare media type, lower case, without parameters.</summary>
    public static string MediaType(string contentType)
    {
        var semicolon = contentType.IndexOf(';');
        return (semicolon >= 0 ? contentType[..semicolon] : contentType).Trim().ToLowerInvariant();
    }

    /// <summary>True for <c>type/subtype</c>, <c>type/*</c> or <c>*/*</c> made of token characters.</summary>
    public static bool IsValidPattern(string pattern)
    {
        var slash = pattern.IndexOf('/');
        if (slash <= 0 || slash == pattern.Length - 1 || pattern.Length > 255)
        {
            return false;
        }
        var (major, minor) = (pattern[..slash], pattern[(slash + 1)..]);
        return (major == "*" ? minor == "*" : IsToken(major)) && (minor == "*" || IsToken(minor));
    }

    private static bool IsToken(string s) => s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '+' or '.' or '_');

    /// <summary>
    /// Parses the content of a content-rules change, <c>{attachments?: {max_bytes?, types?}, links?: {policy?, domains?}}</c>,
    /// into the rules it sets and the canonical event content. Throws <see cref="ProtocolException"/> for bad values.
    /// </summary>
    public static (ContentRulesRecord Rules, Dictionary<string, object?> Content) Parse(FieldMap content)
    {
        long? maxBytes = null;
        List<string>? types = null;
        string? policy = null;
        List<string>? domains = null;
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var key in content.Map.Keys)
        {
            if (key is not ("attachments" or "links"))
            {
                ProtocolException.Throw(ErrorCode.BadField, $"unknown content rule '{key}': rules are attachments {{max_bytes, types}} and links {{policy, domains}}");
            }
        }
        if (content.OptionalMap("attachments") is { } a)
        {
            var part = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (a.OptionalInt("max_bytes") is { } max)
            {
                if (max is < 1 or > HardMaxBytes)
                {
                    ProtocolException.Throw(ErrorCode.BadField, $"max_bytes is 1 to {HardMaxBytes}");
                }
                maxBytes = max;
                part["max_bytes"] = max;
            }
            if (a.OptionalStrings("types") is { } t)
            {
                if (t.Count > 50 || t.FirstOrDefault(x => !IsValidPattern(x.Trim())) is { } bad && bad is not null)
                {
                    ProtocolException.Throw(ErrorCode.BadField, "types is a list of at most 50 media types such as image/png, image/* or */*");
                }
                types = [.. t.Select(x => x.Trim().ToLowerInvariant()).Distinct()];
                part["types"] = types.Cast<object?>().ToList();
            }
            result["attachments"] = part;
        }
        if (content.OptionalMap("links") is { } l)
        {
            var part = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (l.OptionalString("policy", 16) is { } p)
            {
                if (!LinkRules.IsValidPolicy(p))
                {
                    ProtocolException.Throw(ErrorCode.BadField, "the link policy is allow, block or allowlist");
                }
                policy = p;
                part["policy"] = p;
            }
            if (l.OptionalStrings("domains") is { } d)
            {
                var normalized = d.Select(LinkRules.NormalizeDomain).Distinct().ToList();
                if (normalized.Count > 100 || normalized.Any(x => !LinkRules.IsValidDomain(x)))
                {
                    ProtocolException.Throw(ErrorCode.BadField, "domains is a list of at most 100 domain names such as example.com");
                }
                domains = normalized;
                part["domains"] = normalized.Cast<object?>().ToList();
            }
            result["links"] = part;
        }
        return (new ContentRulesRecord(maxBytes, types, policy, domains), result);
    }
}
