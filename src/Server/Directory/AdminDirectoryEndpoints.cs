using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.Policies;
using TeamComms.Server.Provisioning;
using TeamComms.Server.Provisioning.Scim;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.CompanyDirectory;

/// <summary>
/// The admin API of the directory under <c>/v1/admin</c>: profiles, roles, offboarding, device wipe, groups, rules
/// and room bindings, company rooms, archiving, policies and SCIM tokens. Every change is audited.
/// </summary>
internal static class AdminDirectoryEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/v1/admin");
        MapUsers(admin);
        MapGroups(admin);
        MapRules(admin);
        MapRooms(admin);
        MapPolicies(admin);
        MapScimTokens(admin);
    }

    private static void MapUsers(RouteGroupBuilder admin)
    {
        admin.MapPatch("/users/{userId}", async (string userId, JsonObject? body, HttpContext context, AccountService accounts, ProvisioningService provisioning) =>
        {
            var (session, by) = Access.Require(context, accounts, Access.People);
            var fields = ProfileEdit.FromJson(body ?? []);
            IReadOnlyList<string>? roles = null;
            if (fields.Remove("roles"))
            {
                if (!session.IsAdmin)
                {
                    throw new ApiException(ErrorCode.Forbidden, "only admins assign company roles");
                }
                roles = Strings(body!["roles"], "roles");
            }
            var entry = await provisioning.UpdateAsync(by, userId, fields, roles).ConfigureAwait(false);
            return Results.Ok(ProfileEdit.View(entry, provisioning.Directory.Snapshot, full: true));
        });

        admin.MapPut("/users/{userId}/roles", async (string userId, JsonObject? body, HttpContext context, AccountService accounts, ProvisioningService provisioning) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.Admin);
            var roles = Strings(body?["roles"], "roles") ?? throw new ApiException(ErrorCode.BadRequest, "roles is required (an array, possibly empty)");
            var entry = await provisioning.UpdateAsync(by, userId, new Dictionary<string, object?>(), roles).ConfigureAwait(false);
            return Results.Ok(new { user_id = entry.UserId, roles = entry.Roles });
        });

        admin.MapPost("/users/{userId}/deactivate", async (string userId, JsonObject? body, HttpContext context, AccountService accounts, ProvisioningService provisioning) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.People);
            var (entry, outcome) = await provisioning.DeactivateAsync(by, userId, body?["reason"]?.GetValue<string>()).ConfigureAwait(false);
            return Results.Ok(new { user_id = entry.UserId, active = entry.Active, membership_events = outcome.Events });
        });

        admin.MapPost("/users/{userId}/reactivate", async (string userId, HttpContext context, AccountService accounts, ProvisioningService provisioning) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.People);
            var entry = await provisioning.ReactivateAsync(by, userId).ConfigureAwait(false);
            return Results.Ok(new { user_id = entry.UserId, active = entry.Active });
        });

        // New setup links for everyone who has never set a password (for example users created through SCIM).
        admin.MapPost("/users/setup-links", async (HttpContext context, AccountService accounts, DirectoryService directory,
            Audit.AuditLog audit, IOptions<AccountOptions> options) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.People);
            var links = new List<object>();
            foreach (var entry in directory.Snapshot.Users.Values.Where(u => u is { Active: true, Deleted: false, HasPassword: false }).OrderBy(u => u.Key))
            {
                var row = accounts.GetUser(entry.Key);
                if (row is null || row.PasswordHash is not null)
                {
                    continue;
                }
                var token = accounts.CreateSetupToken(entry.Key);
                links.Add(new { user_id = entry.UserId, email = entry.Profile.Email, setup_token = token, setup_link = SetupLink(context, options.Value, token) });
            }
            await audit.RecordAsync(by.Event("user.setup_links", "pending", new Dictionary<string, string> { ["count"] = links.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) })).ConfigureAwait(false);
            return Results.Ok(new { links });
        });

        admin.MapPost("/sessions/{id}/wipe", async (string id, JsonObject? body, HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.Security);
            if (!SessionIds.TryParse(id, out var key))
            {
                throw new ApiException(ErrorCode.NotFound, "no such session");
            }
            await directory.WipeSessionAsync(by, key, body?["reason"]?.GetValue<string>() ?? "device reported lost").ConfigureAwait(false);
            return Results.NoContent();
        });

        admin.MapGet("/roles", (HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            Access.Require(context, accounts, Access.People);
            var snapshot = directory.Snapshot;
            var builtIn = CompanyRoleNames.BuiltIn.Select(r => new { name = r, description = "built-in", built_in = true });
            var custom = snapshot.CustomRoles.Values.OrderBy(r => r.Name, StringComparer.Ordinal).Select(r => new { name = r.Name, description = r.Description, built_in = false });
            return Results.Ok(new { roles = builtIn.Concat(custom) });
        });

        admin.MapPost("/roles", async (JsonObject? body, HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.Admin);
            var name = body?["name"]?.GetValue<string>() ?? throw new ApiException(ErrorCode.BadRequest, "name is required");
            var (role, _) = await directory.ChangeAsync(by, tx => tx.CreateRole(name, body?["description"]?.GetValue<string>() ?? "")).ConfigureAwait(false);
            return Results.Created($"/v1/admin/roles/{role.Name}", new { name = role.Name, description = role.Description });
        });

        admin.MapDelete("/roles/{name}", async (string name, HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.Admin);
            await directory.ChangeAsync(by, tx =>
            {
                tx.DeleteRole(name);
                return 0;
            }).ConfigureAwait(false);
            return Results.NoContent();
        });
    }

    private static void MapGroups(RouteGroupBuilder admin)
    {
        admin.MapGet("/groups", (HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            Access.Require(context, accounts, Access.People);
            return Results.Ok(new { groups = directory.Snapshot.Groups.Values.OrderBy(g => g.Record.DisplayName, StringComparer.OrdinalIgnoreCase).Select(g => GroupJson(g, directory.Snapshot, false)) });
        });

        admin.MapGet("/groups/{id}", (string id, HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            Access.Require(context, accounts, Access.People);
            var group = directory.Snapshot.FindGroup(id) ?? throw new ApiException(ErrorCode.NotFound, "no such group");
            return Results.Ok(GroupJson(group, directory.Snapshot, true));
        });

        admin.MapPost("/groups", async (JsonObject? body, HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.People);
            var name = body?["display_name"]?.GetValue<string>() ?? throw new ApiException(ErrorCode.BadRequest, "display_name is required");
            var members = Strings(body?["members"], "members") ?? [];
            var (group, _) = await directory.ChangeAsync(by, tx =>
                tx.CreateGroup(name, body?["external_id"]?.GetValue<string>(), members.Select(m => tx.RequireUser(m).Key).ToList())).ConfigureAwait(false);
            return Results.Created($"/v1/admin/groups/{group.Record.Id}", GroupJson(group, directory.Snapshot, true));
        });

        admin.MapPatch("/groups/{id}", async (string id, JsonObject? body, HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.People);
            var add = Strings(body?["add"], "add") ?? [];
            var remove = Strings(body?["remove"], "remove") ?? [];
            var (group, _) = await directory.ChangeAsync(by, tx =>
            {
                var g = tx.FindGroup(id) ?? throw new ApiException(ErrorCode.NotFound, "no such group");
                if (body?["display_name"]?.GetValue<string>() is { } name)
                {
                    tx.UpdateGroup(g.Record.Key, name, g.Record.ExternalId);
                }
                return tx.SetGroupMembers(g.Record.Key, add.Select(u => tx.RequireUser(u).Key).ToList(), remove.Select(u => tx.RequireUser(u).Key).ToList());
            }).ConfigureAwait(false);
            return Results.Ok(GroupJson(group, directory.Snapshot, true));
        });

        admin.MapDelete("/groups/{id}", async (string id, HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.People);
            await directory.ChangeAsync(by, tx =>
            {
                tx.DeleteGroup((tx.FindGroup(id) ?? throw new ApiException(ErrorCode.NotFound, "no such group")).Record.Key);
                return 0;
            }).ConfigureAwait(false);
            return Results.NoContent();
        });
    }

    private static void MapRules(RouteGroupBuilder admin)
    {
        admin.MapGet("/rules", (HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            Access.Require(context, accounts, Access.Admin);
            var snapshot = directory.Snapshot;
            var rooms = snapshot.RoomsByRule();
            return Results.Ok(new
            {
                rules = snapshot.Rules.Values.OrderBy(r => r.Record.Name, StringComparer.Ordinal).Select(r => RuleJson(r, snapshot, rooms)),
            });
        });

        admin.MapGet("/rules/{name}", (string name, HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            Access.Require(context, accounts, Access.Admin);
            var snapshot = directory.Snapshot;
            var rule = snapshot.FindRule(name) ?? throw new ApiException(ErrorCode.NotFound, $"no rule '{name}'");
            return Results.Ok(RuleJson(rule, snapshot, snapshot.RoomsByRule()));
        });

        admin.MapPost("/rules/preview", (JsonObject? body, HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            Access.Require(context, accounts, Access.Admin);
            var expression = RuleExpression.Parse(body?["expression"]?.GetValue<string>() ?? "");
            var snapshot = directory.Snapshot;
            var matches = Matching(expression, snapshot).ToList();
            // people: the first matches with their names, for the admin console's live preview (limit 1 to 1000, default 100).
            var limit = Math.Clamp(body?["limit"] is JsonValue l && l.TryGetValue<int>(out var n) ? n : 100, 1, 1000);
            return Results.Ok(new
            {
                count = matches.Count,
                users = matches.Take(limit).Select(u => u.UserId),
                people = matches.Take(limit).Select(u => new { user_id = u.UserId, display_name = u.Profile.DisplayName, department = u.Profile.Department, title = u.Profile.Title }),
                attributes = expression.UsedAttributes,
            });
        });

        admin.MapPost("/rules", async (JsonObject? body, HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.Admin);
            var name = body?["name"]?.GetValue<string>() ?? throw new ApiException(ErrorCode.BadRequest, "name is required");
            var expression = body?["expression"]?.GetValue<string>() ?? throw new ApiException(ErrorCode.InvalidRule, "expression is required");
            var (rule, _) = await directory.ChangeAsync(by, tx => tx.CreateRule(name, expression, body?["description"]?.GetValue<string>())).ConfigureAwait(false);
            return Results.Created($"/v1/admin/rules/{name}", RuleJson(rule, directory.Snapshot, directory.Snapshot.RoomsByRule()));
        });

        admin.MapPut("/rules/{name}", async (string name, JsonObject? body, HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.Admin);
            var expression = body?["expression"]?.GetValue<string>() ?? throw new ApiException(ErrorCode.InvalidRule, "expression is required");
            var (rule, outcome) = await directory.ChangeAsync(by, tx =>
                tx.UpdateRule((tx.FindRule(name) ?? throw new ApiException(ErrorCode.NotFound, $"no rule '{name}'")).Record.Key,
                    expression, body?["description"]?.GetValue<string>())).ConfigureAwait(false);
            return Results.Ok(new { rule = RuleJson(rule, directory.Snapshot, directory.Snapshot.RoomsByRule()), membership_events = outcome.Events });
        });

        admin.MapDelete("/rules/{name}", async (string name, HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.Admin);
            await directory.ChangeAsync(by, tx =>
            {
                tx.DeleteRule((tx.FindRule(name) ?? throw new ApiException(ErrorCode.NotFound, $"no rule '{name}'")).Record.Key);
                return 0;
            }).ConfigureAwait(false);
            return Results.NoContent();
        });
    }

    private static void MapRooms(RouteGroupBuilder admin)
    {
        admin.MapGet("/rooms", (HttpContext context, AccountService accounts, RoomStore roomStore, DirectoryService directory, bool? archived) =>
        {
            Access.Require(context, accounts, Access.Admin);
            var bindings = directory.Snapshot.Bindings;
            var rooms = roomStore.AllRooms().Where(r => archived is null || r.Archived == archived).Select(r => new
            {
                room_id = r.RoomId,
                name = r.Name,
                kind = r.Kind,
                history = r.HistoryVisibility,
                archived = r.Archived,
                creator = r.Creator,
                rules = bindings.TryGetValue(r.Key, out var b) ? b.Rules.Select(k => directory.Snapshot.Rules.GetValueOrDefault(k)?.Record.Name).ToList() : [],
            });
            return Results.Ok(new { rooms });
        });

        // A company room: created by the calling admin (its first owner), optionally bound to rules at once.
        admin.MapPost("/rooms", async (JsonObject? body, HttpContext context, AccountService accounts, IRoomLog log, RoomRegistry registry, DirectoryService directory) =>
        {
            var (session, by) = Access.Require(context, accounts, Access.Admin);
            var kind = body?["kind"]?.GetValue<string>() ?? RoomKinds.Group;
            var rules = Strings(body?["rules"], "rules") ?? [];
            var groups = Strings(body?["groups"], "groups") ?? [];
            var snapshot = directory.Snapshot;
            foreach (var rule in rules)
            {
                _ = snapshot.FindRule(rule) ?? throw new ApiException(ErrorCode.NotFound, $"no rule '{rule}'");
            }
            foreach (var group in groups)
            {
                _ = snapshot.FindGroup(group) ?? throw new ApiException(ErrorCode.NotFound, $"no group '{group}'");
            }
            var outcome = await log.AppendAsync(new CreateRoomProposal(session.Actor, body?["name"]?.GetValue<string>() ?? "",
                body?["topic"]?.GetValue<string>() ?? "", kind, body?["history"]?.GetValue<string>() ?? (kind == RoomKinds.Direct ? HistoryVisibilities.Joined : HistoryVisibilities.Full),
                body?["invite_policy"]?.GetValue<string>() ?? InvitePolicies.Moderators, [])).ConfigureAwait(false);
            Check(outcome);
            var room = registry.Find(outcome.RoomId!)!;
            var (_, commit) = await directory.ChangeAsync(by, tx =>
            {
                tx.Record("room.create", room.RoomId, DirectoryTransaction.Details(("name", room.View.State.Name), ("kind", kind)));
                if (rules.Count + groups.Count > 0)
                {
                    tx.SetBinding(room.Key, room.RoomId, BindingRules(tx, rules, groups));
                }
                return 0;
            }).ConfigureAwait(false);
            return Results.Created($"/v1/admin/rooms/{room.RoomId}", new { room_id = room.RoomId, membership_events = commit.Events });
        });

        admin.MapGet("/rooms/{roomId}/binding", (string roomId, HttpContext context, AccountService accounts, RoomRegistry registry, DirectoryService directory) =>
        {
            Access.Require(context, accounts, Access.Admin);
            var room = registry.Find(roomId) ?? throw new ApiException(ErrorCode.UnknownRoom, "no such room");
            return Results.Ok(BindingJson(room, directory.Snapshot));
        });

        admin.MapPut("/rooms/{roomId}/binding", async (string roomId, JsonObject? body, HttpContext context, AccountService accounts, RoomRegistry registry, DirectoryService directory) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.Admin);
            var room = registry.Find(roomId) ?? throw new ApiException(ErrorCode.UnknownRoom, "no such room");
            CheckBindable(room);
            RoomProtection.Check(context, room);
            var rules = Strings(body?["rules"], "rules");
            var groups = Strings(body?["groups"], "groups");
            if (rules is null && groups is null)
            {
                throw new ApiException(ErrorCode.BadRequest, "rules (rule names) and/or groups (directory groups) are required; empty arrays unbind");
            }
            var (_, outcome) = await directory.ChangeAsync(by, tx => tx.SetBinding(room.Key, room.RoomId, BindingRules(tx, rules ?? [], groups ?? []))).ConfigureAwait(false);
            return Results.Ok(new { binding = BindingJson(room, directory.Snapshot), membership_events = outcome.Events });
        });

        admin.MapPost("/rooms/{roomId}/manual", async (string roomId, JsonObject? body, HttpContext context, AccountService accounts, RoomRegistry registry, DirectoryService directory) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.Admin);
            var room = registry.Find(roomId) ?? throw new ApiException(ErrorCode.UnknownRoom, "no such room");
            CheckBindable(room);
            RoomProtection.Check(context, room);
            var user = body?["user"]?.GetValue<string>() ?? throw new ApiException(ErrorCode.BadRequest, "user is required");
            var action = body?["action"]?.GetValue<string>() ?? throw new ApiException(ErrorCode.BadRequest, "action is include, exclude or clear");
            var (_, outcome) = await directory.ChangeAsync(by, tx => tx.SetManual(room.Key, room.RoomId, tx.RequireUser(user), action)).ConfigureAwait(false);
            return Results.Ok(new { binding = BindingJson(room, directory.Snapshot), membership_events = outcome.Events });
        });

        admin.MapPut("/rooms/{roomId}/members/{userId}/role", async (string roomId, string userId, JsonObject? body, HttpContext context,
            AccountService accounts, RoomRegistry registry, DirectoryService directory) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.Admin);
            var room = registry.Find(roomId) ?? throw new ApiException(ErrorCode.UnknownRoom, "no such room");
            RoomProtection.Check(context, room);
            var role = body?["role"]?.GetValue<string>() ?? throw new ApiException(ErrorCode.BadRequest, "role is required");
            var (_, outcome) = await directory.ChangeAsync(by, tx =>
            {
                var user = tx.RequireUser(userId);
                if (!room.View.State.IsJoined(user.UserId))
                {
                    throw new ApiException(ErrorCode.NotMember, $"{user.UserId} is not a member of the room");
                }
                tx.SetRoomRole(room.Key, room.RoomId, user, role);
                return 0;
            }).ConfigureAwait(false);
            return Results.Ok(new { user_id = userId, role, membership_events = outcome.Events });
        });

        admin.MapPost("/rooms/{roomId}/archive", (string roomId, HttpContext context, AccountService accounts, IRoomLog log, Audit.AuditLog audit) =>
            ArchiveAsync(roomId, true, context, accounts, log, audit));
        admin.MapPost("/rooms/{roomId}/unarchive", (string roomId, HttpContext context, AccountService accounts, IRoomLog log, Audit.AuditLog audit) =>
            ArchiveAsync(roomId, false, context, accounts, log, audit));
    }

    private static async Task<IResult> ArchiveAsync(string roomId, bool archived, HttpContext context, AccountService accounts, IRoomLog log, Audit.AuditLog audit)
    {
        var (session, by) = Access.Require(context, accounts, Access.Admin);
        var outcome = await log.AppendAsync(new ArchiveProposal(session.Actor, roomId, archived, Privileged: true)).ConfigureAwait(false);
        Check(outcome);
        await audit.RecordAsync(by.Event(archived ? "room.archive" : "room.unarchive", roomId)).ConfigureAwait(false);
        return Results.Ok(new { room_id = roomId, archived, seq = outcome.Events[^1].Seq });
    }

    private static void MapPolicies(RouteGroupBuilder admin)
    {
        admin.MapGet("/policies", (HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            Access.Require(context, accounts, Access.Admin);
            return Results.Ok(PolicyJson(directory.Snapshot.Policy));
        });

        admin.MapPut("/policies", async (JsonObject? body, HttpContext context, AccountService accounts, DirectoryService directory) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.Admin);
            var (policy, _) = await directory.ChangeAsync(by, tx =>
            {
                var (next, changes) = PolicyUpdate.Apply(tx.CurrentPolicy, body ?? [], tx);
                tx.SetPolicy(next, changes);
                return tx.Policy!;
            }).ConfigureAwait(false);
            return Results.Ok(PolicyJson(policy));
        });
    }

    private static void MapScimTokens(RouteGroupBuilder admin)
    {
        admin.MapGet("/scim/tokens", (HttpContext context, AccountService accounts, ScimTokens tokens) =>
        {
            Access.Require(context, accounts, Access.Admin);
            return Results.Ok(new
            {
                tokens = tokens.List().Select(t => new { id = t.Id, name = t.Name, created_at = t.CreatedAt, created_by = t.CreatedBy, revoked = t.Revoked }),
            });
        });

        admin.MapPost("/scim/tokens", async (JsonObject? body, HttpContext context, AccountService accounts, ScimTokens tokens) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.Admin);
            var (record, token) = await tokens.CreateAsync(by, body?["name"]?.GetValue<string>() ?? "").ConfigureAwait(false);
            return Results.Created($"/v1/admin/scim/tokens/{record.Id}", new
            {
                id = record.Id,
                name = record.Name,
                token,
                scim_base_url = $"{context.Request.Scheme}://{context.Request.Host}/scim/v2",
            });
        });

        admin.MapDelete("/scim/tokens/{id}", async (string id, HttpContext context, AccountService accounts, ScimTokens tokens) =>
        {
            var (_, by) = Access.Require(context, accounts, Access.Admin);
            await tokens.RevokeAsync(by, id).ConfigureAwait(false);
            return Results.NoContent();
        });
    }

    // ---- JSON shapes --------------------------------------------------------------------------------------------

    private static object GroupJson(GroupState g, DirectorySnapshot snapshot, bool members) => new
    {
        id = g.Record.Id,
        display_name = g.Record.DisplayName,
        external_id = g.Record.ExternalId,
        member_count = g.Members.Count,
        members = members ? g.Members.Select(k => snapshot.Users.GetValueOrDefault(k)?.UserId).Where(u => u is not null).Order(StringComparer.Ordinal).ToList() : null,
    };

    private static object RuleJson(CompiledRule r, DirectorySnapshot snapshot, Dictionary<long, List<long>> roomsByRule) => new
    {
        name = r.Record.Name,
        expression = r.Record.Expression,
        description = r.Record.Description,
        attributes = r.Expression.UsedAttributes,
        rooms = roomsByRule.TryGetValue(r.Record.Key, out var rooms) ? rooms.Select(k => snapshot.Bindings[k].RoomId).ToList() : [],
        matches = Matching(r.Expression, snapshot).Count(),
        updated_at = r.Record.UpdatedAt,
    };

    private static IEnumerable<DirectoryEntry> Matching(RuleExpression expression, DirectorySnapshot snapshot)
    {
        var subject = new RuleSubject(snapshot.Groups);
        return snapshot.Users.Values.Where(u => u is { Active: true, Deleted: false } && expression.Matches(subject.For(u))).OrderBy(u => u.UserId, StringComparer.Ordinal);
    }

    private static object BindingJson(Room room, DirectorySnapshot snapshot)
    {
        var b = snapshot.Bindings.GetValueOrDefault(room.Key);
        string Id(long key) => snapshot.Users.GetValueOrDefault(key)?.UserId ?? key.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var members = room.View.State.Members.Where(m => m.Value.Membership == Protocol.Events.Membership.Join).ToList();
        return new
        {
            room_id = room.RoomId,
            rules = b?.Rules.Select(k => snapshot.Rules.GetValueOrDefault(k)?.Record.Name).Order(StringComparer.Ordinal).ToList() ?? [],
            manual_members = b?.Include.Select(Id).Order(StringComparer.Ordinal).ToList() ?? [],
            exclusions = b?.Exclude.Select(Id).Order(StringComparer.Ordinal).ToList() ?? [],
            rule_members = members.Count(m => m.Value.Managed),
            other_members = members.Count(m => !m.Value.Managed),
        };
    }

    public static object PolicyJson(PolicyRecord p) => new
    {
        room_creation = p.RoomCreation,
        room_creation_roles = p.RoomCreationRoles,
        direct_messages = p.DirectMessages,
        direct_allowlist = p.DirectAllowlist.Select(a => new { from = a.From, to = a.To }),
        invites = p.Invites,
        invite_roles = p.InviteRoles,
        exempt_roles = p.ExemptRoles,
        self_editable = p.SelfEditable,
        updated_at = p.UpdatedAt,
        updated_by = p.UpdatedBy,
    };

    /// <summary>The rules a binding names, plus one "member of the group" rule per directory group it names.</summary>
    private static List<long> BindingRules(DirectoryTransaction tx, List<string> rules, List<string> groups)
    {
        var keys = rules.Select(r => (tx.FindRule(r) ?? throw new ApiException(ErrorCode.NotFound, $"no rule '{r}'")).Record.Key).ToList();
        foreach (var g in groups)
        {
            var group = tx.FindGroup(g) ?? throw new ApiException(ErrorCode.NotFound, $"no group '{g}'");
            keys.Add(tx.RuleForGroup(group).Record.Key);
        }
        return keys;
    }

    private static void CheckBindable(Room room)
    {
        if (room.View.State.Kind == RoomKinds.Direct)
        {
            throw new ApiException(ErrorCode.BadRequest, "direct conversations cannot follow directory rules");
        }
    }

    public static List<string>? Strings(JsonNode? node, string name)
    {
        if (node is null)
        {
            return null;
        }
        if (node is not JsonArray array || array.Any(n => n is not JsonValue v || v.GetValueKind() != System.Text.Json.JsonValueKind.String))
        {
            throw new ApiException(ErrorCode.BadRequest, $"{name} must be an array of strings");
        }
        return array.Select(n => n!.GetValue<string>()).ToList();
    }

    private static void Check(AppendOutcome outcome)
    {
        if (!outcome.Ok)
        {
            throw new ApiException(outcome.Error!.Value, outcome.Message!);
        }
    }

    private static string SetupLink(HttpContext context, AccountOptions options, string token)
    {
        var baseUrl = options.PublicBaseUrl?.TrimEnd('/') ?? $"{context.Request.Scheme}://{context.Request.Host}";
        return $"{baseUrl}/setup#token={token}";
    }
}
