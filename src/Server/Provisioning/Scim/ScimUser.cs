using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Provisioning.Scim;

/// <summary>
/// A SCIM User (RFC 7643 §4.1 with the enterprise extension) as a flat, mutable set of the attributes TeamComms keeps,
/// so that POST, PUT and every PATCH form (with a path, with a value object, Okta's and Entra ID's variants) all
/// edit the same thing before it becomes a profile.
/// </summary>
internal sealed partial class ScimUser
{
    public const string UserSchema = "urn:ietf:params:scim:schemas:core:2.0:User";
    public const string EnterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    public const string TeamCommsSchema = "urn:ietf:params:scim:schemas:extension:teamcomms:2.0:User";

    /// <summary>Attributes identity providers send that TeamComms accepts and does not keep.</summary>
    private static readonly HashSet<string> s_ignored = new(StringComparer.OrdinalIgnoreCase)
    {
        "preferredLanguage", "locale", "nickName", "userType", "profileUrl", "password", "name.middleName", "name.honorificPrefix",
        "name.honorificSuffix", "roles", "entitlements", "x509Certificates", "ims", "photos", "meta", "id", "groups", "schemas",
        "organization", "division", "costCenter",
    };

    public string? UserName { get; set; }
    public string? ExternalId { get; set; }
    public bool Active { get; set; } = true;
    public string? DisplayName { get; set; }
    public string? GivenName { get; set; }
    public string? FamilyName { get; set; }
    public string? Formatted { get; set; }
    public string? Email { get; set; }
    public string? Phone { get; set; }
    public string? Title { get; set; }
    public string? TimeZone { get; set; }
    public string? Location { get; set; }
    public string? Department { get; set; }
    public string? EmployeeNumber { get; set; }
    /// <summary>The manager's SCIM id (a TeamComms user id).</summary>
    public string? Manager { get; set; }
    public string? Team { get; set; }
    public string? EmploymentStatus { get; set; }

    public static ScimUser From(DirectoryEntry e) => new()
    {
        UserName = e.Profile.ScimUserName ?? e.Username,
        ExternalId = e.Profile.ExternalId,
        Active = e.Active,
        DisplayName = e.Profile.DisplayName,
        GivenName = e.Profile.GivenName,
        FamilyName = e.Profile.FamilyName,
        Email = e.Profile.Email,
        Phone = e.Profile.Phone,
        Title = e.Profile.Title,
        TimeZone = e.Profile.TimeZone,
        Location = e.Profile.Location,
        Department = e.Profile.Department,
        EmployeeNumber = e.Profile.EmployeeNumber,
        Manager = e.Profile.Manager,
        Team = e.Profile.Team,
        EmploymentStatus = e.Profile.EmploymentStatus,
    };

    /// <summary>Reads a whole resource (POST and PUT): every attribute not present is cleared.</summary>
    public static ScimUser FromResource(JsonObject body)
    {
        CheckSchemas(body, UserSchema);
        var user = new ScimUser();
        foreach (var (name, value) in body)
        {
            user.Set(name, value, op: "replace");
        }
        if (string.IsNullOrWhiteSpace(user.UserName))
        {
            throw ScimException.InvalidValue("userName is required");
        }
        return user;
    }

    /// <summary>Applies one PATCH operation (RFC 7644 §3.5.2).</summary>
    public void Patch(string op, string? path, JsonNode? value)
    {
        if (path is null)
        {
            if (value is not JsonObject attributes)
            {
                throw ScimException.InvalidValue("an operation without a path needs an object value");
            }
            foreach (var (name, v) in attributes)
            {
                Set(name, v, op);
            }
            return;
        }
        if (op == "remove")
        {
            Set(path, null, op);
            return;
        }
        Set(path, value, op);
    }

