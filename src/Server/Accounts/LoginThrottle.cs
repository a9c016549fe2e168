namespace TeamComms.Server.Accounts;

/// <summary>
/// Counts failed logins per account and per client address in a sliding window. Once either passes its limit,
/// attempts are refused (HTTP 429 with Retry-After) until the oldest failure leaves the window, without even checking
/// the password, so a guesser learns nothing and costs the server no Argon2 work.
/// </summary>
internal sealed class LoginThrottle(TimeProvider time, AccountOptions options)
{
    private readonly Dictionary<string, Queue<DateTimeOffset>> _failures = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Null when an attempt is allowed, else how long to wait.</summary>
    public TimeSpan? RetryAfter(string account, string address)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            var a = Check("u:" + account, options.MaxFailuresPerAccount, now);
            var b = Check("a:" + address, options.MaxFailuresPerAddress, now);
            return a is null ? b : b is null ? a : (a > b ? a : b);
        }
    }

    public void RecordFailure(string account, string address)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            Add("u:" + account, now);
            Add("a:" + address, now);
        }
    }

    public void RecordSuccess(string account)
    {
        lock (_lock)
        {
            _failures.Remove("u:" + account);
        }
    }

    private TimeSpan? Check(string key, int limit, DateTimeOffset now)
    {
        if (!_failures.TryGetValue(key, out var q))
        {
            return null;
        }
        while (q.Count > 0 && now - q.Peek() >= options.ThrottleWindow)
        {
            q.Dequeue();
        }
        if (q.Count == 0)
        {
            _failures.Remove(key);
            return null;
        }
        return q.Count >= limit ? q.Peek() + options.ThrottleWindow - now : null;
    }

    private void Add(string key, DateTimeOffset now)
    {
        if (!_failures.TryGetValue(key, out var q))
        {
            _failures[key] = q = new Queue<DateTimeOffset>();
        }
        q.Enqueue(now);
        if (_failures.Count > 100_000)
        {
            // Bound memory under a spray of random usernames: drop entries whose window has passed.
            foreach (var k in _failures.Where(kv => kv.Value.Count == 0 || now - kv.Value.Last() >= options.ThrottleWindow).Select(kv => kv.Key).ToList())
            {
                _failures.Remove(k);
            }
        }
    }
}
