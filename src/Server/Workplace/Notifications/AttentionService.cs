using System.Collections.Concurrent;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.FanOut;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Workplace.Notifications;

/// <summary>
/// Quiet hours and snooze: each person's <see cref="UserAttention"/> (created on first use and kept), the settings
/// calls (<c>notifications.*</c>, <c>receipts.set_privacy</c>), and the fan-out's <see cref="IAttentionSource"/>.
/// </summary>
internal sealed class AttentionService(DirectoryState directory, AttentionPolicy policy, AttentionStore store, TimeProvider time) : IAttentionSource
{
    /// <summary>Longest snooze: a week, so a forgotten snooze does not silence someone for good.</summary>
    public static readonly TimeSpan MaxSnooze = TimeSpan.FromDays(7);

    private readonly ConcurrentDictionary<long, UserAttention> _users = new();

    public DirectorySnapshot Directory => directory.Current;

    public AttentionPolicyRecord Policy => policy.Current;

    /// <summary>Raised when a person has a live device (each connection's subscription) or changed their snooze, so summaries get scheduled.</summary>
    public event Action<UserAttention>? Activated;

    public IRecipientAttention For(AuthenticatedSession session)
    {
        var attention = Get(session.UserKey, session.UserId);
        Activated?.Invoke(attention);
        return attention;
    }

    public UserAttention Get(long userKey, string userId) => _users.GetOrAdd(userKey, k => new UserAttention(this, k, userId));

    /// <summary>Cluster mode: a person's settings changed on another node (their row arrived through the log).</summary>
    internal void Reload(long userKey)
    {
        if (_users.TryGetValue(userKey, out var attention))
        {
            attention.SetSettings(LoadSettings(userKey));
        }
    }

    internal AttentionRecord LoadSettings(long userKey) => store.GetAttention(userKey) ?? new AttentionRecord { UserKey = userKey };

    /// <summary>Snoozes notifications until <paramref name="until"/> (Unix ms); a time not in the future ends the snooze.</summary>
    public AttentionRecord Snooze(AuthenticatedSession session, long until)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (until > now + (long)MaxSnooze.TotalMilliseconds)
        {
            throw new ApiException(ErrorCode.BadField, $"a snooze lasts at most {MaxSnooze.TotalDays:0} days");
        }
        var attention = Get(session.UserKey, session.UserId);
        var current = attention.Settings;
        var updated = until > now
            ? current with { SnoozeUntil = until, SnoozeStart = current.SnoozeUntil > now ? current.SnoozeStart : now }
            : current with { SnoozeUntil = 0 };
        store.PutAttention(updated);
        attention.SetSettings(updated);
        Activated?.Invoke(attention);
        return updated;
    }

    public AttentionRecord SetHideReadReceipts(AuthenticatedSession session, bool hide)
    {
        var attention = Get(session.UserKey, session.UserId);
        var updated = attention.Settings with { HideReadReceipts = hide };
        store.PutAttention(updated);
        attention.SetSettings(updated);
        return updated;
    }

    /// <summary>Whether <paramref name="userKey"/> hides their read receipts in ordinary rooms.</summary>
    public bool HidesReadReceipts(long userKey) =>
        _users.TryGetValue(userKey, out var attention) ? attention.Settings.HideReadReceipts : store.GetAttention(userKey)?.HideReadReceipts ?? false;

    /// <summary>The caller's notification state: <c>notifications.get</c>.</summary>
    public Dictionary<string, object?> Describe(AuthenticatedSession session)
    {
        var attention = Get(session.UserKey, session.UserId);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var profile = Directory.Users.GetValueOrDefault(session.UserKey)?.Profile;
        var hours = profile?.WorkingHours ?? Policy.DefaultWorkingHours;
        var schedule = attention.Schedule;
        var working = schedule.IsWorking(now);
        var settings = attention.Settings;
        return new Dictionary<string, object?>
        {
            ["time_zone"] = schedule.Zone.Id,
            ["working_hours"] = new Dictionary<string, object?> { ["days"] = hours.Days.ToList(), ["start"] = hours.Start, ["end"] = hours.End },
            ["from_profile"] = profile?.WorkingHours is not null || profile?.TimeZone is not null,
            ["in_working_hours"] = working,
            ["next_change"] = schedule.NextChange(now),
            ["snoozed_until"] = settings.SnoozeUntil > now ? settings.SnoozeUntil : null,
            ["notify"] = attention.Decide(now) == NotifyDecision.Default,
            ["hide_read_receipts"] = settings.HideReadReceipts,
        };
    }
}