    /// <summary>Sets one attribute by SCIM path (with or without its schema URN prefix).</summary>
    private void Set(string path, JsonNode? value, string op)
    {
        var p = path.Trim();
        if (p.StartsWith(EnterpriseSchema, StringComparison.OrdinalIgnoreCase))
        {
            var rest = p[EnterpriseSchema.Length..].TrimStart(':', '.');
            if (rest.Length == 0)
            {
                foreach (var (k, v) in Object(value, path))
                {
                    SetEnterprise(k, v);
                }
                return;
            }
            SetEnterprise(rest, value);
            return;
        }
        if (p.StartsWith(TeamCommsSchema, StringComparison.OrdinalIgnoreCase))
        {
            var rest = p[TeamCommsSchema.Length..].TrimStart(':', '.');
            if (rest.Length == 0)
            {
                foreach (var (k, v) in Object(value, path))
                {
                    SetTeamComms(k, v);
                }
                return;
            }
            SetTeamComms(rest, value);
            return;
        }
        if (p.StartsWith(UserSchema + ":", StringComparison.OrdinalIgnoreCase))
        {
            p = p[(UserSchema.Length + 1)..];
        }
        var lower = p.ToLowerInvariant();
        switch (lower)
        {
            case "username":
                UserName = Text(value, path) ?? (op == "remove" ? throw new ScimException(400, "mutability", "userName cannot be removed") : null);
                return;
            case "externalid":
                ExternalId = Text(value, path);
                return;
            case "active":
                Active = Bool(value, path) ?? true;
                return;
            case "displayname":
                DisplayName = Text(value, path);
                return;
            case "title":
                Title = Text(value, path);
                return;
            case "timezone":
                TimeZone = Text(value, path);
                return;
            case "name":
                GivenName = FamilyName = Formatted = null;
                foreach (var (k, v) in Object(value, path))
                {
                    Set("name." + k, v, op);
                }
                return;
            case "name.givenname":
                GivenName = Text(value, path);
                return;
            case "name.familyname":
                FamilyName = Text(value, path);
                return;
            case "name.formatted":
                Formatted = Text(value, path);
                return;
            case "emails":
                Email = FromMultiValued(value, path, "work");
                return;
            case "phonenumbers":
                Phone = FromMultiValued(value, path, "work") ?? FromMultiValued(value, path, "mobile");
                return;
            case "addresses":
                Location = FromMultiValued(value, path, "work", "locality") ?? FromMultiValued(value, path, "work", "formatted");
                return;
        }
        var filtered = FilteredPath().Match(p);
        if (filtered.Success)
        {
            var attribute = filtered.Groups["attr"].Value.ToLowerInvariant();
            var type = filtered.Groups["type"].Value.ToLowerInvariant();
            var sub = filtered.Groups["sub"].Success ? filtered.Groups["sub"].Value.ToLowerInvariant() : "value";
            switch (attribute, type, sub)
            {
                case ("emails", "work", "value"):
                    Email = Text(value, path);
                    return;
                case ("phonenumbers", "work", "value"):
                    Phone = Text(value, path);
                    return;
                case ("phonenumbers", "mobile", "value"):
                    Phone ??= Text(value, path);
                    return;
                case ("addresses", "work", "locality"):
                    Location = Text(value, path);
                    return;
                case ("addresses", "work", "formatted"):
                    Location ??= Text(value, path);
                    return;
                case ("emails" or "phonenumbers" or "addresses", _, _):
                    return; // other types and sub-attributes (fax, street address, …) are not kept
            }
        }
        if (s_ignored.Contains(p) || s_ignored.Contains(p.Split('.')[0]))
        {
            return;
        }
        throw ScimException.InvalidPath($"'{path}' is not an attribute this server supports");
    }

    private void SetEnterprise(string name, JsonNode? value)
    {
        switch (name.ToLowerInvariant())
        {
            case "department":
                Department = Text(value, name);
                return;
            case "employeenumber":
                EmployeeNumber = Text(value, name);
                return;
            case "manager":
            case "manager.value":
                Manager = value is JsonObject o ? Text(o["value"], name) : Text(value, name);
                return;
            case "organization" or "division" or "costcenter" or "manager.displayname":
                return;
            default:
                throw ScimException.InvalidPath($"'{EnterpriseSchema}:{name}' is not an attribute this server supports");
        }
    }

    private void SetTeamComms(string name, JsonNode? value)
    {
        switch (name.ToLowerInvariant())
        {
            case "team":
                Team = Text(value, name);
                return;
            case "location":
                Location = Text(value, name);
                return;
            case "employmentstatus":
                EmploymentStatus = Text(value, name);
                return;
            default:
                throw ScimException.InvalidPath($"'{TeamCommsSchema}:{name}' is not an attribute this server supports");
        }
    }

    /// <summary>The profile this SCIM user becomes (keeping what SCIM does not carry: working hours, custom attributes).</summary>
    public ProfileRecord ToProfile(ProfileRecord? current)
    {
        var display = DisplayName ?? Formatted ?? string.Join(' ', new[] { GivenName, FamilyName }.Where(n => !string.IsNullOrWhiteSpace(n)));
        if (string.IsNullOrWhiteSpace(display))
        {
            display = UserName!;
        }
        return (current ?? new ProfileRecord { UserKey = 0, DisplayName = display }) with
        {
            DisplayName = display,
            GivenName = GivenName,
            FamilyName = FamilyName,
            Email = Email,
            Phone = Phone,
            Title = Title,
            TimeZone = TimeZone,
            Location = Location,
            Department = Department,
            EmployeeNumber = EmployeeNumber,
            Manager = Manager,
            Team = Team,
            EmploymentStatus = EmploymentStatus?.ToLowerInvariant() ?? current?.EmploymentStatus ?? "active",
            ExternalId = ExternalId,
            ScimUserName = UserName,
        };
    }

