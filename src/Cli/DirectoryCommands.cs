using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using TeamComms.Client;
using TeamComms.Crypto;
using TeamComms.Protocol.Audit;

namespace TeamComms.Cli;

/// <summary>
/// The directory, provisioning, policy, compliance and audit commands: <c>teamcomms directory …</c>,
/// <c>teamcomms admin users|roles|groups|rules|rooms|policy|import|scim|audit …</c>, <c>teamcomms compliance …</c>.
/// </summary>
internal static class DirectoryCommands
{
    public static void Add(RootCommand root, Command admin, Command users, Command rooms, Option<string> config, Option<bool> json)
    {
        root.Subcommands.Add(DirectoryCommand(config, json));
        AddUserCommands(users, config, json);
        admin.Subcommands.Add(SessionsCommand(config));
        admin.Subcommands.Add(RolesCommand(config, json));
        admin.Subcommands.Add(GroupsCommand(config, json));
        admin.Subcommands.Add(RulesCommand(config, json));
        admin.Subcommands.Add(AdminRoomsCommand(config, json));
        admin.Subcommands.Add(PolicyCommand(config, json));
        admin.Subcommands.Add(ImportCommand(config, json));
        admin.Subcommands.Add(ScimCommand(config, json));
        admin.Subcommands.Add(AuditCommand(config, json));
        root.Subcommands.Add(ComplianceCommand(config, json));
        AddRoomCommands(rooms, config);
    }

    // ---- directory (everyone) -------------------------------------------------------------------------------------

