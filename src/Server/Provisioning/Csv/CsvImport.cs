using TeamComms.Protocol;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Provisioning.Csv;

/// <summary>Options of one import.</summary>
internal sealed record CsvImportOptions(bool DeactivateMissing, bool SetupLinks, bool MayAssignRoles);

/// <summary>What an import changes, per person.</summary>
internal sealed record CsvImportPlan(List<string> Created, List<(string UserId, List<string> Fields)> Updated, List<string> Deactivated,
    List<string> Reactivated, List<string> GroupsCreated);

/// <summary>Row errors: nothing was applied.</summary>
internal sealed class CsvImportException(IReadOnlyList<(int Line, string Message)> errors)
    : Exception($"{errors.Count} row(s) have errors; nothing was imported")
{
    public IReadOnlyList<(int Line, string Message)> Errors { get; } = errors;
}

/// <summary>
/// One employee per row (docs/operations.md has the format): creates new people, updates the columns present for
/// existing ones, sets groups and roles, deactivates rows with <c>active=false</c> (and, when asked, everyone not in
/// the file). Every row is checked before anything is applied; any bad row fails the whole import with each
/// problem listed by line.
/// </summary>
internal static class CsvImport
{
    public static readonly IReadOnlyList<string> Columns =
        ["username", .. ProfileRules.Fields.Where(f => f != "custom"), "groups", "roles", "active", "external_id"];

