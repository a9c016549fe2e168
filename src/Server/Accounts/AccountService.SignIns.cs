namespace TeamComms.Server.Accounts;

/// <summary>Last login: a password login and every WebSocket session resume count as signing in.</summary>
internal sealed partial class AccountService
{
    /// <summary>
    /// A user's login time is rewritten at most once a minute: a reconnect storm of 10,000 clients then costs at most
    /// one user-row write per user per minute, and the admin console shows last login to the minute anyway.
    /// </summary>
    private static readonly long s_signInGranularityMs = (long)TimeSpan.FromMinutes(1).TotalMilliseconds;

    /// <summary>Records that <paramref name="session"/> just signed in (a WebSocket Hello with its token).</summary>
    public async Task RecordSignInAsync(AuthenticatedSession session)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (_store.GetUser(session.UserKey) is { LastLoginAt: { } last } && now - last < s_signInGranularityMs)
        {
            return;
        }
        await _store.UpdateUserAsync(session.UserKey,
            u => u.LastLoginAt is { } l && now - l < s_signInGranularityMs ? u : u with { LastLoginAt = now }).ConfigureAwait(false);
    }
}
