using System.Text.Json.Nodes;
using TeamComms.Protocol;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Policies;

/// <summary>
/// Applies a partial policy update (<c>PUT /v1/admin/policies</c>): only the fields present change, every value is
/// checked (modes, role names, selectors, profile fields), and the audit entry lists what changed.
/// </summary>
internal static class PolicyUpdate
{
    private static readonly string[] s_creationModes = [CompanyPolicy.Everyone, CompanyPolicy.Roles, CompanyPolicy.Admins];
    private static readonly string[] s_directModes = [CompanyPolicy.Everyone, CompanyPolicy.SameDepartment, CompanyPolicy.Allowlist];
    private static readonly string[] s_inviteModes = [CompanyPolicy.Everyone, CompanyPolicy.Moderators, CompanyPolicy.Roles];
    private static readonly string[] s_fields =
        ["room_creation", "room_creation_roles", "direct_messages", "direct_allowlist", "invites", "invite_roles", "exempt_roles", "self_editable"];

    public static (PolicyRecord Next, Dictionary<string, string> Changes) Apply(PolicyRecord current, JsonObject body, DirectoryTransaction tx)
    {
        var next = current;
        var changes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (field, value) in body)
        {
            if (!s_fields.Contains(field))
            {
                throw new ApiException(ErrorCode.BadRequest, $"unknown policy '{field}'; policies are {string.Join(", ", s_fields)}");
            }
            switch (field)
            {
                case "room_creation":
                    next = next with { RoomCreation = Mode(field, value, s_creationModes) };
                    changes[field] = next.RoomCreation;
                    break;
                case "direct_messages":
                    next = next with { DirectMessages = Mode(field, value, s_directModes) };
                    changes[field] = next.DirectMessages;
                    break;
                case "invites":
                    next = next with { Invites = Mode(field, value, s_inviteModes) };
                    changes[field] = next.Invites;
                    break;
                case "room_creation_roles":
                    next = next with { RoomCreationRoles = Roles(field, value, tx) };
                    changes[field] = string.Join(',', next.RoomCreationRoles);
                    break;
                case "invite_roles":
                    next = next with { InviteRoles = Roles(field, value, tx) };
                    changes[field] = string.Join(',', next.InviteRoles);
                    break;
                case "exempt_roles":
                    next = next with { ExemptRoles = Roles(field, value, tx) };
                    changes[field] = string.Join(',', next.ExemptRoles);
                    break;
                case "self_editable":
                    var fields = AdminDirectoryEndpoints.Strings(value, field) ?? [];
                    if (fields.FirstOrDefault(f => !ProfileRules.IsField(f)) is { } bad)
                    {
                        throw new ApiException(ErrorCode.BadRequest, $"self_editable: '{bad}' is not a profile field");
                    }
                    next = next with { SelfEditable = fields.Distinct().ToList() };
                    changes[field] = string.Join(',', next.SelfEditable);
                    break;
                case "direct_allowlist":
                    if (value is not JsonArray entries)
                    {
                        throw new ApiException(ErrorCode.BadRequest, "direct_allowlist is an array of {from, to}");
                    }
                    var list = new List<DirectAllowRecord>();
                    foreach (var entry in entries)
                    {
                        var from = entry?["from"]?.GetValue<string>();
                        var to = entry?["to"]?.GetValue<string>();
                        if (from is null || to is null)
                        {
                            throw new ApiException(ErrorCode.BadRequest, "each direct_allowlist entry has from and to");
                        }
                        CompanyPolicy.ValidateSelector(from);
                        CompanyPolicy.ValidateSelector(to);
                        list.Add(new DirectAllowRecord(from, to));
                    }
                    next = next with { DirectAllowlist = list };
                    changes[field] = string.Join(';', list.Select(a => a.From + "->" + a.To));
                    break;
            }
        }
        if (next.RoomCreation == CompanyPolicy.Roles && next.RoomCreationRoles.Count == 0)
        {
            throw new ApiException(ErrorCode.BadRequest, "room_creation 'roles' needs room_creation_roles");
        }
        if (next.Invites == CompanyPolicy.Roles && next.InviteRoles.Count == 0)
        {
            throw new ApiException(ErrorCode.BadRequest, "invites 'roles' needs invite_roles");
        }
        return (next, changes);
    }

    private static string Mode(string field, JsonNode? value, string[] modes)
    {
        var mode = value is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String ? v.GetValue<string>() : null;
        return mode is not null && modes.Contains(mode)
            ? mode
            : throw new ApiException(ErrorCode.BadRequest, $"{field} is one of {string.Join(", ", modes)}");
    }

    private static List<string> Roles(string field, JsonNode? value, DirectoryTransaction tx)
    {
        var roles = AdminDirectoryEndpoints.Strings(value, field) ?? [];
        if (roles.FirstOrDefault(r => !tx.IsRole(r)) is { } unknown)
        {
            throw new ApiException(ErrorCode.BadRequest, $"{field}: unknown role '{unknown}'");
        }
        return roles.Distinct().ToList();
    }
}
