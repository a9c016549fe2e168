using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.FanOut;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Workplace.Notifications;

/// <summary>
/// One person's notification state, shared by all their connections: their schedule (directory profile or company
/// defaults), their snooze, and a cached answer to "are we in working hours" valid until the next change of schedule.
/// <see cref="Decide"/> runs per recipient on the fan-out thread: in the common case it is two reference checks and
/// two comparisons, with no allocation. A directory or policy change is noticed by reference and rebuilds the state
/// once. Races between threads only ever replace one valid state with another.
/// </summary>
internal sealed class UserAttention : IRecipientAttention
{
    private readonly AttentionService _owner;
    private volatile State _state;

    public UserAttention(AttentionService owner, long userKey, string userId)
    {
        _owner = owner;
        UserKey = userKey;
        UserId = userId;
        _state = Build(owner.Directory, owner.Policy, owner.LoadSettings(userKey), 0);
    }

    public long UserKey { get; }
    public string UserId { get; }

    public AttentionRecord Settings => Current.Settings;

    public WorkSchedule Schedule => Current.Schedule;

    public NotifyDecision Decide(long timestampMs)
    {
        var s = Current;
        if (timestampMs < s.Settings.SnoozeUntil)
        {
            return NotifyDecision.Snoozed;
        }
        if (timestampMs < s.From || timestampMs >= s.Until)
        {
            s = Recompute(s, timestampMs);
        }
        return s.Working ? NotifyDecision.Default : NotifyDecision.QuietHours;
    }

    /// <summary>Replaces the settings (snooze, receipt privacy) after they were stored.</summary>
    public void SetSettings(AttentionRecord settings)
    {
        var s = Current;
        _state = s with { Settings = settings };
    }

    private State Current
    {
        get
        {
            var s = _state;
            var directory = _owner.Directory;
            var policy = _owner.Policy;
            if (ReferenceEquals(s.Directory, directory) && ReferenceEquals(s.Policy, policy))
            {
                return s;
            }
            var entry = directory.Users.GetValueOrDefault(UserKey);
            if (ReferenceEquals(policy, s.Policy) && ReferenceEquals(entry?.Profile, s.Directory.Users.GetValueOrDefault(UserKey)?.Profile))
            {
                s = s with { Directory = directory }; // someone else's profile changed
            }
            else
            {
                s = Build(directory, policy, s.Settings, 0);
            }
            _state = s;
            return s;
        }
    }

    private State Recompute(State s, long ts)
    {
        var working = s.Schedule.IsWorking(ts);
        var next = s.Schedule.NextChange(ts);
        // A cached answer is valid from ts until the next possible change of schedule.
        var updated = s with { From = ts, Until = next, Working = working };
        _state = updated;
        return updated;
    }

    private State Build(DirectorySnapshot directory, AttentionPolicyRecord policy, AttentionRecord settings, long ts)
    {
        var profile = directory.Users.GetValueOrDefault(UserKey)?.Profile;
        var schedule = WorkSchedule.For(profile?.TimeZone, profile?.WorkingHours, policy);
        return new State(directory, policy, schedule, settings, ts, ts, false);
    }

    private sealed record State(DirectorySnapshot Directory, AttentionPolicyRecord Policy, WorkSchedule Schedule, AttentionRecord Settings,
        long From, long Until, bool Working);
}
