using System.Collections.Immutable;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.Audit;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.CompanyDirectory;

/// <summary>
/// One change to the directory, built under the directory's lock against its current snapshot: every operation
/// validates first and throws <see cref="ApiException"/> on bad input, so a request with one bad part changes
/// nothing. <see cref="DirectoryService.CommitAsync"/> then plans the membership changes it causes and commits
/// the rows, the member events and the audit entries together.
/// </summary>
internal sealed class DirectoryTransaction
{
    private readonly Func<int, long> _reserveKeys;
    private readonly Func<string, bool> _userIdTaken;
    private readonly string _serverName;
    private readonly Dictionary<string, long> _newByUserId = new(StringComparer.Ordinal);
    // SCIM userName / externalId owners changed in this transaction; -1 means "no longer used".
    private readonly Dictionary<string, long> _scimNames = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _externalIds = new(StringComparer.Ordinal);
    private long _nextKey;
    private int _keysLeft;
    private long _nextGroupKey;
    private long _nextRuleKey;

    public DirectoryTransaction(DirectorySnapshot snapshot, Principal by, long now, string serverName,
        Func<int, long> reserveKeys, Func<string, bool> userIdTaken)
    {
        Base = snapshot;
        By = by;
        Now = now;
        _serverName = serverName;
        _reserveKeys = reserveKeys;
        _userIdTaken = userIdTaken;
        _nextGroupKey = snapshot.Groups.IsEmpty ? 1 : snapshot.Groups.Keys.Max() + 1;
        _nextRuleKey = snapshot.Rules.IsEmpty ? 1 : snapshot.Rules.Keys.Max() + 1;
    }

    public DirectorySnapshot Base { get; }
    public Principal By { get; }
    public long Now { get; }

    // Overlays over Base. Null values mean "removed".
    public Dictionary<long, DirectoryEntry> Users { get; } = [];
    public Dictionary<long, GroupState?> Groups { get; } = [];
    public Dictionary<long, CompiledRule?> Rules { get; } = [];
    public Dictionary<long, BindingState?> Bindings { get; } = [];
    public Dictionary<string, RoleRecord?> Roles { get; } = new(StringComparer.Ordinal);
    public PolicyRecord? Policy { get; private set; }

    /// <summary>Rows other than profiles, index entries and user rows (those are derived at commit).</summary>
    public List<StagedWrite> Writes { get; } = [];
    public List<AuditEvent> Audit { get; } = [];
    public List<UserRecord> NewUserRows { get; } = [];
    /// <summary>Changes to user rows, applied to a fresh read at commit time under the user write gate.</summary>
    public Dictionary<long, List<Func<UserRecord, UserRecord>>> UserRowChanges { get; } = [];
    /// <summary>Users deactivated here, with the reason their devices are given with the Wipe.</summary>
    public Dictionary<long, string> Deactivations { get; } = [];
    /// <summary>Membership changes asked for directly (room roles), applied after the planned ones.</summary>
    public List<MembershipWant> ExplicitWants { get; } = [];
    /// <summary>New users who get a setup link once the change is committed.</summary>
    public List<long> SetupLinks { get; } = [];

    public bool IsEmpty => Users.Count == 0 && Groups.Count == 0 && Rules.Count == 0 && Bindings.Count == 0 && Roles.Count == 0
        && Policy is null && Writes.Count == 0 && ExplicitWants.Count == 0 && Audit.Count == 0;

    public void Record(string action, string target, IReadOnlyDictionary<string, string>? details = null) =>
        Audit.Add(By.Event(action, target, details));

    // ---- lookups through the overlay ----------------------------------------------------------------------------

    public DirectoryEntry? User(long key) => Users.TryGetValue(key, out var e) ? e : Base.Users.GetValueOrDefault(key);

    public DirectoryEntry? FindUser(string userId)
    {
        if (_newByUserId.TryGetValue(userId, out var key) || Base.ByUserId.TryGetValue(userId, out key))
        {
            return User(key);
        }
        return null;
    }

