using System.Text.RegularExpressions;

namespace TeamComms.Server.Singletons;

/// <summary>Lease names are key-value keys in cluster mode: a small safe alphabet.</summary>
internal static partial class SingletonLeaseNames
{
    public static void Check(string name)
    {
        if (!Pattern().IsMatch(name))
        {
            throw new ArgumentException($"singleton lease name '{name}' must be 1-64 of a-z, 0-9 and '-'", nameof(name));
        }
    }

    [GeneratedRegex("^[a-z0-9-]{1,64}$")]
    private static partial Regex Pattern();
}