    private static Command DirectoryCommand(Option<string> config, Option<bool> json)
    {
        var directory = new Command("directory", "Search the company directory and edit your profile");
        var query = new Argument<string>("query") { Description = "Start of a name, department or title (case-insensitive); empty to browse", DefaultValueFactory = _ => "" };
        var field = new Option<string>("--field") { Description = "name, department or title", DefaultValueFactory = _ => "name" };
        var limit = new Option<int>("--limit") { Description = "People per page", DefaultValueFactory = _ => 25 };
        var all = new Option<bool>("--all") { Description = "Follow the pages to the end" };
        var search = new Command("search", "Find people by name, department or title");
        search.Arguments.Add(query);
        search.Options.Add(field);
        search.Options.Add(limit);
        search.Options.Add(all);
        search.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            string? cursor = null;
            do
            {
                var page = (await http.SearchDirectoryAsync(pr.GetValue(query)!, pr.GetValue(field)!, pr.GetValue(limit), cursor, ct))!;
                foreach (var u in page["users"]!.AsArray())
                {
                    Console.WriteLine(pr.GetValue(json) ? u!.ToJsonString() : $"{u!["user_id"]}\t{u["display_name"]}\t{u["title"]}\t{u["department"]}\t{u["location"]}");
                }
                cursor = page["next"]?.GetValue<string>();
                if (cursor is not null && !pr.GetValue(all))
                {
                    Console.Error.WriteLine($"more: --all, or page on with the cursor {cursor}");
                    cursor = null;
                }
            }
            while (cursor is not null);
        }));
        directory.Subcommands.Add(search);

        var user = new Argument<string>("user") { Description = "User id or username" };
        var show = new Command("show", "Show a profile");
        show.Arguments.Add(user);
        show.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            PrintObject(await http.GetProfileAsync(pr.GetValue(user)!, ct), pr.GetValue(json));
        }));
        directory.Subcommands.Add(show);

        var set = SetOption();
        var editMe = new Command("edit-me", "Change your own profile (the fields your company lets you change)");
        editMe.Options.Add(set);
        editMe.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            PrintObject(await http.UpdateMyProfileAsync(Fields(pr.GetValue(set)), ct), pr.GetValue(json));
        }));
        directory.Subcommands.Add(editMe);

        var dm = new Command("dm", "Start (or find) your direct conversation with someone; prints the room id");
        dm.Arguments.Add(user);
        dm.SetAction((pr, ct) => Cli.Run(async () =>
        {
            await using var conn = await Cli.ConnectAsync(pr.GetValue(config)!, ct);
            var result = (Dictionary<string, object?>)(await conn.CallAsync("directory.start_dm", new Dictionary<string, object?> { ["user"] = pr.GetValue(user) }, ct))!;
            Console.WriteLine(result["room_id"]);
        }));
        directory.Subcommands.Add(dm);
        return directory;
    }

    // ---- people -------------------------------------------------------------------------------------------------

    private static void AddUserCommands(Command users, Option<string> config, Option<bool> json)
    {
        var user = new Argument<string>("user") { Description = "User id or username" };
        var set = SetOption();
        var role = new Option<string[]>("--role") { Description = "Company roles (replaces the current ones)", AllowMultipleArgumentsPerToken = true };
        var update = new Command("update", "Change profile fields (--set title=CTO --set department=)");
        update.Arguments.Add(user);
        update.Options.Add(set);
        update.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            PrintObject(await http.UpdateUserAsync(pr.GetValue(user)!, Fields(pr.GetValue(set)), ct), pr.GetValue(json));
        }));
        users.Subcommands.Add(update);

        var roles = new Command("roles", "Set a user's company roles exactly (no --role: none)");
        roles.Arguments.Add(user);
        roles.Options.Add(role);
        roles.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var result = await http.SetRolesAsync(pr.GetValue(user)!, pr.GetValue(role) ?? [], ct);
            Console.WriteLine($"{result!["user_id"]}: {string.Join(", ", result["roles"]!.AsArray().Select(r => r!.GetValue<string>()))}");
        }));
        users.Subcommands.Add(roles);

        var reason = new Option<string?>("--reason") { Description = "Why (shown to the devices being wiped, and audited)" };
        var deactivate = new Command("deactivate", "Offboard: revoke every session, wipe devices, remove from every room; data is kept");
        deactivate.Arguments.Add(user);
        deactivate.Options.Add(reason);
        deactivate.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var result = await http.DeactivateUserAsync(pr.GetValue(user)!, pr.GetValue(reason), ct);
            Console.WriteLine($"deactivated {result!["user_id"]}; {result["membership_events"]} room membership(s) ended");
        }));
        users.Subcommands.Add(deactivate);

        var reactivate = new Command("reactivate", "Let a deactivated user back in");
        reactivate.Arguments.Add(user);
        reactivate.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            Console.WriteLine($"reactivated {(await http.ReactivateUserAsync(pr.GetValue(user)!, ct))!["user_id"]}");
        }));
        users.Subcommands.Add(reactivate);

        var links = new Command("setup-links", "Issue setup links for everyone who has never set a password (for example users from SCIM)");
        links.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var result = await http.SendAsync(HttpMethod.Post, "/v1/admin/users/setup-links", new JsonObject(), ct);
            foreach (var l in result!["links"]!.AsArray())
            {
                Console.WriteLine($"{l!["user_id"]}\t{l["email"]}\t{l["setup_link"]}");
            }
        }));
        users.Subcommands.Add(links);
    }

    private static Command SessionsCommand(Option<string> config)
    {
        var sessions = new Command("sessions", "Devices of any user");
        var session = new Argument<string>("session") { Description = "Session id (s…)" };
        var reason = new Option<string?>("--reason") { Description = "Shown to the device with the wipe, and audited" };
        var wipe = new Command("wipe", "Revoke one lost device's session and tell it to wipe company data; the user stays");
        wipe.Arguments.Add(session);
        wipe.Options.Add(reason);
        wipe.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            await http.WipeSessionAsync(pr.GetValue(session)!, pr.GetValue(reason), ct);
            Console.WriteLine("wiped");
        }));
        sessions.Subcommands.Add(wipe);
        return sessions;
    }

    private static Command RolesCommand(Option<string> config, Option<bool> json)
    {
        var roles = new Command("roles", "Company roles (built-in and custom)");
        var list = new Command("list", "List roles");
        list.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var result = await http.SendAsync(HttpMethod.Get, "/v1/admin/roles", null, ct);
            foreach (var r in result!["roles"]!.AsArray())
            {
                Console.WriteLine(pr.GetValue(json) ? r!.ToJsonString() : $"{r!["name"]}\t{r["description"]}");
            }
        }));
        var name = new Argument<string>("name") { Description = "Role name (a-z, 0-9, . _ = -)" };
        var description = new Option<string>("--description") { Description = "What the role is for", DefaultValueFactory = _ => "" };
        var create = new Command("create", "Create a custom role");
        create.Arguments.Add(name);
        create.Options.Add(description);
        create.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            await http.SendAsync(HttpMethod.Post, "/v1/admin/roles", new JsonObject { ["name"] = pr.GetValue(name), ["description"] = pr.GetValue(description) }, ct);
            Console.WriteLine("created");
        }));
        var delete = new Command("delete", "Delete a custom role that nobody holds");
        delete.Arguments.Add(name);
        delete.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            await http.SendAsync(HttpMethod.Delete, "/v1/admin/roles/" + Uri.EscapeDataString(pr.GetValue(name)!), null, ct);
            Console.WriteLine("deleted");
        }));
        roles.Subcommands.Add(list);
        roles.Subcommands.Add(create);
        roles.Subcommands.Add(delete);
        return roles;
    }

    private static Command GroupsCommand(Option<string> config, Option<bool> json)
    {
        var groups = new Command("groups", "Directory groups (also what SCIM Groups become)");
        var group = new Argument<string>("group") { Description = "Group id or name" };
        var members = new Argument<string[]>("users") { Description = "User ids or usernames", Arity = ArgumentArity.ZeroOrMore };
        var list = new Command("list", "List groups");
        list.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            foreach (var g in (await http.SendAsync(HttpMethod.Get, "/v1/admin/groups", null, ct))!["groups"]!.AsArray())
            {
                Console.WriteLine(pr.GetValue(json) ? g!.ToJsonString() : $"{g!["id"]}\t{g["display_name"]}\t{g["member_count"]} members");
            }
        }));
        var show = new Command("show", "Show a group and its members");
        show.Arguments.Add(group);
        show.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            PrintObject(await http.SendAsync(HttpMethod.Get, "/v1/admin/groups/" + Uri.EscapeDataString(pr.GetValue(group)!), null, ct), pr.GetValue(json));
        }));
        var create = new Command("create", "Create a group");
        create.Arguments.Add(group);
        create.Arguments.Add(members);
        create.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var result = await http.SendAsync(HttpMethod.Post, "/v1/admin/groups", new JsonObject
            {
                ["display_name"] = pr.GetValue(group),
                ["members"] = Array(pr.GetValue(members)),
            }, ct);
            Console.WriteLine(result!["id"]);
        }));
        Command Change(string verb, string description)
        {
            var command = new Command(verb, description);
            command.Arguments.Add(group);
            command.Arguments.Add(members);
            command.SetAction((pr, ct) => Cli.Run(async () =>
            {
                using var http = Cli.Http(pr.GetValue(config)!);
                var result = await http.SendAsync(HttpMethod.Patch, "/v1/admin/groups/" + Uri.EscapeDataString(pr.GetValue(group)!),
                    new JsonObject { [verb] = Array(pr.GetValue(members)) }, ct);
                Console.WriteLine($"{result!["display_name"]}: {result["member_count"]} members");
            }));
            return command;
        }
        var delete = new Command("delete", "Delete a group");
        delete.Arguments.Add(group);
        delete.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            await http.SendAsync(HttpMethod.Delete, "/v1/admin/groups/" + Uri.EscapeDataString(pr.GetValue(group)!), null, ct);
            Console.WriteLine("deleted");
        }));
        groups.Subcommands.Add(list);
        groups.Subcommands.Add(show);
        groups.Subcommands.Add(create);
        groups.Subcommands.Add(Change("add", "Add members"));
        groups.Subcommands.Add(Change("remove", "Remove members"));
        groups.Subcommands.Add(delete);
        return groups;
    }

    private static Command RulesCommand(Option<string> config, Option<bool> json)
    {
        var rules = new Command("rules", "Attribute rules that rooms' membership follows");
        var name = new Argument<string>("name") { Description = "Rule name" };
        var expression = new Argument<string>("expression") { Description = "For example: department = Sales and location in (Berlin, Munich)" };
        var description = new Option<string?>("--description") { Description = "What the rule is for" };
        var list = new Command("list", "List rules with their rooms and how many people match");
        list.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            foreach (var r in (await http.SendAsync(HttpMethod.Get, "/v1/admin/rules", null, ct))!["rules"]!.AsArray())
            {
                Console.WriteLine(pr.GetValue(json) ? r!.ToJsonString() : $"{r!["name"]}\t{r["expression"]}\t{r["matches"]} people\t{r["rooms"]!.AsArray().Count} rooms");
            }
        }));
        var show = new Command("show", "Show a rule");
        show.Arguments.Add(name);
        show.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            PrintObject(await http.SendAsync(HttpMethod.Get, "/v1/admin/rules/" + Uri.EscapeDataString(pr.GetValue(name)!), null, ct), pr.GetValue(json));
        }));
        var create = new Command("create", "Create a rule");
        create.Arguments.Add(name);
        create.Arguments.Add(expression);
        create.Options.Add(description);
        create.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var result = await http.SendAsync(HttpMethod.Post, "/v1/admin/rules", new JsonObject
            {
                ["name"] = pr.GetValue(name),
                ["expression"] = pr.GetValue(expression),
                ["description"] = pr.GetValue(description),
            }, ct);
            Console.WriteLine($"created {result!["name"]}: {result["matches"]} people match");
        }));
        var update = new Command("update", "Change a rule's expression; bound rooms follow at once");
        update.Arguments.Add(name);
        update.Arguments.Add(expression);
        update.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var result = await http.SendAsync(HttpMethod.Put, "/v1/admin/rules/" + Uri.EscapeDataString(pr.GetValue(name)!),
                new JsonObject { ["expression"] = pr.GetValue(expression) }, ct);
            Console.WriteLine($"updated; {result!["membership_events"]} membership change(s)");
        }));
        var delete = new Command("delete", "Delete a rule (its rooms stop following it)");
        delete.Arguments.Add(name);
        delete.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            await http.SendAsync(HttpMethod.Delete, "/v1/admin/rules/" + Uri.EscapeDataString(pr.GetValue(name)!), null, ct);
            Console.WriteLine("deleted");
        }));
        var preview = new Command("preview", "Who would match an expression");
        preview.Arguments.Add(expression);
        preview.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var result = await http.SendAsync(HttpMethod.Post, "/v1/admin/rules/preview", new JsonObject { ["expression"] = pr.GetValue(expression) }, ct);
            Console.WriteLine($"{result!["count"]} people match");
            foreach (var u in result["users"]!.AsArray())
            {
                Console.WriteLine(u);
            }
        }));
        foreach (var c in new[] { list, show, create, update, delete, preview })
        {
            rules.Subcommands.Add(c);
        }
        return rules;
    }

    private static Command AdminRoomsCommand(Option<string> config, Option<bool> json)
    {
        var rooms = new Command("rooms", "Company rooms: rule bindings, manual members, roles, archiving");
        var room = new Argument<string>("room") { Description = "Room id (!…@server)" };
        var user = new Argument<string>("user") { Description = "User id or username" };
        var rule = new Option<string[]>("--rule") { Description = "Rules the room's membership follows", AllowMultipleArgumentsPerToken = true };
        var group = new Option<string[]>("--group") { Description = "Directory groups whose members belong in the room (id or name)", AllowMultipleArgumentsPerToken = true };
        var archived = new Option<bool>("--archived") { Description = "Only archived rooms" };
        string Path(ParseResult pr, string suffix = "") => "/v1/admin/rooms/" + Uri.EscapeDataString(pr.GetValue(room)!) + suffix;

        var list = new Command("list", "List rooms");
        list.Options.Add(archived);
        list.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var result = await http.SendAsync(HttpMethod.Get, "/v1/admin/rooms" + (pr.GetValue(archived) ? "?archived=true" : ""), null, ct);
            foreach (var r in result!["rooms"]!.AsArray())
            {
                Console.WriteLine(pr.GetValue(json) ? r!.ToJsonString()
                    : $"{r!["room_id"]}\t{r["name"]}\t{r["kind"]}\t{(r["archived"]!.GetValue<bool>() ? "archived" : "active")}\t{string.Join(',', r["rules"]!.AsArray())}");
            }
        }));
        var name = new Argument<string>("name") { Description = "Room name" };
        var kind = new Option<string?>("--kind") { Description = "group or announcement" };
        var create = new Command("create", "Create a company room, optionally bound to rules");
        create.Arguments.Add(name);
        create.Options.Add(rule);
        create.Options.Add(group);
        create.Options.Add(kind);
        create.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var result = await http.SendAsync(HttpMethod.Post, "/v1/admin/rooms", new JsonObject
            {
                ["name"] = pr.GetValue(name),
                ["kind"] = pr.GetValue(kind),
                ["rules"] = Array(pr.GetValue(rule)),
                ["groups"] = Array(pr.GetValue(group)),
            }, ct);
            Console.WriteLine(result!["room_id"]);
        }));
        var bind = new Command("bind", "Set the rules and groups a room's membership follows (neither: unbind)");
        bind.Arguments.Add(room);
        bind.Options.Add(rule);
        bind.Options.Add(group);
        bind.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var result = await http.SendAsync(HttpMethod.Put, Path(pr, "/binding"),
                new JsonObject { ["rules"] = Array(pr.GetValue(rule)), ["groups"] = Array(pr.GetValue(group)) }, ct);
            Console.WriteLine($"bound; {result!["membership_events"]} membership change(s)");
        }));
        var binding = new Command("binding", "Show a room's rules, manual members and exclusions");
        binding.Arguments.Add(room);
        binding.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            PrintObject(await http.SendAsync(HttpMethod.Get, Path(pr, "/binding"), null, ct), pr.GetValue(json));
        }));
        Command Manual(string action, string description)
        {
            var command = new Command(action, description);
            command.Arguments.Add(room);
            command.Arguments.Add(user);
            command.SetAction((pr, ct) => Cli.Run(async () =>
            {
                using var http = Cli.Http(pr.GetValue(config)!);
                var result = await http.SendAsync(HttpMethod.Post, Path(pr, "/manual"), new JsonObject { ["user"] = pr.GetValue(user), ["action"] = action }, ct);
                Console.WriteLine($"ok; {result!["membership_events"]} membership change(s)");
            }));
            return command;
        }
        var roleName = new Argument<string>("role") { Description = "owner, moderator, poster or member" };
        var setRole = new Command("role", "Set a member's role in a room");
        setRole.Arguments.Add(room);
        setRole.Arguments.Add(user);
        setRole.Arguments.Add(roleName);
        setRole.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            await http.SendAsync(HttpMethod.Put, Path(pr, "/members/" + Uri.EscapeDataString(pr.GetValue(user)!) + "/role"), new JsonObject { ["role"] = pr.GetValue(roleName) }, ct);
            Console.WriteLine("ok");
        }));
        Command Archive(string verb)
        {
            var command = new Command(verb, verb == "archive" ? "Archive a room: read-only, hidden from the active list, history kept" : "Make an archived room active again");
            command.Arguments.Add(room);
            command.SetAction((pr, ct) => Cli.Run(async () =>
            {
                using var http = Cli.Http(pr.GetValue(config)!);
                await http.SendAsync(HttpMethod.Post, Path(pr, "/" + verb), new JsonObject(), ct);
                Console.WriteLine(verb + "d");
            }));
            return command;
        }
        foreach (var c in new[] { list, create, bind, binding, Manual("include", "Add a manual member (kept whatever the rules say)"),
            Manual("exclude", "Exclude someone (kept out whatever the rules say)"), Manual("clear", "Remove a manual member or exclusion"), setRole,
            Archive("archive"), Archive("unarchive") })
        {
            rooms.Subcommands.Add(c);
        }
        return rooms;
    }

    private static Command PolicyCommand(Option<string> config, Option<bool> json)
    {
        var policy = new Command("policy", "Company policies: room creation, direct messages, invites, self-editable fields");
        var show = new Command("show", "Show the policies");
        show.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            PrintObject(await http.SendAsync(HttpMethod.Get, "/v1/admin/policies", null, ct), pr.GetValue(json));
        }));
        var roomCreation = new Option<string?>("--room-creation") { Description = "everyone, roles or admins" };
        var roomCreationRoles = new Option<string[]?>("--room-creation-role") { Description = "Roles that may create rooms", AllowMultipleArgumentsPerToken = true };
        var direct = new Option<string?>("--direct-messages") { Description = "everyone, same_department or allowlist" };
        var allow = new Option<string[]?>("--allow") { Description = "Allowlist entry FROM=TO, e.g. department:Sales=department:Support", AllowMultipleArgumentsPerToken = true };
        var invites = new Option<string?>("--invites") { Description = "everyone, moderators or roles" };
        var inviteRoles = new Option<string[]?>("--invite-role") { Description = "Roles that may invite", AllowMultipleArgumentsPerToken = true };
        var exempt = new Option<string[]?>("--exempt-role") { Description = "Roles every policy lets through", AllowMultipleArgumentsPerToken = true };
        var selfEditable = new Option<string[]?>("--self-editable") { Description = "Profile fields users may change themselves", AllowMultipleArgumentsPerToken = true };
        var set = new Command("set", "Change policies (only the options given)");
        foreach (var o in new Option[] { roomCreation, roomCreationRoles, direct, allow, invites, inviteRoles, exempt, selfEditable })
        {
            set.Options.Add(o);
        }
        set.SetAction((pr, ct) => Cli.Run(async () =>
        {
            var body = new JsonObject();
            void Put(string key, string? value)
            {
                if (value is not null)
                {
                    body[key] = value;
                }
            }
            void PutList(string key, string[]? values)
            {
                if (values is not null)
                {
                    body[key] = Array(values);
                }
            }
            Put("room_creation", pr.GetValue(roomCreation));
            PutList("room_creation_roles", pr.GetValue(roomCreationRoles));
            Put("direct_messages", pr.GetValue(direct));
            Put("invites", pr.GetValue(invites));
            PutList("invite_roles", pr.GetValue(inviteRoles));
            PutList("exempt_roles", pr.GetValue(exempt));
            PutList("self_editable", pr.GetValue(selfEditable));
            if (pr.GetValue(allow) is { } entries)
            {
                body["direct_allowlist"] = new JsonArray(entries.Select(e =>
                {
                    var eq = e.IndexOf('=', StringComparison.Ordinal);
                    return eq <= 0 ? throw new ArgumentException($"--allow '{e}' is FROM=TO") : (JsonNode)new JsonObject { ["from"] = e[..eq], ["to"] = e[(eq + 1)..] };
                }).ToArray());
            }
            using var http = Cli.Http(pr.GetValue(config)!);
            PrintObject(await http.SendAsync(HttpMethod.Put, "/v1/admin/policies", body, ct), pr.GetValue(json));
        }));
        policy.Subcommands.Add(show);
        policy.Subcommands.Add(set);
        return policy;
    }

    private static Command ImportCommand(Option<string> config, Option<bool> json)
    {
        var file = new Argument<string>("file") { Description = "CSV file, one employee per row (docs/operations.md)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "List the changes without applying them" };
        var links = new Option<string?>("--setup-links") { Description = "Write one-time setup links of new users to this CSV file" };
        var missing = new Option<bool>("--deactivate-missing") { Description = "Offboard every active user not in the file" };
        var import = new Command("import", "Import employees from a CSV file (HR export)");
        import.Arguments.Add(file);
        import.Options.Add(dryRun);
        import.Options.Add(links);
        import.Options.Add(missing);
        import.SetAction((pr, ct) => Cli.Run(async () =>
        {
            var csv = await File.ReadAllTextAsync(pr.GetValue(file)!, ct);
            using var http = Cli.Http(pr.GetValue(config)!);
            JsonObject result;
            try
            {
                result = await http.ImportCsvAsync(csv, pr.GetValue(dryRun), pr.GetValue(links) is not null, pr.GetValue(missing), ct);
            }
            catch (CsvImportException ex)
            {
                Console.Error.WriteLine($"error: {ex.Message}");
                foreach (var (line, message) in ex.Errors)
                {
                    Console.Error.WriteLine($"  line {line}: {message}");
                }
                throw new OperationFailedException();
            }
            if (pr.GetValue(json))
            {
                Console.WriteLine(result.ToJsonString());
            }
            else
            {
                var verb = result["dry_run"]!.GetValue<bool>() ? "would " : "";
                Console.WriteLine($"{verb}create {result["created"]!.AsArray().Count}, {verb}update {result["updated"]!.AsArray().Count}, " +
                    $"{verb}deactivate {result["deactivated"]!.AsArray().Count}, {verb}reactivate {result["reactivated"]!.AsArray().Count}");
                foreach (var u in result["created"]!.AsArray())
                {
                    Console.WriteLine($"  + {u}");
                }
                foreach (var u in result["updated"]!.AsArray())
                {
                    Console.WriteLine($"  ~ {u!["user_id"]} ({string.Join(", ", u["fields"]!.AsArray())})");
                }
                foreach (var u in result["deactivated"]!.AsArray())
                {
                    Console.WriteLine($"  - {u}");
                }
                if (result["memberships"] is JsonArray changes)
                {
                    foreach (var c in changes)
                    {
                        Console.WriteLine($"  room {c!["room_name"]} ({c["room_id"]}): {c["user_id"]} {c["change"]}");
                    }
                }
                else
                {
                    Console.WriteLine($"{result["membership_events"]} room membership change(s) committed");
                }
            }
            if (pr.GetValue(links) is { } linksFile && !result["dry_run"]!.GetValue<bool>())
            {
                var lines = new List<string> { "user_id,email,setup_link" };
                lines.AddRange(result["setup_links"]!.AsArray().Select(l => $"{l!["user_id"]},{l["email"]},{l["setup_link"]}"));
                await File.WriteAllLinesAsync(linksFile, lines, ct);
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(linksFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                }
            }
        }));
        return import;
    }

    private static Command ScimCommand(Option<string> config, Option<bool> json)
    {
        var scim = new Command("scim", "SCIM 2.0 provisioning from Okta, Entra ID or an HR system");
        var token = new Command("token", "Bearer tokens for identity providers");
        var name = new Argument<string>("name") { Description = "Who uses it, for example okta or entra" };
        var create = new Command("create", "Create a token (shown once)");
        create.Arguments.Add(name);
        create.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var result = await http.SendAsync(HttpMethod.Post, "/v1/admin/scim/tokens", new JsonObject { ["name"] = pr.GetValue(name) }, ct);
            Console.WriteLine($"SCIM base URL: {result!["scim_base_url"]}");
            Console.WriteLine($"token (shown once): {result["token"]}");
        }));
        var list = new Command("list", "List tokens");
        list.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            foreach (var t in (await http.SendAsync(HttpMethod.Get, "/v1/admin/scim/tokens", null, ct))!["tokens"]!.AsArray())
            {
                Console.WriteLine(pr.GetValue(json) ? t!.ToJsonString() : $"{t!["id"]}\t{t["name"]}\t{(t["revoked"]!.GetValue<bool>() ? "revoked" : "active")}");
            }
        }));
        var id = new Argument<string>("id") { Description = "Token id (st…)" };
        var revoke = new Command("revoke", "Revoke a token; it stops working at once");
        revoke.Arguments.Add(id);
        revoke.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            await http.SendAsync(HttpMethod.Delete, "/v1/admin/scim/tokens/" + Uri.EscapeDataString(pr.GetValue(id)!), null, ct);
            Console.WriteLine("revoked");
        }));
        token.Subcommands.Add(create);
        token.Subcommands.Add(list);
        token.Subcommands.Add(revoke);
        scim.Subcommands.Add(token);
        return scim;
    }

    private static Command AuditCommand(Option<string> config, Option<bool> json)
    {
        var audit = new Command("audit", "The audit log: query, verify, sign");
        var actor = new Option<string?>("--actor") { Description = "Who (a user id, or scim:<token>)" };
        var action = new Option<string?>("--action") { Description = "What, exactly, or a family ending in '.' (user.)" };
        var target = new Option<string?>("--target") { Description = "To what" };
        var since = new Option<string?>("--since") { Description = "From (ISO 8601 or unix ms)" };
        var until = new Option<string?>("--until") { Description = "Until (ISO 8601 or unix ms)" };
        var limit = new Option<int>("--limit") { Description = "Entries per page", DefaultValueFactory = _ => 50 };
        var before = new Option<string?>("--before") { Description = "Page cursor: entries before this seq" };
        var list = new Command("list", "Entries, newest first");
        foreach (var o in new Option[] { actor, action, target, since, until, limit, before })
        {
            list.Options.Add(o);
        }
        list.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var page = await http.QueryAuditAsync(new Dictionary<string, string?>
            {
                ["actor"] = pr.GetValue(actor),
                ["action"] = pr.GetValue(action),
                ["target"] = pr.GetValue(target),
                ["since"] = pr.GetValue(since),
                ["until"] = pr.GetValue(until),
                ["before"] = pr.GetValue(before),
                ["limit"] = pr.GetValue(limit).ToString(System.Globalization.CultureInfo.InvariantCulture),
            }, ct);
            foreach (var e in page!["entries"]!.AsArray())
            {
                var details = string.Join(' ', e!["details"]!.AsObject().Select(kv => $"{kv.Key}={kv.Value}"));
                Console.WriteLine(pr.GetValue(json) ? e.ToJsonString() : $"{e["seq"]}\t{e["time"]}\t{e["actor"]}\t{e["address"]}\t{e["action"]}\t{e["target"]}\t{details}");
            }
            if (page["next"] is { } next)
            {
                Console.Error.WriteLine($"more: --before {next}");
            }
        }));

        var publicKey = new Option<string?>("--public-key") { Description = "The server's public key (base64) you recorded; default: ask the server" };
        var expect = new Option<string?>("--expect") { Description = "A head recorded elsewhere (for example by your SIEM): SEQ:HASH" };
        var verify = new Command("verify", "Download the log and check every hash, link and signed head here; exit 1 on any problem");
        verify.Options.Add(publicKey);
        verify.Options.Add(expect);
        verify.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var entries = new List<AuditEntry>();
            long after = 0;
            while (true)
            {
                var page = (await http.ExportAuditAsync(after, 1000, ct))!["entries"]!.AsArray();
                if (page.Count == 0)
                {
                    break;
                }
                entries.AddRange(page.Select(e => new AuditEntry(e!["seq"]!.GetValue<long>(), e["ts"]!.GetValue<long>(), e["actor"]!.GetValue<string>(),
                    e["action"]!.GetValue<string>(), e["target"]!.GetValue<string>(), e["address"]!.GetValue<string>(),
                    e["details"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>()),
                    e["prev"] is null ? null : Convert.FromHexString(e["prev"]!.GetValue<string>()), Convert.FromHexString(e["hash"]!.GetValue<string>()))));
                after = entries[^1].Seq;
            }
            var headsJson = (await http.AuditHeadsAsync(ct))!;
            var key = Convert.FromBase64String(pr.GetValue(publicKey) ?? headsJson["public_key"]!.GetValue<string>());
            var heads = headsJson["heads"]!.AsArray().Select(h => new AuditHead(h!["seq"]!.GetValue<long>(), Convert.FromHexString(h["hash"]!.GetValue<string>()),
                h["ts"]!.GetValue<long>(), h["server"]!.GetValue<string>(), h["key_id"]!.GetValue<string>(), Convert.FromBase64String(h["signature"]!.GetValue<string>()))).ToList();
            (long, byte[])? expected = null;
            if (pr.GetValue(expect) is { } e)
            {
                var colon = e.IndexOf(':', StringComparison.Ordinal);
                expected = colon > 0 && long.TryParse(e[..colon], System.Globalization.CultureInfo.InvariantCulture, out var seq)
                    ? (seq, Convert.FromHexString(e[(colon + 1)..]))
                    : throw new ArgumentException("--expect is SEQ:HASH");
            }
            var result = AuditChain.Verify(entries, heads,
                h => SigningKey.Verify(key, AuditChain.HeadSigningInput(h.Server, h.Seq, h.Hash, h.Timestamp), h.Signature), expected);
            if (pr.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    ok = result.Ok,
                    entries = result.Entries,
                    last_seq = result.LastSeq,
                    last_signed_seq = result.LastSignedSeq,
                    problems = result.Problems.Select(p => new { kind = p.Kind, seq = p.Seq, message = p.Message }),
                }));
            }
            else
            {
                Console.WriteLine($"{result.Entries} entries, last {result.LastSeq}, signed up to {result.LastSignedSeq}" +
                    (result.LastSeq > result.LastSignedSeq ? $" ({result.LastSeq - result.LastSignedSeq} not yet signed)" : ""));
                foreach (var p in result.Problems)
                {
                    Console.WriteLine($"PROBLEM {p.Kind} at {p.Seq}: {p.Message}");
                }
                Console.WriteLine(result.Ok ? "OK: the audit log is intact" : "FAILED: the audit log was tampered with");
            }
            if (!result.Ok)
            {
                throw new OperationFailedException();
            }
        }));

        var sign = new Command("sign", "Sign the current head now (admins and security officers)");
        sign.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var head = await http.SendAsync(HttpMethod.Post, "/v1/admin/audit/sign", new JsonObject(), ct);
            Console.WriteLine($"signed head: {head!["seq"]}:{head["hash"]}");
        }));
        audit.Subcommands.Add(list);
        audit.Subcommands.Add(verify);
        audit.Subcommands.Add(sign);
        return audit;
    }

    private static Command ComplianceCommand(Option<string> config, Option<bool> json)
    {
        var compliance = new Command("compliance", "Compliance officers: read archived rooms and export (every read and export is audited)");
        var rooms = new Command("rooms", "Archived rooms");
        rooms.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            foreach (var r in (await http.SendAsync(HttpMethod.Get, "/v1/compliance/rooms", null, ct))!["rooms"]!.AsArray())
            {
                Console.WriteLine(pr.GetValue(json) ? r!.ToJsonString() : $"{r!["room_id"]}\t{r["name"]}\t{r["kind"]}");
            }
        }));
        var room = new Argument<string>("room") { Description = "Room id" };
        var limit = new Option<int>("--limit") { Description = "Events per page", DefaultValueFactory = _ => 100 };
        var from = new Option<long?>("--from") { Description = "First seq" };
        var history = new Command("history", "An archived room's events, oldest first");
        history.Arguments.Add(room);
        history.Options.Add(limit);
        history.Options.Add(from);
        history.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var page = await http.SendAsync(HttpMethod.Get, $"/v1/compliance/rooms/{Uri.EscapeDataString(pr.GetValue(room)!)}/history?limit={pr.GetValue(limit)}" +
                (pr.GetValue(from) is { } f ? $"&from={f}" : ""), null, ct);
            foreach (var e in page!["events"]!.AsArray())
            {
                Console.WriteLine(pr.GetValue(json) ? e!.ToJsonString() : $"[{e!["seq"]}] {e["sender"]} {e["type"]} {e["content"]?.ToJsonString()}");
            }
        }));
        compliance.Subcommands.Add(rooms);
        compliance.Subcommands.Add(history);
        ComplianceCommands.Add(compliance, config, json);
        return compliance;
    }

    private static void AddRoomCommands(Command rooms, Option<string> config)
    {
        var room = new Argument<string>("room") { Description = "Room id (!…@server)" };
        foreach (var verb in new[] { "archive", "unarchive" })
        {
            var command = new Command(verb, verb == "archive" ? "Archive a room you own: read-only, hidden from the list" : "Make an archived room active again");
            command.Arguments.Add(room);
            command.SetAction((pr, ct) => Cli.Run(async () =>
            {
                await using var conn = await Cli.ConnectAsync(pr.GetValue(config)!, ct);
                await conn.CallAsync("rooms." + verb, new Dictionary<string, object?> { ["room"] = pr.GetValue(room) }, ct);
                Console.WriteLine(verb + "d");
            }));
            rooms.Subcommands.Add(command);
        }
        var user = new Argument<string>("user") { Description = "User id" };
        var role = new Argument<string>("role") { Description = "owner, moderator, poster or member" };
        var setRole = new Command("set-role", "Change a member's role (moderators and owners)");
        setRole.Arguments.Add(room);
        setRole.Arguments.Add(user);
        setRole.Arguments.Add(role);
        setRole.SetAction((pr, ct) => Cli.Run(async () =>
        {
            await using var conn = await Cli.ConnectAsync(pr.GetValue(config)!, ct);
            await conn.CallAsync("rooms.set_role", new Dictionary<string, object?> { ["room"] = pr.GetValue(room), ["user"] = pr.GetValue(user), ["role"] = pr.GetValue(role) }, ct);
            Console.WriteLine("ok");
        }));
        rooms.Subcommands.Add(setRole);
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private static Option<string[]> SetOption() =>
        new("--set") { Description = "field=value (empty value clears; custom.<name>=value for company attributes)", AllowMultipleArgumentsPerToken = true };

    /// <summary><c>field=value</c> pairs as a JSON object; <c>custom.x=v</c> goes into <c>custom</c>.</summary>
    private static JsonObject Fields(string[]? pairs)
    {
        var fields = new JsonObject();
        foreach (var pair in pairs ?? [])
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ArgumentException($"--set '{pair}' is field=value");
            }
            var (name, value) = (pair[..eq], pair[(eq + 1)..]);
            if (name.StartsWith("custom.", StringComparison.Ordinal))
            {
                var custom = fields["custom"] as JsonObject ?? [];
                custom[name[7..]] = value.Length == 0 ? null : value;
                fields["custom"] = custom;
            }
            else
            {
                fields[name] = value.Length == 0 ? null : value;
            }
        }
        return fields;
    }

    private static JsonArray Array(string[]? values) => new((values ?? []).Select(v => (JsonNode?)v).ToArray());

    private static void PrintObject(JsonObject? obj, bool json)
    {
        if (obj is null)
        {
            return;
        }
        if (json)
        {
            Console.WriteLine(obj.ToJsonString());
            return;
        }
        foreach (var (k, v) in obj)
        {
            if (v is not null)
            {
                Console.WriteLine($"{k}: {(v is JsonValue ? v.ToString() : v.ToJsonString())}");
            }
        }
    }
}

/// <summary>The command printed its own explanation and must exit with 1.</summary>
internal sealed class OperationFailedException : Exception
{
    public OperationFailedException()
        : base("failed")
    {
    }
}