    /// <summary>A user by user id or bare username.</summary>
    public DirectoryEntry? FindUserByName(string userIdOrUsername) =>
        FindUser(userIdOrUsername.Contains('@') ? userIdOrUsername : Identifiers.UserId(userIdOrUsername, _serverName));

    public DirectoryEntry RequireUser(string userIdOrUsername) =>
        FindUserByName(userIdOrUsername) ?? throw new ApiException(ErrorCode.UnknownUser, $"no user {userIdOrUsername}");

    public DirectoryEntry? FindByScimName(string userName)
    {
        var lower = RuleExpression.Normalize(userName);
        if (_scimNames.TryGetValue(lower, out var key))
        {
            return key < 0 ? null : User(key);
        }
        return Base.ByScimName.TryGetValue(lower, out key) ? User(key) : null;
    }

    public DirectoryEntry? FindByExternalId(string externalId)
    {
        if (_externalIds.TryGetValue(externalId, out var key))
        {
            return key < 0 ? null : User(key);
        }
        return Base.ByExternalId.TryGetValue(externalId, out key) ? User(key) : null;
    }

    public GroupState? Group(long key) => Groups.TryGetValue(key, out var g) ? g : Base.Groups.GetValueOrDefault(key);

    public IEnumerable<GroupState> AllGroups()
    {
        foreach (var (key, g) in Base.Groups)
        {
            if (!Groups.ContainsKey(key))
            {
                yield return g;
            }
        }
        foreach (var g in Groups.Values)
        {
            if (g is not null)
            {
                yield return g;
            }
        }
    }

    public GroupState? FindGroup(string idOrName)
    {
        var normalized = RuleExpression.Normalize(idOrName);
        return AllGroups().FirstOrDefault(g => g.Record.Id == idOrName) ?? AllGroups().FirstOrDefault(g => g.NormalizedName == normalized);
    }

    public CompiledRule? Rule(long key) => Rules.TryGetValue(key, out var r) ? r : Base.Rules.GetValueOrDefault(key);

    public IEnumerable<CompiledRule> AllRules()
    {
        foreach (var (key, r) in Base.Rules)
        {
            if (!Rules.ContainsKey(key))
            {
                yield return r;
            }
        }
        foreach (var r in Rules.Values)
        {
            if (r is not null)
            {
                yield return r;
            }
        }
    }

    public CompiledRule? FindRule(string name) => AllRules().FirstOrDefault(r => r.Record.Name == name);

    public BindingState? Binding(long roomKey) => Bindings.TryGetValue(roomKey, out var b) ? b : Base.Bindings.GetValueOrDefault(roomKey);

    public PolicyRecord CurrentPolicy => Policy ?? Base.Policy;

    public bool IsRole(string role) => CompanyRoleNames.BuiltIn.Contains(role)
        || (Roles.TryGetValue(role, out var r) ? r is not null : Base.CustomRoles.ContainsKey(role));

    // ---- users --------------------------------------------------------------------------------------------------

    /// <summary>Creates a user. <paramref name="profile"/>'s user key is replaced by the allocated one.</summary>
    public DirectoryEntry CreateUser(string username, ProfileRecord profile, IReadOnlyList<string>? roles, bool active, string? passwordHash)
    {
        AccountService.ValidateNewUser(username, profile.DisplayName, profile.Email, null);
        var userId = Identifiers.UserId(username, _serverName);
        if (FindUser(userId) is not null || _userIdTaken(userId))
        {
            throw new ApiException(ErrorCode.Conflict, $"the username '{username}' is taken");
        }
        var roleList = CheckRoles(roles ?? []);
        RoleSeparation.CheckAssignment(roleList, userId);
        var key = NextUserKey();
        profile = profile with { UserKey = key, UpdatedAt = Now, Deleted = false };
        CheckProfile(key, profile);
        var entry = new DirectoryEntry
        {
            Key = key,
            UserId = userId,
            Username = username,
            Active = active,
            Profile = profile,
            Roles = roleList,
            HasPassword = passwordHash is not null,
            CreatedAt = Now,
        };
        Users[key] = entry;
        _newByUserId[userId] = key;
        Claim(null, profile, key);
        NewUserRows.Add(new UserRecord
        {
            Key = key,
            UserId = userId,
            Username = username,
            DisplayName = profile.DisplayName,
            Email = profile.Email,
            PasswordHash = passwordHash,
            Roles = roleList,
            Active = active,
            CreatedAt = Now,
            DeactivatedAt = active ? null : Now,
        });
        Record("user.create", userId, Details(("display_name", profile.DisplayName), ("department", profile.Department),
            ("title", profile.Title), ("roles", string.Join(',', roleList)), ("active", active ? "true" : "false")));
        return entry;
    }

