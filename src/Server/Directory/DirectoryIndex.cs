using TeamComms.Server.Storage;

namespace TeamComms.Server.CompanyDirectory;

/// <summary>
/// What the search index holds for a person: their display name and each later word of it (so "smi" finds
/// "Anna Smith"), their department and their title, all lower-cased. Only active people are indexed.
/// </summary>
internal static class DirectoryIndex
{
    public static HashSet<(byte Field, string Value)> Terms(DirectoryEntry? entry)
    {
        var terms = new HashSet<(byte, string)>();
        if (entry is not { Active: true, Deleted: false })
        {
            return terms;
        }
        foreach (var suffix in NameSuffixes(entry.Profile.DisplayName))
        {
            terms.Add((KeyCodec.IndexName, suffix));
        }
        if (Clean(entry.Profile.Department) is { } department)
        {
            terms.Add((KeyCodec.IndexDepartment, department));
        }
        if (Clean(entry.Profile.Title) is { } title)
        {
            terms.Add((KeyCodec.IndexTitle, title));
        }
        return terms;
    }

    /// <summary>"Anna Maria Lopez" → "anna maria lopez", "maria lopez", "lopez".</summary>
    public static List<string> NameSuffixes(string displayName)
    {
        var result = new List<string>();
        if (Clean(displayName) is not { } name)
        {
            return result;
        }
        result.Add(name);
        for (var i = 1; i < name.Length; i++)
        {
            if (name[i - 1] == ' ' && name[i] != ' ')
            {
                result.Add(name[i..]);
            }
        }
        return result;
    }

    /// <summary>Lower-cased, trimmed, inner whitespace collapsed; null when empty.</summary>
    public static string? Clean(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        return string.Join(' ', value.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>The index rows to delete and add when a person changes from <paramref name="before"/> to <paramref name="after"/>.</summary>
    public static IEnumerable<StagedWrite> Diff(long userKey, DirectoryEntry? before, DirectoryEntry? after)
    {
        var old = Terms(before);
        var now = Terms(after);
        foreach (var (field, value) in old)
        {
            if (!now.Contains((field, value)))
            {
                yield return DirectoryStore.DeleteIndex(field, value, userKey);
            }
        }
        foreach (var (field, value) in now)
        {
            if (!old.Contains((field, value)))
            {
                yield return DirectoryStore.PutIndex(field, value, userKey);
            }
        }
    }
}
