using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.Audit;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Provisioning.Scim;

/// <summary>
/// SCIM 2.0 (RFC 7643, RFC 7644) under <c>/scim/v2</c>, as Okta and Microsoft Entra ID use it: Users and Groups with
/// create, read, filter (<c>userName</c>/<c>externalId</c>/<c>displayName eq "…"</c>), replace, patch and delete;
/// discovery documents; bearer-token authentication. Each request is one directory transaction: it is applied
/// entirely, with its room membership changes committed before the response, or not at all. Errors are SCIM error
/// bodies (RFC 7644 §3.12). Deactivating (<c>active: false</c>) or deleting a user offboards them.
/// </summary>
internal static partial class ScimEndpoints
{
    private const string ContentType = "application/scim+json";
    private const string ListSchema = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
    private const string PatchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
    private const string ErrorSchema = "urn:ietf:params:scim:api:messages:2.0:Error";
    private const string GroupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
    private static readonly string[] s_userFilters = ["userName", "externalId", "id", "emails.value"];
    private static readonly string[] s_groupFilters = ["displayName", "externalId", "id"];

    public static void Map(IEndpointRouteBuilder app)
    {
        var scim = app.MapGroup("/scim/v2");
        scim.MapGet("/ServiceProviderConfig", (HttpContext c, ScimTokens t) => Handle(c, t, _ => Task.FromResult(Json(ScimDiscovery.ServiceProviderConfig(BaseUrl(c))))));
        scim.MapGet("/ResourceTypes", (HttpContext c, ScimTokens t) => Handle(c, t, _ => Task.FromResult(Json(ScimDiscovery.ResourceTypes(BaseUrl(c))))));
        scim.MapGet("/Schemas", (HttpContext c, ScimTokens t) => Handle(c, t, _ => Task.FromResult(Json(ScimDiscovery.Schemas()))));

        scim.MapGet("/Users", (HttpContext c, ScimTokens t, DirectoryService d, string? filter, int? startIndex, int? count) =>
            Handle(c, t, _ => Task.FromResult(ListUsers(c, d, filter, startIndex, count))));
        scim.MapGet("/Users/{id}", (string id, HttpContext c, ScimTokens t, DirectoryService d) =>
            Handle(c, t, _ => Task.FromResult(Json(ScimUser.ToResource(RequireUser(d.Snapshot, id), d.Snapshot, BaseUrl(c))))));
        scim.MapPost("/Users", (HttpContext c, ScimTokens t, DirectoryService d) => Handle(c, t, by => CreateUserAsync(c, d, by)));
        scim.MapPut("/Users/{id}", (string id, HttpContext c, ScimTokens t, DirectoryService d) => Handle(c, t, by => ReplaceUserAsync(c, d, by, id)));
        scim.MapPatch("/Users/{id}", (string id, HttpContext c, ScimTokens t, DirectoryService d) => Handle(c, t, by => PatchUserAsync(c, d, by, id)));
        scim.MapDelete("/Users/{id}", (string id, HttpContext c, ScimTokens t, DirectoryService d) => Handle(c, t, by => DeleteUserAsync(d, by, id)));

        scim.MapGet("/Groups", (HttpContext c, ScimTokens t, DirectoryService d, string? filter, int? startIndex, int? count, string? excludedAttributes) =>
            Handle(c, t, _ => Task.FromResult(ListGroups(c, d, filter, startIndex, count, excludedAttributes))));
        scim.MapGet("/Groups/{id}", (string id, HttpContext c, ScimTokens t, DirectoryService d, string? excludedAttributes) =>
            Handle(c, t, _ => Task.FromResult(Json(GroupResource(RequireGroup(d.Snapshot, id), d.Snapshot, BaseUrl(c), Excludes(excludedAttributes))))));
        scim.MapPost("/Groups", (HttpContext c, ScimTokens t, DirectoryService d) => Handle(c, t, by => CreateGroupAsync(c, d, by)));
        scim.MapPut("/Groups/{id}", (string id, HttpContext c, ScimTokens t, DirectoryService d) => Handle(c, t, by => ReplaceGroupAsync(c, d, by, id)));
        scim.MapPatch("/Groups/{id}", (string id, HttpContext c, ScimTokens t, DirectoryService d) => Handle(c, t, by => PatchGroupAsync(c, d, by, id)));
        scim.MapDelete("/Groups/{id}", (string id, HttpContext c, ScimTokens t, DirectoryService d) => Handle(c, t, by => DeleteGroupAsync(d, by, id)));
    }