    /// <summary>Replaces a user's profile; records which fields changed. No-op when nothing did.</summary>
    public DirectoryEntry UpdateProfile(long key, ProfileRecord profile, string action = "user.update")
    {
        var entry = User(key) ?? throw new ApiException(ErrorCode.UnknownUser, "no such user");
        profile = profile with { UserKey = key, Deleted = entry.Profile.Deleted, UpdatedAt = entry.Profile.UpdatedAt };
        var changed = ChangedFields(entry.Profile, profile);
        if (changed.Count == 0)
        {
            return entry;
        }
        CheckProfile(key, profile);
        profile = profile with { UpdatedAt = Now };
        Claim(entry.Profile, profile, key);
        var updated = entry with { Profile = profile };
        Users[key] = updated;
        if (entry.Profile.DisplayName != profile.DisplayName || entry.Profile.Email != profile.Email)
        {
            ChangeUserRow(key, u => u with { DisplayName = profile.DisplayName, Email = profile.Email });
        }
        var details = new Dictionary<string, string> { ["fields"] = string.Join(',', changed) };
        foreach (var field in changed.Where(f => f is "department" or "title" or "team" or "location" or "manager" or "employment_status"))
        {
            details[field] = FieldValue(profile, field) ?? "";
        }
        Record(action, entry.UserId, details);
        return updated;
    }

    public DirectoryEntry SetRoles(long key, IReadOnlyList<string> roles)
    {
        var entry = User(key) ?? throw new ApiException(ErrorCode.UnknownUser, "no such user");
        var list = CheckRoles(roles);
        if (list.SequenceEqual(entry.Roles.Order(StringComparer.Ordinal)))
        {
            return entry;
        }
        RoleSeparation.CheckAssignment(list, entry.UserId);
        RoleSeparation.CheckNotSelf(list.Except(entry.Roles), entry.UserId, By.Actor);
        var updated = entry with { Roles = list };
        Users[key] = updated;
        ChangeUserRow(key, u => u with { Roles = list });
        Record("user.roles", entry.UserId, Details(
            ("roles", string.Join(',', list)),
            ("added", string.Join(',', list.Except(entry.Roles))),
            ("removed", string.Join(',', entry.Roles.Except(list)))));
        return updated;
    }

    /// <summary>
    /// Offboards a user: inactive (every token stops working), out of every room, devices wiped, data kept.
    /// <paramref name="delete"/> also hides them from provisioning (SCIM DELETE).
    /// </summary>
    public DirectoryEntry Deactivate(long key, string reason, bool delete = false)
    {
        var entry = User(key) ?? throw new ApiException(ErrorCode.UnknownUser, "no such user");
        if (!entry.Active && (!delete || entry.Deleted))
        {
            return entry;
        }
        var profile = delete ? entry.Profile with { Deleted = true, UpdatedAt = Now } : entry.Profile;
        if (delete)
        {
            Claim(entry.Profile, profile, key);
        }
        var updated = entry with { Active = false, Profile = profile };
        Users[key] = updated;
        if (entry.Active)
        {
            var now = Now;
            ChangeUserRow(key, u => u with { Active = false, DeactivatedAt = now });
            Deactivations[key] = reason;
        }
        Record(delete ? "user.delete" : "user.deactivate", entry.UserId, Details(("reason", reason)));
        return updated;
    }

