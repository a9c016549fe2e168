using System.Text.Json.Nodes;
using TeamComms.Protocol;
using TeamComms.Server.Audit;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Storage;
using TeamComms.Server.Workplace.Notifications;

namespace TeamComms.Server.Workplace;

/// <summary>
/// The company's workplace policy (<see cref="AttentionPolicyRecord"/>), read lock-free by everything that decides
/// notifications, receipts and permissions, and changed only by admins through <see cref="UpdateAsync"/> (validated,
/// audited with the old and new values, committed with its audit entry).
/// </summary>
internal sealed class AttentionPolicy : IDisposable
{
    public const string Show = "show";
    public const string Hide = "hide";

    private readonly AttentionStore _store;
    private readonly AuditLog _audit;
    private readonly DirectoryState _directory;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile AttentionPolicyRecord _current;

    public AttentionPolicy(AttentionStore store, AuditLog audit, DirectoryState directory, TimeProvider time)
    {
        _store = store;
        _audit = audit;
        _directory = directory;
        _time = time;
        _current = store.GetPolicy() ?? new AttentionPolicyRecord();
    }

    public AttentionPolicyRecord Current => _current;

    /// <summary>Cluster mode: another node changed the policy (its row arrived through the log).</summary>
    internal void Reload() => _current = _store.GetPolicy() ?? new AttentionPolicyRecord();

    /// <summary>Whether a person with <paramref name="roles"/> holds one of <paramref name="allowed"/>.</summary>
    public static bool HasRole(IReadOnlyList<string> roles, IReadOnlyList<string> allowed) => roles.Any(allowed.Contains);

    public static Dictionary<string, object?> ToJson(AttentionPolicyRecord p) => new()
    {
        ["default_time_zone"] = p.DefaultTimeZone,
        ["default_working_hours"] = new Dictionary<string, object?>
        {
            ["days"] = p.DefaultWorkingHours.Days.ToList(),
            ["start"] = p.DefaultWorkingHours.Start,
            ["end"] = p.DefaultWorkingHours.End,
        },
        ["urgent_roles"] = p.UrgentRoles.ToList(),
        ["broadcast_roles"] = p.BroadcastRoles.ToList(),
        ["incident_roles"] = p.IncidentRoles.ToList(),
        ["escalation_fallback"] = p.EscalationFallback.ToList(),
        ["announcement_read_receipts"] = p.AnnouncementReadReceipts,
        ["urgent_read_receipts"] = p.UrgentReadReceipts,
        ["incident_kinds"] = p.IncidentKinds.ToList(),
        ["updated_at"] = p.UpdatedAt,
        ["updated_by"] = p.UpdatedBy,
    };

    /// <summary>Applies a partial change (JSON fields as in <see cref="ToJson"/>); every field is checked before anything is stored.</summary>
    public async Task<AttentionPolicyRecord> UpdateAsync(Principal by, JsonObject patch)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var old = _current;
            var next = old;
            var changes = new Dictionary<string, string>(StringComparer.Ordinal);
            var snapshot = _directory.Current;
            foreach (var (name, value) in patch)
            {
                switch (name)
                {
                    case "default_time_zone":
                        var tz = Text(value, name);
                        if (WorkSchedule.FindZone(tz) is null)
                        {
                            throw Bad($"'{tz}' is not an IANA time zone such as Europe/Berlin");
                        }
                        next = next with { DefaultTimeZone = tz };
                        break;
                    case "default_working_hours":
                        var wh = value as JsonObject ?? throw Bad("default_working_hours is {days, start, end}");
                        var hours = new WorkingHoursRecord(Strings(wh["days"], "default_working_hours.days"), Text(wh["start"], "start"), Text(wh["end"], "end"));
                        if (!WorkSchedule.IsValidHours(hours))
                        {
                            throw Bad("default_working_hours: days are distinct values of mon…sun; start and end different HH:mm times");
                        }
                        next = next with { DefaultWorkingHours = hours };
                        break;
                    case "urgent_roles":
                        next = next with { UrgentRoles = Roles(value, name, snapshot) };
                        break;
                    case "broadcast_roles":
                        next = next with { BroadcastRoles = Roles(value, name, snapshot) };
                        break;
                    case "incident_roles":
                        var incident = Roles(value, name, snapshot);
                        if (incident.Count == 0)
                        {
                            throw Bad("incident_roles needs at least one role: someone must receive incident reports");
                        }
                        next = next with { IncidentRoles = incident };
                        break;
                    case "escalation_fallback":
                        var users = Strings(value, name);
                        foreach (var u in users)
                        {
                            if (snapshot.Find(u) is not { Active: true })
                            {
                                throw Bad($"escalation_fallback: {u} is not an active person in the directory");
                            }
                        }
                        next = next with { EscalationFallback = users };
                        break;
                    case "announcement_read_receipts":
                        next = next with { AnnouncementReadReceipts = ShowOrHide(value, name) };
                        break;
                    case "urgent_read_receipts":
                        next = next with { UrgentReadReceipts = ShowOrHide(value, name) };
                        break;
                    case "incident_kinds":
                        var kinds = Strings(value, name);
                        if (kinds.Count == 0 || kinds.Any(k => k.Length is 0 or > 32 || !k.All(c => c is >= 'a' and <= 'z' or '_')))
                        {
                            throw Bad("incident_kinds are 1 to 32 of a-z and _, at least one");
                        }
                        next = next with { IncidentKinds = kinds };
                        break;
                    default:
                        throw Bad($"unknown policy field '{name}'");
                }
                changes[name] = value?.ToJsonString() ?? "null";
            }
            if (changes.Count == 0)
            {
                return old;
            }
            next = next with { UpdatedAt = _time.GetUtcNow().ToUnixTimeMilliseconds(), UpdatedBy = by.Actor };
            await _audit.RecordWithAsync([by.Event("workplace.policy", "workplace", changes)], async rows =>
            {
                await _audit.CommitAsync([.. rows, AttentionStore.StagePolicy(next)], _store.Write).ConfigureAwait(false);
                return (true, 0);
            }).ConfigureAwait(false);
            _current = next;
            return next;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    private static ApiException Bad(string message) => new(ErrorCode.BadRequest, message);

    private static string Text(JsonNode? node, string name) =>
        node is JsonValue v && v.TryGetValue<string>(out var s) && s.Length is > 0 and <= 256 ? s : throw Bad($"{name} must be a string");

    private static List<string> Strings(JsonNode? node, string name)
    {
        if (node is not JsonArray array || array.Count > 256)
        {
            throw Bad($"{name} must be an array of strings");
        }
        return array.Select(n => Text(n, name)).Distinct(StringComparer.Ordinal).ToList();
    }

    private static List<string> Roles(JsonNode? node, string name, DirectorySnapshot snapshot)
    {
        var roles = Strings(node, name);
        foreach (var role in roles)
        {
            if (!snapshot.IsRole(role))
            {
                throw Bad($"{name}: '{role}' is not a company role");
            }
        }
        return roles;
    }

    private static string ShowOrHide(JsonNode? node, string name)
    {
        var value = Text(node, name);
        return value is Show or Hide ? value : throw Bad($"{name} is 'show' or 'hide'");
    }
}