    public static CsvImportPlan Apply(DirectoryTransaction tx, string csv, CsvImportOptions options)
    {
        List<CsvRow> rows;
        try
        {
            rows = CsvReader.Parse(csv);
        }
        catch (CsvException ex)
        {
            throw new CsvImportException([(ex.Line, ex.Message)]);
        }
        if (rows.Count == 0)
        {
            throw new CsvImportException([(1, "the file is empty; the first line names the columns")]);
        }
        var header = rows[0].Fields.Select(h => h.Trim().ToLowerInvariant()).ToList();
        var errors = new List<(int, string)>();
        foreach (var column in header)
        {
            if (!Columns.Contains(column) && !(column.StartsWith("custom.", StringComparison.Ordinal) && ProfileRules.IsValidCustomKey(column[7..])))
            {
                errors.Add((rows[0].Line, $"unknown column '{column}'; columns are {string.Join(", ", Columns)}, custom.<name>"));
            }
        }
        if (header.Distinct().Count() != header.Count)
        {
            errors.Add((rows[0].Line, "a column appears twice"));
        }
        if (!header.Contains("username"))
        {
            errors.Add((rows[0].Line, "the username column is required"));
        }
        if (header.Contains("roles") && !options.MayAssignRoles)
        {
            errors.Add((rows[0].Line, "only admins import the roles column"));
        }
        if (errors.Count > 0)
        {
            throw new CsvImportException(errors);
        }
        var plan = new CsvImportPlan([], [], [], [], []);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var managers = new List<(int Line, long Key, string Manager)>();
        foreach (var row in rows.Skip(1))
        {
            try
            {
                if (row.Fields.Count != header.Count)
                {
                    throw new ApiException(ErrorCode.BadRequest, $"has {row.Fields.Count} fields; the header has {header.Count}");
                }
                var cells = header.Zip(row.Fields).ToDictionary(p => p.First, p => p.Second.Trim(), StringComparer.Ordinal);
                var key = ApplyRow(tx, cells, plan, options);
                if (!seen.Add(tx.User(key)!.UserId))
                {
                    throw new ApiException(ErrorCode.BadRequest, $"'{cells["username"]}' appears on an earlier line too");
                }
                if (cells.TryGetValue("manager", out var manager))
                {
                    managers.Add((row.Line, key, manager));
                }
            }
            catch (ApiException ex)
            {
                errors.Add((row.Line, ex.Message));
            }
        }
        // Managers last: a manager may be created further down the same file.
        foreach (var (line, key, manager) in managers)
        {
            try
            {
                var user = tx.User(key)!;
                var managerId = manager.Length == 0 ? null : tx.RequireUser(manager).UserId;
                tx.UpdateProfile(key, user.Profile with { Manager = managerId });
            }
            catch (ApiException ex)
            {
                errors.Add((line, ex.Message));
            }
        }
        if (options.DeactivateMissing && errors.Count == 0)
        {
            foreach (var entry in tx.Base.Users.Values.Where(u => u.Active && !seen.Contains(u.UserId) && u.UserId != tx.By.Actor).ToList())
            {
                tx.Deactivate(entry.Key, "not in the HR import");
                plan.Deactivated.Add(entry.UserId);
            }
        }
        if (errors.Count > 0)
        {
            throw new CsvImportException(errors);
        }
        tx.Record("import.csv", "users", DirectoryTransaction.Details(
            ("rows", (rows.Count - 1).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("created", plan.Created.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("updated", plan.Updated.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("deactivated", plan.Deactivated.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        return plan;
    }

    private static long ApplyRow(DirectoryTransaction tx, Dictionary<string, string> cells, CsvImportPlan plan, CsvImportOptions options)
    {
        var username = cells["username"].ToLowerInvariant();
        if (username.Length == 0)
        {
            throw new ApiException(ErrorCode.BadRequest, "username is empty");
        }
        var fields = new Dictionary<string, object?>(StringComparer.Ordinal);
        Dictionary<string, object?>? custom = null;
        foreach (var (column, value) in cells)
        {
            if (column.StartsWith("custom.", StringComparison.Ordinal))
            {
                custom ??= [];
                custom[column[7..]] = value.Length == 0 ? null : value;
            }
            else if (ProfileRules.IsField(column) && column != "manager")
            {
                fields[column] = value.Length == 0 ? null : value;
            }
        }
        bool? active = cells.TryGetValue("active", out var a) && a.Length > 0 ? ParseBool(a) : null;
        var existing = tx.FindUserByName(username);
        DirectoryEntry entry;
        if (existing is null)
        {
            if (fields.GetValueOrDefault("display_name") is null)
            {
                throw new ApiException(ErrorCode.BadRequest, $"'{username}' is new, so display_name is required");
            }
            var profile = ProfileEdit.Apply(new ProfileRecord { UserKey = 0, DisplayName = "-" }, fields);
            if (custom is not null)
            {
                profile = ProfileEdit.Set(profile, "custom", custom);
            }
            profile = profile with { ExternalId = NonEmpty(cells, "external_id") };
            entry = tx.CreateUser(username, profile, cells.TryGetValue("roles", out var r) ? List(r) : null, active ?? true, null);
            if (options.SetupLinks && entry.Active)
            {
                tx.SetupLinks.Add(entry.Key);
            }
            plan.Created.Add(entry.UserId);
        }
        else
        {
            entry = existing;
            if (entry.Deleted)
            {
                throw new ApiException(ErrorCode.Conflict, $"'{username}' was deleted; choose another username");
            }
            var profile = ProfileEdit.Apply(entry.Profile, fields);
            if (custom is not null)
            {
                var merged = new Dictionary<string, object?>((entry.Profile.Custom ?? new Dictionary<string, string>()).ToDictionary(kv => kv.Key, kv => (object?)kv.Value));
                foreach (var (k, v) in custom)
                {
                    merged[k] = v;
                }
                profile = ProfileEdit.Set(profile, "custom", merged);
            }
            if (cells.ContainsKey("external_id"))
            {
                profile = profile with { ExternalId = NonEmpty(cells, "external_id") };
            }
            var changed = DirectoryTransaction.ChangedFields(entry.Profile, profile);
            if (changed.Count > 0)
            {
                tx.UpdateProfile(entry.Key, profile);
                plan.Updated.Add((entry.UserId, changed));
            }
            if (cells.TryGetValue("roles", out var roles))
            {
                tx.SetRoles(entry.Key, List(roles));
            }
            if (active == false && entry.Active)
            {
                tx.Deactivate(entry.Key, "deactivated by HR import");
                plan.Deactivated.Add(entry.UserId);
            }
            else if (active == true && !entry.Active)
            {
                tx.Reactivate(entry.Key);
                plan.Reactivated.Add(entry.UserId);
            }
        }
        if (cells.TryGetValue("groups", out var groupCell))
        {
            SetGroups(tx, entry.Key, List(groupCell), plan);
        }
        return entry.Key;
    }

    /// <summary>Makes the person's directory groups exactly <paramref name="names"/>, creating groups that do not exist yet.</summary>
    private static void SetGroups(DirectoryTransaction tx, long userKey, List<string> names, CsvImportPlan plan)
    {
        var wanted = new HashSet<long>();
        foreach (var name in names)
        {
            var group = tx.FindGroup(name);
            if (group is null)
            {
                group = tx.CreateGroup(name, null, []);
                plan.GroupsCreated.Add(group.Record.DisplayName);
            }
            wanted.Add(group.Record.Key);
        }
        var current = tx.User(userKey)!.Groups;
        foreach (var key in wanted.Where(k => !current.Contains(k)))
        {
            tx.SetGroupMembers(key, [userKey], [], audit: false);
        }
        foreach (var key in current.Where(k => !wanted.Contains(k)))
        {
            tx.SetGroupMembers(key, [], [userKey], audit: false);
        }
    }

    private static List<string> List(string cell) =>
        cell.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();

    private static string? NonEmpty(Dictionary<string, string> cells, string column) =>
        cells.TryGetValue(column, out var v) && v.Length > 0 ? v : null;

    private static bool ParseBool(string value) => value.ToLowerInvariant() switch
    {
        "true" or "yes" or "1" or "y" => true,
        "false" or "no" or "0" or "n" => false,
        _ => throw new ApiException(ErrorCode.BadRequest, $"active is true or false, not '{value}'"),
    };
}
