using System.Text.RegularExpressions;
using TeamComms.Protocol;
using TeamComms.Server.Storage;

namespace TeamComms.Server.CompanyDirectory;

/// <summary>What a valid profile is, and the names of its fields in the APIs, CSV and rules.</summary>
internal static partial class ProfileRules
{
    /// <summary>Profile fields by their API name (snake_case), in the order the CSV template lists them.</summary>
    public static readonly IReadOnlyList<string> Fields =
    [
        "display_name", "given_name", "family_name", "email", "title", "department", "team", "location", "manager",
        "phone", "employment_status", "time_zone", "working_hours", "employee_number", "custom",
    ];

    public static readonly IReadOnlyList<string> WeekDays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    public static bool IsField(string name) => Fields.Contains(name);

    public static bool IsValidCustomKey(string key) => CustomKey().IsMatch(key);

    /// <summary>Checks every field; throws <see cref="ApiException"/> (bad_request) naming the first bad one.</summary>
    public static void Validate(ProfileRecord p)
    {
        Text("display_name", p.DisplayName, 256, required: true);
        Text("given_name", p.GivenName, 128);
        Text("family_name", p.FamilyName, 128);
        Text("title", p.Title, 256);
        Text("department", p.Department, 256);
        Text("team", p.Team, 256);
        Text("location", p.Location, 256);
        Text("employee_number", p.EmployeeNumber, 64);
        if (p.Email is { } email && (email.Length > 320 || !EmailLike().IsMatch(email)))
        {
            throw Bad("email", "is not an email address");
        }
        if (p.Phone is { } phone && !PhoneLike().IsMatch(phone))
        {
            throw Bad("phone", "must be 3 to 32 digits, spaces and + ( ) . -");
        }
        if (!StatusLike().IsMatch(p.EmploymentStatus))
        {
            throw Bad("employment_status", "must be 1 to 32 of a-z and _ (for example active, on_leave, contractor)");
        }
        if (p.TimeZone is { } tz && !IsTimeZone(tz))
        {
            throw Bad("time_zone", $"'{tz}' is not an IANA time zone such as Europe/Berlin");
        }
        if (p.WorkingHours is { } wh)
        {
            if (wh.Days.Count == 0 || wh.Days.Any(d => !WeekDays.Contains(d)) || wh.Days.Distinct().Count() != wh.Days.Count)
            {
                throw Bad("working_hours", "days must be distinct values of mon, tue, wed, thu, fri, sat, sun");
            }
            if (!TimeOnly.TryParseExact(wh.Start, "HH:mm", out var start) || !TimeOnly.TryParseExact(wh.End, "HH:mm", out var end) || start == end)
            {
                throw Bad("working_hours", "start and end are different HH:mm times");
            }
        }
        if (p.Manager is { } manager && !Identifiers.IsValidUserId(manager))
        {
            throw Bad("manager", $"'{manager}' is not a user id");
        }
        if (p.Custom is { } custom)
        {
            if (custom.Count > 32)
            {
                throw Bad("custom", "has more than 32 attributes");
            }
            foreach (var (k, v) in custom)
            {
                if (!IsValidCustomKey(k))
                {
                    throw Bad("custom", $"attribute name '{k}' must be 1 to 32 of a-z, 0-9 and _, starting with a letter");
                }
                Text("custom." + k, v, 256);
            }
        }
    }

    /// <summary>Parses <c>mon-fri 09:00-17:30</c> or <c>mon,tue,thu 08:00-16:00</c>.</summary>
    public static WorkingHoursRecord ParseWorkingHours(string text)
    {
        var parts = text.Trim().ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2)
        {
            throw Bad("working_hours", "is written like 'mon-fri 09:00-17:30'");
        }
        var days = new List<string>();
        foreach (var item in parts[0].Split(','))
        {
            var range = item.Split('-');
            var from = WeekDays.ToList().IndexOf(range[0]);
            var to = range.Length == 2 ? WeekDays.ToList().IndexOf(range[1]) : from;
            if (range.Length > 2 || from < 0 || to < from)
            {
                throw Bad("working_hours", $"'{item}' is not a day or a range of days like mon-fri");
            }
            for (var d = from; d <= to; d++)
            {
                days.Add(WeekDays[d]);
            }
        }
        var times = parts[1].Split('-');
        if (times.Length != 2)
        {
            throw Bad("working_hours", "is written like 'mon-fri 09:00-17:30'");
        }
        var result = new WorkingHoursRecord(days, times[0], times[1]);
        Validate(new ProfileRecord { UserKey = 0, DisplayName = "x", WorkingHours = result });
        return result;
    }

    public static string FormatWorkingHours(WorkingHoursRecord wh) => $"{string.Join(',', wh.Days)} {wh.Start}-{wh.End}";

    private static bool IsTimeZone(string id)
    {
        if (id.Length > 64 || id.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }
        try
        {
            TimeZoneInfo.FindSystemTimeZoneById(id);
            return true;
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
            return false;
        }
    }

    private static void Text(string field, string? value, int max, bool required = false)
    {
        if (value is null)
        {
            if (required)
            {
                throw Bad(field, "is required");
            }
            return;
        }
        if (required && string.IsNullOrWhiteSpace(value))
        {
            throw Bad(field, "is required");
        }
        if (value.Length > max)
        {
            throw Bad(field, $"is longer than {max} characters");
        }
        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                throw Bad(field, "contains a control character");
            }
        }
    }

    public static ApiException Bad(string field, string message) => new(ErrorCode.BadRequest, $"{field} {message}");

    [GeneratedRegex("^[a-z][a-z0-9_]{0,31}$")]
    private static partial Regex CustomKey();

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+$")]
    private static partial Regex EmailLike();

    [GeneratedRegex(@"^\+?[0-9 ().\-]{3,32}$")]
    private static partial Regex PhoneLike();

    [GeneratedRegex("^[a-z_]{1,32}$")]
    private static partial Regex StatusLike();
}
