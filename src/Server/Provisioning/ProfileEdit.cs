using System.Text.Json;
using System.Text.Json.Nodes;
using TeamComms.Protocol;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Provisioning;

/// <summary>
/// Applies field changes (<c>{"title": "…", "department": null, "working_hours": "mon-fri 09:00-17:00",
/// "custom": {"cost_center": "42"}}</c>) to a profile. Unknown fields are refused by name; null clears a field.
/// Values arrive as strings, maps (custom, working hours) or null, from JSON or from MessagePack alike.
/// </summary>
internal static class ProfileEdit
{
    public static ProfileRecord Apply(ProfileRecord profile, IReadOnlyDictionary<string, object?> fields, IReadOnlyCollection<string>? allowed = null)
    {
        foreach (var (field, value) in fields)
        {
            if (!ProfileRules.IsField(field))
            {
                throw new ApiException(ErrorCode.BadRequest, $"unknown profile field '{field}'; fields are {string.Join(", ", ProfileRules.Fields)}");
            }
            if (allowed is not null && !allowed.Contains(field))
            {
                throw new ApiException(ErrorCode.Forbidden,
                    $"company policy: you may not change '{field}' yourself (you may change: {(allowed.Count == 0 ? "nothing" : string.Join(", ", allowed))})");
            }
            profile = Set(profile, field, value);
        }
        return profile;
    }

    public static ProfileRecord Set(ProfileRecord p, string field, object? value)
    {
        switch (field)
        {
            case "working_hours":
                return p with { WorkingHours = WorkingHours(value) };
            case "custom":
                return p with { Custom = Custom(value) };
        }
        var text = value switch
        {
            null => null,
            string s => string.IsNullOrWhiteSpace(s) ? null : s.Trim(),
            _ => throw new ApiException(ErrorCode.BadRequest, $"{field} must be a string or null"),
        };
        return field switch
        {
            "display_name" => p with { DisplayName = text ?? throw ProfileRules.Bad("display_name", "is required") },
            "given_name" => p with { GivenName = text },
            "family_name" => p with { FamilyName = text },
            "email" => p with { Email = text },
            "title" => p with { Title = text },
            "department" => p with { Department = text },
            "team" => p with { Team = text },
            "location" => p with { Location = text },
            "manager" => p with { Manager = text },
            "phone" => p with { Phone = text },
            "employment_status" => p with { EmploymentStatus = text?.ToLowerInvariant() ?? "active" },
            "time_zone" => p with { TimeZone = text },
            "employee_number" => p with { EmployeeNumber = text },
            _ => throw new ApiException(ErrorCode.BadRequest, $"unknown profile field '{field}'"),
        };
    }

    private static WorkingHoursRecord? WorkingHours(object? value) => value switch
    {
        null => null,
        string s when string.IsNullOrWhiteSpace(s) => null,
        string s => ProfileRules.ParseWorkingHours(s),
        IReadOnlyDictionary<string, object?> map => new WorkingHoursRecord(
            map.GetValueOrDefault("days") is IEnumerable<object?> days ? days.Select(d => d as string ?? "").ToList() : [],
            map.GetValueOrDefault("start") as string ?? "",
            map.GetValueOrDefault("end") as string ?? ""),
        _ => throw ProfileRules.Bad("working_hours", "is a string like 'mon-fri 09:00-17:30' or {days, start, end}"),
    };

    private static Dictionary<string, string>? Custom(object? value)
    {
        switch (value)
        {
            case null:
                return null;
            case IReadOnlyDictionary<string, object?> map:
                var result = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var (k, v) in map)
                {
                    if (v is string s && !string.IsNullOrWhiteSpace(s))
                    {
                        result[k] = s.Trim();
                    }
                    else if (v is not null and not string)
                    {
                        throw ProfileRules.Bad("custom", $"values are strings ('{k}' is not)");
                    }
                }
                return result.Count == 0 ? null : result;
            default:
                throw ProfileRules.Bad("custom", "is a map of strings");
        }
    }

    /// <summary>A JSON object as plain values (strings, maps, lists, null; numbers and booleans as strings).</summary>
    public static Dictionary<string, object?> FromJson(JsonObject json)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (k, v) in json)
        {
            result[k] = Plain(v);
        }
        return result;
    }

    public static object? Plain(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => FromJson(o),
        JsonArray a => a.Select(Plain).ToList(),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>() ? "true" : "false",
        JsonValue v when v.GetValueKind() == JsonValueKind.Null => null,
        JsonValue v => v.ToJsonString(),
        _ => null,
    };

    /// <summary>A profile as the API shows it. <paramref name="full"/> adds what only admins see.</summary>
    public static Dictionary<string, object?> View(DirectoryEntry e, DirectorySnapshot snapshot, bool full)
    {
        var p = e.Profile;
        var view = new Dictionary<string, object?>
        {
            ["user_id"] = e.UserId,
            ["username"] = e.Username,
            ["display_name"] = p.DisplayName,
            ["given_name"] = p.GivenName,
            ["family_name"] = p.FamilyName,
            ["email"] = p.Email,
            ["title"] = p.Title,
            ["department"] = p.Department,
            ["team"] = p.Team,
            ["location"] = p.Location,
            ["manager"] = p.Manager,
            ["phone"] = p.Phone,
            ["employment_status"] = p.EmploymentStatus,
            ["time_zone"] = p.TimeZone,
            ["working_hours"] = p.WorkingHours is { } wh ? new Dictionary<string, object?>
            {
                ["days"] = wh.Days.Cast<object?>().ToList(),
                ["start"] = wh.Start,
                ["end"] = wh.End,
            } : null,
            ["active"] = e.Active,
        };
        if (full)
        {
            view["roles"] = e.Roles.Cast<object?>().ToList();
            view["groups"] = e.Groups.Select(g => snapshot.Groups.TryGetValue(g, out var gs) ? gs.Record.DisplayName : null)
                .Where(n => n is not null).Order(StringComparer.Ordinal).Cast<object?>().ToList();
            view["employee_number"] = p.EmployeeNumber;
            view["external_id"] = p.ExternalId;
            view["scim_user_name"] = p.ScimUserName;
            view["custom"] = p.Custom?.ToDictionary(kv => kv.Key, kv => (object?)kv.Value);
            view["deleted"] = p.Deleted;
            view["has_password"] = e.HasPassword;
            view["created_at"] = e.CreatedAt;
            view["updated_at"] = p.UpdatedAt;
        }
        return view;
    }
}