    // ---- plumbing -----------------------------------------------------------------------------------------------

    /// <summary>Authenticates the bearer token, runs the handler, and turns every failure into a SCIM error body.</summary>
    private static async Task<IResult> Handle(HttpContext context, ScimTokens tokens, Func<Principal, Task<IResult>> handler)
    {
        try
        {
            var header = context.Request.Headers.Authorization.ToString();
            var token = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
            var record = token is null ? null : tokens.Authenticate(token);
            if (record is null)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer realm=\"teamcomms-scim\"";
                throw new ScimException(401, null, token is null ? "send 'Authorization: Bearer <SCIM token>'" : "the SCIM token is not valid or was revoked");
            }
            return await handler(new Principal("scim:" + record.Name, Api.Bearer.Address(context))).ConfigureAwait(false);
        }
        catch (ScimException ex)
        {
            return Error(ex.Status, ex.ScimType, ex.Message);
        }
        catch (ApiException ex)
        {
            return ex.Code switch
            {
                ErrorCode.Conflict or ErrorCode.AlreadyMember => Error(409, "uniqueness", ex.Message),
                ErrorCode.NotFound or ErrorCode.UnknownUser or ErrorCode.UnknownRoom => Error(404, null, ex.Message),
                ErrorCode.Forbidden or ErrorCode.PolicyViolation => Error(403, null, ex.Message),
                ErrorCode.StorageFull or ErrorCode.StorageUnavailable or ErrorCode.Unavailable => Error(503, null, ex.Message),
                ErrorCode.Internal => Error(500, null, ex.Message),
                _ => Error(400, "invalidValue", ex.Message),
            };
        }
        catch (JsonException)
        {
            return Error(400, "invalidSyntax", "the body is not valid JSON");
        }
    }

    private static IResult Error(int status, string? scimType, string detail)
    {
        var body = new JsonObject
        {
            ["schemas"] = new JsonArray(ErrorSchema),
            ["status"] = status.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["detail"] = detail,
        };
        if (scimType is not null)
        {
            body["scimType"] = scimType;
        }
        return Json(body, status);
    }

    private static IResult Json(JsonNode body, int status = 200) =>
        Results.Content(body.ToJsonString(), ContentType, System.Text.Encoding.UTF8, status);

    private static IResult Created(JsonObject body) => Json(body, 201);

    private static string BaseUrl(HttpContext c) => $"{c.Request.Scheme}://{c.Request.Host}/scim/v2";

    private static async Task<JsonObject> ReadObjectAsync(HttpContext context)
    {
        var node = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        return node as JsonObject ?? throw ScimException.InvalidSyntax("the body must be a JSON object");
    }

    private static (int Start, int Count) Paging(int? startIndex, int? count) =>
        (Math.Max(startIndex ?? 1, 1), Math.Clamp(count ?? 100, 0, 200));

    /// <summary>A page of resources; only the page is rendered, however many match.</summary>
    private static IResult ListResponse<T>(List<T> all, int start, int count, Func<T, JsonNode> render)
    {
        var page = all.Skip(start - 1).Take(count).Select(render).ToList();
        return Json(new JsonObject
        {
            ["schemas"] = new JsonArray(ListSchema),
            ["totalResults"] = all.Count,
            ["startIndex"] = start,
            ["itemsPerPage"] = page.Count,
            ["Resources"] = new JsonArray([.. page]),
        });
    }

    // ---- users --------------------------------------------------------------------------------------------------

    private static IResult ListUsers(HttpContext c, DirectoryService d, string? filter, int? startIndex, int? count)
    {
        var snapshot = d.Snapshot;
        var parsed = ScimFilter.Parse(filter, s_userFilters);
        IEnumerable<DirectoryEntry> users = snapshot.Users.Values.Where(u => !u.Deleted && !u.UserId.StartsWith('_')).OrderBy(u => u.Key);
        if (parsed is { } f)
        {
            users = f.Attribute switch
            {
                "userName" => FindByUserName(snapshot, f.Value) is { } u ? [u] : [],
                "externalId" => snapshot.ByExternalId.TryGetValue(f.Value, out var k) ? [snapshot.Users[k]] : [],
                "id" => snapshot.Find(f.Value) is { Deleted: false } u2 ? [u2] : [],
                _ => users.Where(u => string.Equals(u.Profile.Email, f.Value, StringComparison.OrdinalIgnoreCase)),
            };
        }
        var (start, size) = Paging(startIndex, count);
        var baseUrl = BaseUrl(c);
        return ListResponse(users.ToList(), start, size, u => ScimUser.ToResource(u, snapshot, baseUrl));
    }

    /// <summary>
    /// The user a SCIM userName refers to: one provisioned with it, or else one created in TeamComms (admin API, CSV)
    /// whose username or email equals it, so an identity provider adopts existing accounts instead of duplicating them.
    /// </summary>
    private static DirectoryEntry? FindByUserName(DirectorySnapshot s, string userName)
    {
        if (s.ByScimName.TryGetValue(RuleExpression.Normalize(userName), out var key))
        {
            return s.Users[key];
        }
        var lower = userName.Trim().ToLowerInvariant();
        return s.Users.Values.FirstOrDefault(u => !u.Deleted && u.Profile.ScimUserName is null
            && (u.Username == lower || string.Equals(u.Profile.Email, userName.Trim(), StringComparison.OrdinalIgnoreCase)));
    }

    private static DirectoryEntry RequireUser(DirectorySnapshot s, string id) =>
        s.Find(id) is { Deleted: false } u ? u : throw ScimException.NotFound($"no User with id '{id}'");

    private static async Task<IResult> CreateUserAsync(HttpContext c, DirectoryService d, Principal by)
    {
        var body = await ReadObjectAsync(c).ConfigureAwait(false);
        var scim = ScimUser.FromResource(body);
        var (entry, _) = await d.ChangeAsync(by, tx =>
        {
            if (FindByUserName(tx.Base, scim.UserName!) is not null || tx.FindByScimName(scim.UserName!) is not null)
            {
                throw ScimException.Uniqueness($"a User with userName '{scim.UserName}' exists");
            }
            if (scim.ExternalId is { } ext && tx.FindByExternalId(ext) is not null)
            {
                throw ScimException.Uniqueness($"a User with externalId '{ext}' exists");
            }
            CheckManager(tx, scim);
            var created = tx.CreateUser(DeriveUsername(tx, scim.UserName!), scim.ToProfile(null), null, scim.Active, null);
            return created;
        }).ConfigureAwait(false);
        var resource = ScimUser.ToResource(entry, d.Snapshot, BaseUrl(c));
        c.Response.Headers.Location = resource["meta"]!["location"]!.GetValue<string>();
        return Created(resource);
    }

    private static async Task<IResult> ReplaceUserAsync(HttpContext c, DirectoryService d, Principal by, string id)
    {
        var body = await ReadObjectAsync(c).ConfigureAwait(false);
        var scim = ScimUser.FromResource(body);
        var (entry, _) = await d.ChangeAsync(by, tx =>
        {
            var user = RequireUser(tx.Base, id);
            if (!body.ContainsKey(ScimUser.TeamCommsSchema))
            {
                // An identity provider that does not know the TeamComms extension leaves its attributes alone.
                scim.Team = user.Profile.Team;
                scim.EmploymentStatus = user.Profile.EmploymentStatus;
            }
            return Apply(tx, user, scim);
        }).ConfigureAwait(false);
        return Json(ScimUser.ToResource(entry, d.Snapshot, BaseUrl(c)));
    }

    private static async Task<IResult> PatchUserAsync(HttpContext c, DirectoryService d, Principal by, string id)
    {
        var body = await ReadObjectAsync(c).ConfigureAwait(false);
        var operations = Operations(body);
        var (entry, _) = await d.ChangeAsync(by, tx =>
        {
            var user = RequireUser(tx.Base, id);
            var scim = ScimUser.From(user);
            foreach (var (op, path, value) in operations)
            {
                scim.Patch(op, path, value);
            }
            return Apply(tx, user, scim);
        }).ConfigureAwait(false);
        return Json(ScimUser.ToResource(entry, d.Snapshot, BaseUrl(c)));
    }

    /// <summary>Makes the stored user match <paramref name="scim"/>: profile, and active (deactivation offboards).</summary>
    private static DirectoryEntry Apply(DirectoryTransaction tx, DirectoryEntry user, ScimUser scim)
    {
        if (string.IsNullOrWhiteSpace(scim.UserName))
        {
            throw new ScimException(400, "mutability", "userName cannot be removed");
        }
        if (tx.FindByScimName(scim.UserName) is { } other && other.Key != user.Key)
        {
            throw ScimException.Uniqueness($"a User with userName '{scim.UserName}' exists");
        }
        if (scim.ExternalId is { } ext && tx.FindByExternalId(ext) is { } owner && owner.Key != user.Key)
        {
            throw ScimException.Uniqueness($"a User with externalId '{ext}' exists");
        }
        CheckManager(tx, scim);
        tx.UpdateProfile(user.Key, scim.ToProfile(user.Profile), "scim.user.update");
        if (!scim.Active && user.Active)
        {
            tx.Deactivate(user.Key, "deactivated by the identity provider");
        }
        else if (scim.Active && !user.Active)
        {
            tx.Reactivate(user.Key);
        }
        return tx.User(user.Key)!;
    }

    private static void CheckManager(DirectoryTransaction tx, ScimUser scim)
    {
        if (scim.Manager is { } manager && tx.FindUser(manager) is null)
        {
            // Identity providers send the manager's SCIM id; it must be a user this server knows.
            throw ScimException.InvalidValue($"manager '{manager}' is not a User of this server");
        }
    }

    private static async Task<IResult> DeleteUserAsync(DirectoryService d, Principal by, string id)
    {
        await d.ChangeAsync(by, tx => tx.Deactivate(RequireUser(tx.Base, id).Key, "deleted by the identity provider", delete: true)).ConfigureAwait(false);
        return Results.StatusCode(204);
    }

    /// <summary>A TeamComms username from a SCIM userName: the part before '@', lower-cased, made valid, unique.</summary>
    private static string DeriveUsername(DirectoryTransaction tx, string userName)
    {
        var local = userName.Trim().ToLowerInvariant();
        var at = local.IndexOf('@');
        if (at > 0)
        {
            local = local[..at];
        }
        var chars = local.Select(ch => ch is >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '_' or '=' or '-' ? ch : '.').ToArray();
        var candidate = new string(chars).TrimStart('_', '.');
        if (candidate.Length == 0)
        {
            candidate = "user";
        }
        if (candidate.Length > 56)
        {
            candidate = candidate[..56];
        }
        var name = candidate;
        for (var n = 2; tx.FindUserByName(name) is not null; n++)
        {
            name = $"{candidate}-{n}";
        }
        return name;
    }

    private static List<(string Op, string? Path, JsonNode? Value)> Operations(JsonObject body)
    {
        ScimUser.CheckSchemas(body, PatchSchema);
        if (body["Operations"] is not JsonArray ops || ops.Count == 0)
        {
            throw ScimException.InvalidSyntax("Operations must be a non-empty array");
        }
        var result = new List<(string, string?, JsonNode?)>();
        foreach (var node in ops)
        {
            if (node is not JsonObject op || op["op"] is not JsonValue opValue || opValue.GetValueKind() != JsonValueKind.String)
            {
                throw ScimException.InvalidSyntax("each operation is an object with 'op'");
            }
            var name = opValue.GetValue<string>().ToLowerInvariant();
            if (name is not ("add" or "replace" or "remove"))
            {
                throw ScimException.InvalidSyntax($"'{opValue.GetValue<string>()}' is not a PATCH operation; use add, replace or remove");
            }
            var path = op["path"] is JsonValue p && p.GetValueKind() == JsonValueKind.String ? p.GetValue<string>() : null;
            if (name == "remove" && path is null)
            {
                throw ScimException.NoTarget("remove needs a path");
            }
            if (name != "remove" && !op.ContainsKey("value"))
            {
                throw ScimException.InvalidSyntax($"{name} needs a value");
            }
            result.Add((name, path, op["value"]?.DeepClone()));
        }
        return result;
    }

    // ---- groups -------------------------------------------------------------------------------------------------

    private static IResult ListGroups(HttpContext c, DirectoryService d, string? filter, int? startIndex, int? count, string? excludedAttributes)
    {
        var snapshot = d.Snapshot;
        var parsed = ScimFilter.Parse(filter, s_groupFilters);
        IEnumerable<GroupState> groups = snapshot.Groups.Values.OrderBy(g => g.Record.Key);
        if (parsed is { } f)
        {
            groups = f.Attribute switch
            {
                "displayName" => groups.Where(g => g.NormalizedName == RuleExpression.Normalize(f.Value)),
                "externalId" => groups.Where(g => g.Record.ExternalId == f.Value),
                _ => groups.Where(g => g.Record.Id == f.Value),
            };
        }
        var (start, size) = Paging(startIndex, count);
        var baseUrl = BaseUrl(c);
        var exclude = Excludes(excludedAttributes);
        return ListResponse(groups.ToList(), start, size, g => GroupResource(g, snapshot, baseUrl, exclude));
    }

    private static bool Excludes(string? excludedAttributes) =>
        excludedAttributes?.Split(',').Any(a => a.Trim().Equals("members", StringComparison.OrdinalIgnoreCase)) ?? false;

    private static GroupState RequireGroup(DirectorySnapshot s, string id) =>
        s.Groups.Values.FirstOrDefault(g => g.Record.Id == id) ?? throw ScimException.NotFound($"no Group with id '{id}'");

    private static JsonObject GroupResource(GroupState g, DirectorySnapshot snapshot, string baseUrl, bool excludeMembers)
    {
        var resource = new JsonObject
        {
            ["schemas"] = new JsonArray(GroupSchema),
            ["id"] = g.Record.Id,
            ["displayName"] = g.Record.DisplayName,
        };
        if (g.Record.ExternalId is not null)
        {
            resource["externalId"] = g.Record.ExternalId;
        }
        if (!excludeMembers)
        {
            resource["members"] = new JsonArray(g.Members.Select(k => snapshot.Users.GetValueOrDefault(k)).Where(u => u is not null).OrderBy(u => u!.Key)
                .Select(u => (JsonNode)new JsonObject { ["value"] = u!.UserId, ["display"] = u.Profile.DisplayName, ["$ref"] = $"{baseUrl}/Users/{Uri.EscapeDataString(u.UserId)}" }).ToArray());
        }
        resource["meta"] = new JsonObject
        {
            ["resourceType"] = "Group",
            ["created"] = ScimUser.Iso(g.Record.CreatedAt),
            ["lastModified"] = ScimUser.Iso(g.Record.UpdatedAt),
            ["location"] = $"{baseUrl}/Groups/{g.Record.Id}",
        };
        return resource;
    }

    private static List<long> MemberKeys(DirectoryTransaction tx, JsonNode? members)
    {
        if (members is null)
        {
            return [];
        }
        if (members is not JsonArray array)
        {
            throw ScimException.InvalidValue("members must be an array of {value}");
        }
        var keys = new List<long>();
        foreach (var m in array)
        {
            var id = m is JsonObject o && o["value"] is JsonValue v && v.GetValueKind() == JsonValueKind.String
                ? v.GetValue<string>()
                : throw ScimException.InvalidValue("each member is an object with a string 'value' (a User id)");
            var user = tx.FindUser(id);
            if (user is null || user.Deleted)
            {
                throw ScimException.InvalidValue($"member '{id}' is not a User of this server");
            }
            keys.Add(user.Key);
        }
        return keys;
    }

    private static async Task<IResult> CreateGroupAsync(HttpContext c, DirectoryService d, Principal by)
    {
        var body = await ReadObjectAsync(c).ConfigureAwait(false);
        ScimUser.CheckSchemas(body, GroupSchema);
        var name = body["displayName"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw ScimException.InvalidValue("displayName is required");
        var (group, _) = await d.ChangeAsync(by, tx =>
        {
            if (tx.FindGroup(name) is { } existing && existing.NormalizedName == RuleExpression.Normalize(name))
            {
                throw ScimException.Uniqueness($"a Group named '{existing.Record.DisplayName}' exists");
            }
            return tx.CreateGroup(name, Text(body["externalId"]), MemberKeys(tx, body["members"]));
        }).ConfigureAwait(false);
        var resource = GroupResource(d.Snapshot.Groups[group.Record.Key], d.Snapshot, BaseUrl(c), false);
        c.Response.Headers.Location = resource["meta"]!["location"]!.GetValue<string>();
        return Created(resource);
    }

    private static async Task<IResult> ReplaceGroupAsync(HttpContext c, DirectoryService d, Principal by, string id)
    {
        var body = await ReadObjectAsync(c).ConfigureAwait(false);
        ScimUser.CheckSchemas(body, GroupSchema);
        var name = body["displayName"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw ScimException.InvalidValue("displayName is required");
        var (group, _) = await d.ChangeAsync(by, tx =>
        {
            var g = RequireGroup(tx.Base, id);
            tx.UpdateGroup(g.Record.Key, name, Text(body["externalId"]));
            var wanted = MemberKeys(tx, body["members"]).ToHashSet();
            return tx.SetGroupMembers(g.Record.Key, wanted.Where(k => !g.Members.Contains(k)).ToList(), g.Members.Where(k => !wanted.Contains(k)).ToList());
        }).ConfigureAwait(false);
        return Json(GroupResource(d.Snapshot.Groups[group.Record.Key], d.Snapshot, BaseUrl(c), false));
    }

    private static async Task<IResult> PatchGroupAsync(HttpContext c, DirectoryService d, Principal by, string id)
    {
        var body = await ReadObjectAsync(c).ConfigureAwait(false);
        var operations = Operations(body);
        await d.ChangeAsync(by, tx =>
        {
            var key = RequireGroup(tx.Base, id).Record.Key;
            foreach (var (op, path, value) in operations)
            {
                PatchGroup(tx, key, op, path, value);
            }
            return 0;
        }).ConfigureAwait(false);
        return Results.StatusCode(204);
    }

    private static void PatchGroup(DirectoryTransaction tx, long key, string op, string? path, JsonNode? value)
    {
        var group = tx.Group(key)!;
        if (path is null)
        {
            if (value is not JsonObject attributes)
            {
                throw ScimException.InvalidValue("an operation without a path needs an object value");
            }
            foreach (var (name, v) in attributes)
            {
                if (!name.Equals("id", StringComparison.OrdinalIgnoreCase) && !name.Equals("schemas", StringComparison.OrdinalIgnoreCase))
                {
                    PatchGroup(tx, key, op, name, v);
                }
            }
            return;
        }
        var memberFilter = MemberFilter().Match(path.Trim());
        if (memberFilter.Success)
        {
            if (op != "remove")
            {
                throw ScimException.InvalidPath("a filtered members path is only for remove");
            }
            var user = tx.FindUser(memberFilter.Groups["id"].Value);
            tx.SetGroupMembers(key, [], user is null ? [] : [user.Key]);
            return;
        }
        switch (path.Trim().ToLowerInvariant())
        {
            case "displayname":
                var name = Text(value) ?? throw ScimException.InvalidValue("displayName cannot be empty");
                tx.UpdateGroup(key, name, group.Record.ExternalId);
                return;
            case "externalid":
                tx.UpdateGroup(key, group.Record.DisplayName, op == "remove" ? null : Text(value));
                return;
            case "members":
                var keys = op == "remove" && value is null ? [.. group.Members] : MemberKeys(tx, value);
                switch (op)
                {
                    case "add":
                        tx.SetGroupMembers(key, keys, []);
                        return;
                    case "remove":
                        tx.SetGroupMembers(key, [], keys);
                        return;
                    default:
                        var wanted = keys.ToHashSet();
                        tx.SetGroupMembers(key, wanted.Where(k => !group.Members.Contains(k)).ToList(), group.Members.Where(k => !wanted.Contains(k)).ToList());
                        return;
                }
            default:
                throw ScimException.InvalidPath($"'{path}' is not a Group attribute this server supports (displayName, externalId, members)");
        }
    }

    private static async Task<IResult> DeleteGroupAsync(DirectoryService d, Principal by, string id)
    {
        await d.ChangeAsync(by, tx =>
        {
            tx.DeleteGroup(RequireGroup(tx.Base, id).Record.Key);
            return 0;
        }).ConfigureAwait(false);
        return Results.StatusCode(204);
    }

    private static string? Text(JsonNode? node) => node switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.String => string.IsNullOrWhiteSpace(v.GetValue<string>()) ? null : v.GetValue<string>(),
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Null => null,
        _ => throw ScimException.InvalidValue("expected a string"),
    };

    [System.Text.RegularExpressions.GeneratedRegex("""^members\[\s*value\s+eq\s+"(?<id>[^"]+)"\s*\]$""", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex MemberFilter();
}