    /// <summary>The resource as the identity provider reads it back.</summary>
    public static JsonObject ToResource(DirectoryEntry e, DirectorySnapshot snapshot, string baseUrl)
    {
        var p = e.Profile;
        var resource = new JsonObject
        {
            ["schemas"] = new JsonArray(UserSchema, EnterpriseSchema, TeamCommsSchema),
            ["id"] = e.UserId,
            ["userName"] = p.ScimUserName ?? e.Username,
            ["name"] = new JsonObject { ["givenName"] = p.GivenName, ["familyName"] = p.FamilyName, ["formatted"] = p.DisplayName },
            ["displayName"] = p.DisplayName,
            ["active"] = e.Active,
        };
        if (p.ExternalId is not null)
        {
            resource["externalId"] = p.ExternalId;
        }
        if (p.Title is not null)
        {
            resource["title"] = p.Title;
        }
        if (p.TimeZone is not null)
        {
            resource["timezone"] = p.TimeZone;
        }
        resource["emails"] = p.Email is null ? new JsonArray() : new JsonArray(new JsonObject { ["value"] = p.Email, ["type"] = "work", ["primary"] = true });
        if (p.Phone is not null)
        {
            resource["phoneNumbers"] = new JsonArray(new JsonObject { ["value"] = p.Phone, ["type"] = "work" });
        }
        if (p.Location is not null)
        {
            resource["addresses"] = new JsonArray(new JsonObject { ["type"] = "work", ["locality"] = p.Location, ["primary"] = true });
        }
        var enterprise = new JsonObject();
        if (p.Department is not null)
        {
            enterprise["department"] = p.Department;
        }
        if (p.EmployeeNumber is not null)
        {
            enterprise["employeeNumber"] = p.EmployeeNumber;
        }
        if (p.Manager is not null)
        {
            enterprise["manager"] = new JsonObject { ["value"] = p.Manager, ["displayName"] = snapshot.Find(p.Manager)?.Profile.DisplayName };
        }
        resource[EnterpriseSchema] = enterprise;
        resource[TeamCommsSchema] = new JsonObject { ["team"] = p.Team, ["location"] = p.Location, ["employmentStatus"] = p.EmploymentStatus };
        resource["groups"] = new JsonArray(e.Groups.Select(g => snapshot.Groups.GetValueOrDefault(g)).Where(g => g is not null)
            .Select(g => (JsonNode)new JsonObject { ["value"] = g!.Record.Id, ["display"] = g.Record.DisplayName, ["$ref"] = $"{baseUrl}/Groups/{g.Record.Id}" }).ToArray());
        resource["meta"] = new JsonObject
        {
            ["resourceType"] = "User",
            ["created"] = Iso(e.CreatedAt),
            ["lastModified"] = Iso(Math.Max(p.UpdatedAt, e.CreatedAt)),
            ["location"] = $"{baseUrl}/Users/{Uri.EscapeDataString(e.UserId)}",
        };
        return resource;
    }

    public static void CheckSchemas(JsonObject body, string required)
    {
        if (body["schemas"] is not JsonArray schemas || !schemas.Any(s => s is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() == required))
        {
            throw ScimException.InvalidSyntax($"schemas must include '{required}'");
        }
    }

    public static string Iso(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);

    private static string? Text(JsonNode? value, string path) => value switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => string.IsNullOrWhiteSpace(v.GetValue<string>()) ? null : v.GetValue<string>().Trim(),
        JsonValue v when v.GetValueKind() == JsonValueKind.Null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.ToJsonString(),
        _ => throw ScimException.InvalidValue($"'{path}' must be a string"),
    };

    /// <summary>Booleans, and the strings "True"/"False" that Entra ID sends in its older mode.</summary>
    private static bool? Bool(JsonNode? value, string path) => value switch
    {
        null => null,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        JsonValue v when v.GetValueKind() == JsonValueKind.String && bool.TryParse(v.GetValue<string>(), out var b) => b,
        _ => throw ScimException.InvalidValue($"'{path}' must be a boolean"),
    };

    private static JsonObject Object(JsonNode? value, string path) =>
        value as JsonObject ?? throw ScimException.InvalidValue($"'{path}' must be an object");

    /// <summary>The value (or <paramref name="sub"/>) of the entry of <paramref name="type"/>, else the primary one, else the first.</summary>
    private static string? FromMultiValued(JsonNode? value, string path, string type, string sub = "value")
    {
        if (value is null)
        {
            return null;
        }
        if (value is not JsonArray items || items.Any(i => i is not JsonObject))
        {
            throw ScimException.InvalidValue($"'{path}' must be an array of objects");
        }
        var chosen = items.FirstOrDefault(i => Text(i!["type"], path)?.Equals(type, StringComparison.OrdinalIgnoreCase) == true)
            ?? items.FirstOrDefault(i => i!["primary"] is JsonValue v && v.GetValueKind() == JsonValueKind.True)
            ?? items.FirstOrDefault();
        return chosen is null ? null : Text(chosen[sub], path);
    }

    [GeneratedRegex("""^(?<attr>emails|phoneNumbers|addresses)\[\s*type\s+eq\s+"(?<type>[^"]*)"\s*\](\.(?<sub>[A-Za-z]+))?$""", RegexOptions.IgnoreCase)]
    private static partial Regex FilteredPath();
}
