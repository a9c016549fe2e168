using System.Globalization;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Workplace.Notifications;

/// <summary>
/// A person's working hours in their time zone: which instants are inside a working period, and when the next period
/// starts or the current one ends. Handles days off, overnight hours (start after end: 22:00–06:00 belongs to the day it
/// starts on) and daylight-saving changes (a start inside a skipped hour moves to the first valid minute).
/// </summary>
internal sealed class WorkSchedule
{
    private static readonly string[] s_dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    private readonly int _days;
    private readonly int _start;
    private readonly int _end;

    private WorkSchedule(TimeZoneInfo zone, int days, int start, int end)
    {
        Zone = zone;
        _days = days;
        _start = start;
        _end = end;
    }

    public TimeZoneInfo Zone { get; }

    /// <summary>The schedule of a profile, falling back field by field to the company defaults.</summary>
    public static WorkSchedule For(string? timeZone, WorkingHoursRecord? hours, AttentionPolicyRecord policy)
    {
        var zone = FindZone(timeZone) ?? FindZone(policy.DefaultTimeZone) ?? TimeZoneInfo.Utc;
        var wh = hours ?? policy.DefaultWorkingHours;
        var days = 0;
        foreach (var d in wh.Days)
        {
            var i = Array.IndexOf(s_dayNames, d);
            if (i >= 0)
            {
                days |= 1 << i;
            }
        }
        return new WorkSchedule(zone, days, Minutes(wh.Start), Minutes(wh.End));
    }

    public static TimeZoneInfo? FindZone(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            return null;
        }
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return null;
        }
    }

    public static bool IsValidHours(WorkingHoursRecord wh) =>
        wh.Days.Count > 0 && wh.Days.All(d => Array.IndexOf(s_dayNames, d) >= 0) && wh.Days.Distinct().Count() == wh.Days.Count
        && TimeOnly.TryParseExact(wh.Start, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var s)
        && TimeOnly.TryParseExact(wh.End, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var e) && s != e;

    /// <summary>True when <paramref name="ts"/> (Unix ms) is inside a working period.</summary>
    public bool IsWorking(long ts)
    {
        var local = Local(ts);
        var minute = local.Hour * 60 + local.Minute;
        var day = (int)local.DayOfWeek;
        if (_start < _end)
        {
            return Has(day) && minute >= _start && minute < _end;
        }
        return (Has(day) && minute >= _start) || (Has((day + 6) % 7) && minute < _end);
    }

    /// <summary>The start of the first working period after <paramref name="ts"/>; <see cref="long.MaxValue"/> without working days.</summary>
    public long NextStart(long ts)
    {
        var date = Local(ts).Date;
        for (var d = -1; d <= 8; d++)
        {
            var day = date.AddDays(d);
            if (Has((int)day.DayOfWeek))
            {
                var start = ToUtc(day.AddMinutes(_start));
                if (start > ts)
                {
                    return start;
                }
            }
        }
        return long.MaxValue;
    }

    /// <summary>The start of the latest working period that began at or before <paramref name="ts"/>; <see cref="long.MinValue"/> if none in the last week.</summary>
    public long PreviousStart(long ts)
    {
        var date = Local(ts).Date;
        for (var d = 0; d >= -8; d--)
        {
            var day = date.AddDays(d);
            if (Has((int)day.DayOfWeek))
            {
                var start = ToUtc(day.AddMinutes(_start));
                if (start <= ts)
                {
                    return start;
                }
            }
        }
        return long.MinValue;
    }

    /// <summary>The end of the last working period that ended at or before <paramref name="ts"/>; <see cref="long.MinValue"/> if none in the last week.</summary>
    public long PreviousEnd(long ts)
    {
        var date = Local(ts).Date;
        for (var d = 0; d >= -8; d--)
        {
            var day = date.AddDays(d);
            if (Has((int)day.DayOfWeek))
            {
                var end = ToUtc(day.AddMinutes(_end + (_start < _end ? 0 : 24 * 60)));
                if (end <= ts)
                {
                    return end;
                }
            }
        }
        return long.MinValue;
    }

    /// <summary>The first instant after <paramref name="ts"/> at which <see cref="IsWorking"/> may change.</summary>
    public long NextChange(long ts)
    {
        var date = Local(ts).Date;
        var best = long.MaxValue;
        for (var d = -1; d <= 8; d++)
        {
            var day = date.AddDays(d);
            if (!Has((int)day.DayOfWeek))
            {
                continue;
            }
            var start = ToUtc(day.AddMinutes(_start));
            var end = ToUtc(day.AddMinutes(_end + (_start < _end ? 0 : 24 * 60)));
            if (start > ts && start < best)
            {
                best = start;
            }
            if (end > ts && end < best)
            {
                best = end;
            }
        }
        return best == long.MaxValue ? ts + TimeSpan.FromDays(1).Ticks / TimeSpan.TicksPerMillisecond : best;
    }

    private bool Has(int dayOfWeek) => (_days & (1 << dayOfWeek)) != 0;

    private DateTime Local(long ts) => TimeZoneInfo.ConvertTimeFromUtc(DateTimeOffset.FromUnixTimeMilliseconds(ts).UtcDateTime, Zone);

    private long ToUtc(DateTime local)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        // A time inside a skipped daylight-saving hour does not exist; move forward to the first time that does.
        while (Zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(30);
        }
        return new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(local, Zone), TimeSpan.Zero).ToUnixTimeMilliseconds();
    }

    private static int Minutes(string hhmm) =>
        TimeOnly.TryParseExact(hhmm, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var t) ? t.Hour * 60 + t.Minute : 0;
}