    public DirectoryEntry Reactivate(long key)
    {
        var entry = User(key) ?? throw new ApiException(ErrorCode.UnknownUser, "no such user");
        if (entry.Active)
        {
            return entry;
        }
        if (entry.Deleted)
        {
            throw new ApiException(ErrorCode.NotFound, "the user was deleted; create them again");
        }
        var updated = entry with { Active = true };
        Users[key] = updated;
        ChangeUserRow(key, u => u with { Active = true, DeactivatedAt = null });
        Record("user.reactivate", entry.UserId);
        return updated;
    }

    private void ChangeUserRow(long key, Func<UserRecord, UserRecord> change)
    {
        var created = NewUserRows.FindIndex(u => u.Key == key);
        if (created >= 0)
        {
            NewUserRows[created] = change(NewUserRows[created]);
            return;
        }
        if (!UserRowChanges.TryGetValue(key, out var list))
        {
            UserRowChanges[key] = list = [];
        }
        list.Add(change);
    }

    private string[] CheckRoles(IReadOnlyList<string> roles)
    {
        foreach (var role in roles)
        {
            if (!IsRole(role))
            {
                throw new ApiException(ErrorCode.BadRequest,
                    $"unknown role '{role}'; built-in roles are {string.Join(", ", CompanyRoleNames.BuiltIn)}, and custom roles are created with POST /v1/admin/roles");
            }
        }
        return roles.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
    }

    private void CheckProfile(long key, ProfileRecord profile)
    {
        ProfileRules.Validate(profile);
        if (profile.Manager is { } manager)
        {
            if (FindUser(manager) is not { } boss)
            {
                throw ProfileRules.Bad("manager", $"'{manager}' is not a user");
            }
            if (boss.Key == key)
            {
                throw ProfileRules.Bad("manager", "cannot be the user themselves");
            }
        }
        if (profile.ScimUserName is { } name && FindByScimName(name) is { } owner && owner.Key != key)
        {
            throw new ApiException(ErrorCode.Conflict, $"the userName '{name}' is taken");
        }
        if (profile.ExternalId is { } ext && FindByExternalId(ext) is { } extOwner && extOwner.Key != key)
        {
            throw new ApiException(ErrorCode.Conflict, $"the externalId '{ext}' is taken");
        }
    }

    /// <summary>Moves the SCIM userName and externalId lookups from the old profile to the new one.</summary>
    private void Claim(ProfileRecord? old, ProfileRecord now, long key)
    {
        if (old is { Deleted: false, ScimUserName: { } oldName })
        {
            _scimNames[RuleExpression.Normalize(oldName)] = -1;
        }
        if (old is { Deleted: false, ExternalId: { } oldExt })
        {
            _externalIds[oldExt] = -1;
        }
        if (!now.Deleted && now.ScimUserName is { } name)
        {
            _scimNames[RuleExpression.Normalize(name)] = key;
        }
        if (!now.Deleted && now.ExternalId is { } ext)
        {
            _externalIds[ext] = key;
        }
    }

    private long NextUserKey()
    {
        if (_keysLeft == 0)
        {
            // Reserve in blocks: one durable write per 256 new users. Unused keys are harmless gaps.
            _nextKey = _reserveKeys(256);
            _keysLeft = 256;
        }
        _keysLeft--;
        return _nextKey++;
    }

    public static List<string> ChangedFields(ProfileRecord a, ProfileRecord b)
    {
        var changed = new List<string>();
        foreach (var field in ProfileRules.Fields)
        {
            if (FieldValue(a, field) != FieldValue(b, field))
            {
                changed.Add(field);
            }
        }
        if (a.ExternalId != b.ExternalId)
        {
            changed.Add("external_id");
        }
        if (a.ScimUserName != b.ScimUserName)
        {
            changed.Add("scim_user_name");
        }
        return changed;
    }

