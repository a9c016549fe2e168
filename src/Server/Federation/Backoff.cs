namespace TeamComms.Server.Federation;

/// <summary>
/// Exponential backoff with "equal jitter": before retry n (after n consecutive failures) wait a uniformly random
/// time in [d/2, d], where d = min(max, base · 2^(n-1)). The random half spreads the retries of many servers after a
/// shared outage; the fixed half keeps the schedule exponential.
/// </summary>
internal static class Backoff
{
    /// <summary>The cap d for the given failure count.</summary>
    public static TimeSpan Cap(int failures, TimeSpan @base, TimeSpan max)
    {
        var exponent = Math.Min(Math.Max(failures, 1) - 1, 40); // 2^40 seconds is far beyond any max
        var ms = @base.TotalMilliseconds * Math.Pow(2, exponent);
        return TimeSpan.FromMilliseconds(Math.Min(ms, max.TotalMilliseconds));
    }

    /// <summary>The delay for the given failure count and a random number in [0, 1).</summary>
    public static TimeSpan Delay(int failures, TimeSpan @base, TimeSpan max, double random01)
    {
        var cap = Cap(failures, @base, max).TotalMilliseconds;
        return TimeSpan.FromMilliseconds((cap / 2) + (cap / 2 * random01));
    }
}