    public static string? FieldValue(ProfileRecord p, string field) => field switch
    {
        "display_name" => p.DisplayName,
        "given_name" => p.GivenName,
        "family_name" => p.FamilyName,
        "email" => p.Email,
        "title" => p.Title,
        "department" => p.Department,
        "team" => p.Team,
        "location" => p.Location,
        "manager" => p.Manager,
        "phone" => p.Phone,
        "employment_status" => p.EmploymentStatus,
        "time_zone" => p.TimeZone,
        "working_hours" => p.WorkingHours is { } wh ? ProfileRules.FormatWorkingHours(wh) : null,
        "employee_number" => p.EmployeeNumber,
        "custom" => p.Custom is { Count: > 0 } c ? string.Join(';', c.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value)) : null,
        _ => null,
    };

    // ---- groups -------------------------------------------------------------------------------------------------

    public GroupState CreateGroup(string displayName, string? externalId, IEnumerable<long> members, string? id = null)
    {
        CheckGroupName(displayName, null);
        var key = _nextGroupKey++;
        var record = new GroupRecord
        {
            Key = key,
            Id = id ?? Guid.NewGuid().ToString("N"),
            DisplayName = displayName.Trim(),
            ExternalId = externalId,
            CreatedAt = Now,
            UpdatedAt = Now,
        };
        var group = new GroupState(record, []);
        Groups[key] = group;
        Writes.Add(DirectoryStore.Put(KeyCodec.Table(KeyCodec.TableGroup, key), record));
        Record("group.create", record.DisplayName, Details(("id", record.Id), ("external_id", externalId)));
        SetGroupMembers(key, members, [], audit: false);
        return Group(key)!;
    }

    public GroupState UpdateGroup(long key, string displayName, string? externalId)
    {
        var group = Group(key) ?? throw new ApiException(ErrorCode.NotFound, "no such group");
        if (group.Record.DisplayName == displayName.Trim() && group.Record.ExternalId == externalId)
        {
            return group;
        }
        CheckGroupName(displayName, key);
        var record = group.Record with { DisplayName = displayName.Trim(), ExternalId = externalId, UpdatedAt = Now };
        var updated = new GroupState(record, group.Members);
        Groups[key] = updated;
        Writes.Add(DirectoryStore.Put(KeyCodec.Table(KeyCodec.TableGroup, key), record));
        Record("group.update", record.DisplayName, Details(("id", record.Id), ("previous_name", group.Record.DisplayName)));
        if (group.NormalizedName != updated.NormalizedName)
        {
            // Rules name groups: a rename can change every member's matches.
            foreach (var member in group.Members)
            {
                if (User(member) is { } e)
                {
                    Users[member] = e;
                }
            }
        }
        return updated;
    }

    public GroupState SetGroupMembers(long key, IEnumerable<long> add, IEnumerable<long> remove, bool audit = true)
    {
        var group = Group(key) ?? throw new ApiException(ErrorCode.NotFound, "no such group");
        var members = group.Members.ToBuilder();
        var added = new List<string>();
        var removed = new List<string>();
        foreach (var userKey in add)
        {
            var user = User(userKey) ?? throw new ApiException(ErrorCode.UnknownUser, $"no user with key {userKey}");
            if (members.Add(userKey))
            {
                Users[userKey] = user with { Groups = user.Groups.Add(key) };
                Writes.Add(DirectoryStore.PutRaw(KeyCodec.Table(KeyCodec.TableGroupMember, key, userKey), []));
                added.Add(user.UserId);
            }
        }
        foreach (var userKey in remove)
        {
            if (members.Remove(userKey) && User(userKey) is { } user)
            {
                Users[userKey] = user with { Groups = user.Groups.Remove(key) };
                Writes.Add(DirectoryStore.Delete(KeyCodec.Table(KeyCodec.TableGroupMember, key, userKey)));
                removed.Add(user.UserId);
            }
        }
        var updated = new GroupState(group.Record, members.ToImmutable());
        Groups[key] = updated;
        if (added.Count + removed.Count > 0 && audit)
        {
            Record("group.members", group.Record.DisplayName, Details(("id", group.Record.Id),
                ("added", Summarize(added)), ("removed", Summarize(removed))));
        }
        return updated;
    }

    public void DeleteGroup(long key)
    {
        var group = Group(key) ?? throw new ApiException(ErrorCode.NotFound, "no such group");
        SetGroupMembers(key, [], group.Members, audit: false);
        Groups[key] = null;
        Writes.Add(DirectoryStore.Delete(KeyCodec.Table(KeyCodec.TableGroup, key)));
        Record("group.delete", group.Record.DisplayName, Details(("id", group.Record.Id), ("members", group.Members.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))));
    }

    private void CheckGroupName(string displayName, long? self)
    {
        if (string.IsNullOrWhiteSpace(displayName) || displayName.Length > 256 || displayName.Any(char.IsControl))
        {
            throw new ApiException(ErrorCode.BadRequest, "a group's displayName is 1 to 256 characters");
        }
        var normalized = RuleExpression.Normalize(displayName);
        if (AllGroups().FirstOrDefault(g => g.NormalizedName == normalized) is { } other && other.Record.Key != self)
        {
            throw new ApiException(ErrorCode.Conflict, $"a group named '{other.Record.DisplayName}' exists");
        }
    }

    // ---- rules and bindings ---------------------------------------------------------------------------------------

    public CompiledRule CreateRule(string name, string expression, string? description)
    {
        CheckRuleName(name);
        if (FindRule(name) is not null)
        {
            throw new ApiException(ErrorCode.Conflict, $"a rule named '{name}' exists");
        }
        var parsed = RuleExpression.Parse(expression);
        var key = _nextRuleKey++;
        var record = new RuleRecord { Key = key, Name = name, Expression = parsed.Text, Description = description ?? "", CreatedAt = Now, UpdatedAt = Now };
        var rule = new CompiledRule(record, parsed);
        Rules[key] = rule;
        Writes.Add(DirectoryStore.Put(KeyCodec.Table(KeyCodec.TableRule, key), record));
        Record("rule.create", name, Details(("expression", parsed.Text)));
        return rule;
    }

    /// <summary>The rule "member of this group" (by the group's stable id), created on first use, for binding rooms to groups.</summary>
    public CompiledRule RuleForGroup(GroupState group)
    {
        var name = "group-" + group.Record.Id;
        return FindRule(name) ?? CreateRule(name, $"group_id = \"{group.Record.Id}\"", $"members of the group {group.Record.DisplayName}");
    }

    public CompiledRule UpdateRule(long key, string expression, string? description)
    {
        var rule = Rule(key) ?? throw new ApiException(ErrorCode.NotFound, "no such rule");
        var parsed = RuleExpression.Parse(expression);
        var record = rule.Record with { Expression = parsed.Text, Description = description ?? rule.Record.Description, UpdatedAt = Now };
        var updated = new CompiledRule(record, parsed);
        Rules[key] = updated;
        Writes.Add(DirectoryStore.Put(KeyCodec.Table(KeyCodec.TableRule, key), record));
        Record("rule.update", rule.Record.Name, Details(("expression", parsed.Text), ("previous", rule.Record.Expression)));
        return updated;
    }

    public void DeleteRule(long key)
    {
        var rule = Rule(key) ?? throw new ApiException(ErrorCode.NotFound, "no such rule");
        foreach (var binding in Base.Bindings.Keys.Concat(Bindings.Keys).Distinct().ToList())
        {
            if (Binding(binding) is { } b && b.Rules.Contains(key))
            {
                SetBinding(b.RoomKey, b.RoomId, b.Rules.Remove(key), audit: false);
            }
        }
        Rules[key] = null;
        Writes.Add(DirectoryStore.Delete(KeyCodec.Table(KeyCodec.TableRule, key)));
        Record("rule.delete", rule.Record.Name, Details(("expression", rule.Record.Expression)));
    }

    public BindingState SetBinding(long roomKey, string roomId, IEnumerable<long> rules, bool audit = true)
    {
        var current = Binding(roomKey) ?? new BindingState(roomKey, roomId, [], [], []);
        var next = current with { Rules = [.. rules] };
        StoreBinding(current, next);
        if (audit)
        {
            Record("room.binding", roomId, Details(("rules", string.Join(',', next.Rules.Select(r => Rule(r)!.Record.Name).Order(StringComparer.Ordinal)))));
        }
        return next;
    }

    /// <summary>Adds a manual member (<c>include</c>), an exclusion (<c>exclude</c>), or removes either (<c>clear</c>).</summary>
    public BindingState SetManual(long roomKey, string roomId, DirectoryEntry user, string action)
    {
        var current = Binding(roomKey) ?? new BindingState(roomKey, roomId, [], [], []);
        var next = action switch
        {
            "include" => current with { Include = current.Include.Add(user.Key), Exclude = current.Exclude.Remove(user.Key) },
            "exclude" => current with { Exclude = current.Exclude.Add(user.Key), Include = current.Include.Remove(user.Key) },
            "clear" => current with { Include = current.Include.Remove(user.Key), Exclude = current.Exclude.Remove(user.Key) },
            _ => throw new ApiException(ErrorCode.BadRequest, "action is include, exclude or clear"),
        };
        if (action == "include" && !user.Active)
        {
            throw new ApiException(ErrorCode.AccountDisabled, $"{user.UserId} is deactivated");
        }
        foreach (var (table, before, after) in new[] { (KeyCodec.TableManualInclude, current.Include, next.Include), (KeyCodec.TableManualExclude, current.Exclude, next.Exclude) })
        {
            if (!before.Contains(user.Key) && after.Contains(user.Key))
            {
                Writes.Add(DirectoryStore.PutRaw(KeyCodec.Table(table, roomKey, user.Key), []));
            }
            else if (before.Contains(user.Key) && !after.Contains(user.Key))
            {
                Writes.Add(DirectoryStore.Delete(KeyCodec.Table(table, roomKey, user.Key)));
            }
        }
        Bindings[roomKey] = next;
        Record("room.manual_member", roomId, Details(("user", user.UserId), ("action", action)));
        return next;
    }

    private void StoreBinding(BindingState current, BindingState next)
    {
        Bindings[next.RoomKey] = next;
        Writes.Add(next.Rules.IsEmpty
            ? DirectoryStore.Delete(KeyCodec.Table(KeyCodec.TableBinding, next.RoomKey))
            : DirectoryStore.Put(KeyCodec.Table(KeyCodec.TableBinding, next.RoomKey), new BindingRecord(next.RoomKey, next.RoomId, [.. next.Rules.Order()])));
        _ = current;
    }

    private static void CheckRuleName(string name)
    {
        if (name.Length is 0 or > 64 || !Identifiers.IsValidLocalpart(name) || name.StartsWith('_'))
        {
            throw new ApiException(ErrorCode.BadRequest, "a rule name is 1 to 64 of a-z, 0-9, '.', '_', '=' or '-'");
        }
    }

    // ---- room roles, custom roles, policy --------------------------------------------------------------------------

    public void SetRoomRole(long roomKey, string roomId, DirectoryEntry user, string role)
    {
        if (!RoomRoles.IsValid(role))
        {
            throw new ApiException(ErrorCode.BadRequest, "a room role is owner, moderator, poster or member");
        }
        ExplicitWants.Add(new MembershipWant(roomKey, user.UserId, user.Key, WantKind.SetRole, "role set by an admin", role));
        Record("room.role", roomId, Details(("user", user.UserId), ("role", role)));
    }

    public RoleRecord CreateRole(string name, string description)
    {
        if (name.Length is 0 or > 32 || !Identifiers.IsValidLocalpart(name) || name.StartsWith('_'))
        {
            throw new ApiException(ErrorCode.BadRequest, "a role name is 1 to 32 of a-z, 0-9, '.', '_', '=' or '-'");
        }
        if (IsRole(name))
        {
            throw new ApiException(ErrorCode.Conflict, $"the role '{name}' exists");
        }
        var record = new RoleRecord(name, description, Now);
        Roles[name] = record;
        Writes.Add(DirectoryStore.Put(KeyCodec.Table(KeyCodec.TableRole, name), record));
        Record("role.create", name, Details(("description", description)));
        return record;
    }

    public void DeleteRole(string name)
    {
        if (CompanyRoleNames.BuiltIn.Contains(name))
        {
            throw new ApiException(ErrorCode.BadRequest, $"'{name}' is a built-in role");
        }
        if (!IsRole(name))
        {
            throw new ApiException(ErrorCode.NotFound, $"no role '{name}'");
        }
        var holders = Base.Users.Values.Select(u => User(u.Key)!).Where(u => u.Roles.Contains(name)).Select(u => u.UserId).Take(5).ToList();
        if (holders.Count > 0)
        {
            throw new ApiException(ErrorCode.Conflict, $"'{name}' is still assigned (to {string.Join(", ", holders)}); remove it from them first");
        }
        Roles[name] = null;
        Writes.Add(DirectoryStore.Delete(KeyCodec.Table(KeyCodec.TableRole, name)));
        Record("role.delete", name);
    }

    public void SetPolicy(PolicyRecord policy, IReadOnlyDictionary<string, string> changes)
    {
        Policy = policy with { UpdatedAt = Now, UpdatedBy = By.Actor };
        Writes.Add(DirectoryStore.Put(KeyCodec.TablePrefix(KeyCodec.TablePolicy), Policy));
        Record("policy.update", "company", changes);
    }

    // ---- the snapshot after this transaction ---------------------------------------------------------------------

    public DirectorySnapshot BuildSnapshot()
    {
        var users = Base.Users.ToBuilder();
        var byId = Base.ByUserId.ToBuilder();
        var byScim = Base.ByScimName.ToBuilder();
        var byExt = Base.ByExternalId.ToBuilder();
        foreach (var (key, entry) in Users)
        {
            if (Base.Users.TryGetValue(key, out var old))
            {
                if (!old.Deleted && old.Profile.ScimUserName is { } n && byScim.TryGetValue(RuleExpression.Normalize(n), out var k1) && k1 == key)
                {
                    byScim.Remove(RuleExpression.Normalize(n));
                }
                if (!old.Deleted && old.Profile.ExternalId is { } x && byExt.TryGetValue(x, out var k2) && k2 == key)
                {
                    byExt.Remove(x);
                }
            }
            users[key] = entry;
            byId[entry.UserId] = key;
        }
        foreach (var (key, entry) in Users)
        {
            if (!entry.Deleted && entry.Profile.ScimUserName is { } n)
            {
                byScim[RuleExpression.Normalize(n)] = key;
            }
            if (!entry.Deleted && entry.Profile.ExternalId is { } x)
            {
                byExt[x] = key;
            }
        }
        return new DirectorySnapshot
        {
            Users = users.ToImmutable(),
            ByUserId = byId.ToImmutable(),
            ByScimName = byScim.ToImmutable(),
            ByExternalId = byExt.ToImmutable(),
            Groups = Merge(Base.Groups, Groups),
            Rules = Merge(Base.Rules, Rules),
            Bindings = Merge(Base.Bindings, Bindings.ToDictionary(kv => kv.Key, kv => kv.Value is { IsEmpty: true } ? null : kv.Value)),
            CustomRoles = Merge(Base.CustomRoles, Roles),
            Policy = Policy ?? Base.Policy,
        };
    }

    private static ImmutableDictionary<TKey, TValue> Merge<TKey, TValue>(ImmutableDictionary<TKey, TValue> baseMap, IReadOnlyDictionary<TKey, TValue?> overlay)
        where TKey : notnull
        where TValue : class
    {
        if (overlay.Count == 0)
        {
            return baseMap;
        }
        var builder = baseMap.ToBuilder();
        foreach (var (k, v) in overlay)
        {
            if (v is null)
            {
                builder.Remove(k);
            }
            else
            {
                builder[k] = v;
            }
        }
        return builder.ToImmutable();
    }

    public static Dictionary<string, string> Details(params (string Key, string? Value)[] pairs)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in pairs)
        {
            if (!string.IsNullOrEmpty(v))
            {
                result[k] = v;
            }
        }
        return result;
    }

    private static string Summarize(List<string> ids) =>
        ids.Count <= 20 ? string.Join(',', ids) : string.Join(',', ids.Take(20)) + $",… ({ids.Count} in all)";
}
