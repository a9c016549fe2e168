using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Accounts;
using TeamComms.Server.Audit;
using TeamComms.Server.Connections;
using TeamComms.Server.Hosting;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.CompanyDirectory;

/// <summary>A membership change a dry run would make.</summary>
internal sealed record PreviewChange(string RoomId, string RoomName, string UserId, string Change);

/// <summary>What a committed (or previewed) directory change did.</summary>
internal sealed record CommitOutcome(PlanStats Stats, int Events, IReadOnlyList<PreviewChange> Changes, IReadOnlyDictionary<long, string> SetupTokens, bool DryRun);

/// <summary>
/// The company directory: the single writer of people, groups, rules, bindings, roles and policy, and the reader
/// that search and policy checks use. Every change runs as a <see cref="DirectoryTransaction"/> under one lock and
/// commits through the room log as one <see cref="SystemProposal"/>: directory rows, the member events they cause
/// and their audit entries are durable together before the call returns, or nothing is. Offboarding then closes the
/// user's connections with a Wipe.
/// </summary>
internal sealed partial class DirectoryService : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly DirectoryStore _store;
    private readonly AccountStore _accountStore;
    private readonly AccountService _accounts;
    private readonly RoomStore _roomStore;
    private readonly RoomRegistry _rooms;
    private readonly IRoomLog _log;
    private readonly AuditLog _audit;
    private readonly ConnectionRegistry _connections;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly DirectoryState _state;

    public DirectoryService(DirectoryState state, DirectoryStore store, AccountStore accountStore, AccountService accounts, RoomStore roomStore, RoomRegistry rooms,
        IRoomLog log, AuditLog audit, ConnectionRegistry connections, ServerIdentity identity, TimeProvider time, ILogger<DirectoryService> logger)
    {
        _state = state;
        _store = store;
        _accountStore = accountStore;
        _accounts = accounts;
        _roomStore = roomStore;
        _rooms = rooms;
        _log = log;
        _audit = audit;
        _connections = connections;
        _time = time;
        _logger = logger;
        ServerName = identity.ServerName;
        SystemActor = new Actor("_system@" + ServerName, 0, 0);
    }

    public string ServerName { get; }

    /// <summary>The sender of member events the server makes on the directory's behalf.</summary>
    public Actor SystemActor { get; }

    /// <summary>The committed directory. Lock-free; replaced after each commit.</summary>
    public DirectorySnapshot Snapshot => _state.Current;

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    // ---- loading ------------------------------------------------------------------------------------------------

    /// <summary>
    /// Loads the directory into memory. Users that have no profile yet (the first admin, or a data directory from
    /// before the directory existed) get one made from their account, with their search index entries.
    /// </summary>
    public void Load()
    {
        var profiles = _store.Profiles().ToDictionary(p => p.UserKey);
        var groupMembers = new Dictionary<long, ImmutableHashSet<long>.Builder>();
        var userGroups = new Dictionary<long, ImmutableHashSet<long>.Builder>();
        foreach (var (key, _) in _store.Table(KeyCodec.TableGroupMember))
        {
            var groupKey = KeyCodec.ReadLong(key.AsSpan(1));
            var userKey = KeyCodec.ReadLong(key.AsSpan(9));
            Add(groupMembers, groupKey, userKey);
            Add(userGroups, userKey, groupKey);
        }
        var backfill = new List<StagedWrite>();
        var users = ImmutableDictionary.CreateBuilder<long, DirectoryEntry>();
        var byId = ImmutableDictionary.CreateBuilder<string, long>(StringComparer.Ordinal);
        var byScim = ImmutableDictionary.CreateBuilder<string, long>(StringComparer.Ordinal);
        var byExt = ImmutableDictionary.CreateBuilder<string, long>(StringComparer.Ordinal);
        foreach (var user in _accountStore.ListUsers(0, int.MaxValue))
        {
            if (!profiles.TryGetValue(user.Key, out var profile))
            {
                profile = new ProfileRecord { UserKey = user.Key, DisplayName = user.DisplayName, Email = user.Email, UpdatedAt = user.CreatedAt };
                backfill.Add(DirectoryStore.PutProfile(profile));
            }
            var entry = new DirectoryEntry
            {
                Key = user.Key,
                UserId = user.UserId,
                Username = user.Username,
                Active = user.Active,
                Profile = profile,
                Roles = user.Roles,
                HasPassword = user.PasswordHash is not null,
                CreatedAt = user.CreatedAt,
                Groups = userGroups.TryGetValue(user.Key, out var g) ? g.ToImmutable() : [],
            };
            if (!profiles.ContainsKey(user.Key))
            {
                backfill.AddRange(DirectoryIndex.Diff(user.Key, null, entry));
            }
            users[user.Key] = entry;
            byId[user.UserId] = user.Key;
            if (!profile.Deleted && profile.ScimUserName is { } n)
            {
                byScim[RuleExpression.Normalize(n)] = user.Key;
            }
            if (!profile.Deleted && profile.ExternalId is { } x)
            {
                byExt[x] = user.Key;
            }
        }
        if (backfill.Count > 0)
        {
            _store.Write(backfill);
        }
        var groups = ImmutableDictionary.CreateBuilder<long, GroupState>();
        foreach (var (_, value) in _store.Table(KeyCodec.TableGroup))
        {
            var record = DirectoryJson.Decode<GroupRecord>(value);
            groups[record.Key] = new GroupState(record, groupMembers.TryGetValue(record.Key, out var m) ? m.ToImmutable() : []);
        }
        var rules = ImmutableDictionary.CreateBuilder<long, CompiledRule>();
        foreach (var (_, value) in _store.Table(KeyCodec.TableRule))
        {
            var record = DirectoryJson.Decode<RuleRecord>(value);
            rules[record.Key] = new CompiledRule(record, RuleExpression.Parse(record.Expression));
        }
        var include = ReadPairs(KeyCodec.TableManualInclude);
        var exclude = ReadPairs(KeyCodec.TableManualExclude);
        var bindings = ImmutableDictionary.CreateBuilder<long, BindingState>();
        foreach (var (_, value) in _store.Table(KeyCodec.TableBinding))
        {
            var record = DirectoryJson.Decode<BindingRecord>(value);
            bindings[record.RoomKey] = new BindingState(record.RoomKey, record.RoomId, [.. record.Rules], [], []);
        }
        foreach (var roomKey in include.Keys.Concat(exclude.Keys).Distinct())
        {
            var roomId = bindings.TryGetValue(roomKey, out var b) ? b.RoomId : _rooms.Get(roomKey)?.RoomId ?? "";
            bindings[roomKey] = (b ?? new BindingState(roomKey, roomId, [], [], [])) with
            {
                Include = include.TryGetValue(roomKey, out var i) ? i.ToImmutable() : [],
                Exclude = exclude.TryGetValue(roomKey, out var x) ? x.ToImmutable() : [],
            };
        }
        var roles = ImmutableDictionary.CreateBuilder<string, RoleRecord>(StringComparer.Ordinal);
        foreach (var (_, value) in _store.Table(KeyCodec.TableRole))
        {
            var record = DirectoryJson.Decode<RoleRecord>(value);
            roles[record.Name] = record;
        }
        var policyBytes = _store.Get(KeyCodec.TablePrefix(KeyCodec.TablePolicy));
        _state.Current = new DirectorySnapshot
        {
            Users = users.ToImmutable(),
            ByUserId = byId.ToImmutable(),
            ByScimName = byScim.ToImmutable(),
            ByExternalId = byExt.ToImmutable(),
            Groups = groups.ToImmutable(),
            Rules = rules.ToImmutable(),
            Bindings = bindings.ToImmutable(),
            CustomRoles = roles.ToImmutable(),
            Policy = policyBytes is null ? new PolicyRecord() : DirectoryJson.Decode<PolicyRecord>(policyBytes),
        };
        LogLoaded(_logger, users.Count, groups.Count, rules.Count, bindings.Count, backfill.Count);
    }

    private Dictionary<long, ImmutableHashSet<long>.Builder> ReadPairs(byte table)
    {
        var result = new Dictionary<long, ImmutableHashSet<long>.Builder>();
        foreach (var (key, _) in _store.Table(table))
        {
            Add(result, KeyCodec.ReadLong(key.AsSpan(1)), KeyCodec.ReadLong(key.AsSpan(9)));
        }
        return result;
    }

    private static void Add(Dictionary<long, ImmutableHashSet<long>.Builder> map, long a, long b)
    {
        if (!map.TryGetValue(a, out var set))
        {
            map[a] = set = ImmutableHashSet.CreateBuilder<long>();
        }
        set.Add(b);
    }

    // ---- changes ------------------------------------------------------------------------------------------------

    /// <summary>
    /// Runs <paramref name="build"/> against a new transaction and commits it (or, with <paramref name="dryRun"/>,
    /// only plans it). Changes are serialized; <paramref name="build"/> must not await.
    /// </summary>
    public async Task<(T Value, CommitOutcome Outcome)> ChangeAsync<T>(Principal by, Func<DirectoryTransaction, T> build, bool dryRun = false)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var tx = new DirectoryTransaction(_state.Current, by, Now, ServerName, _accountStore.ReserveUserKeys, _accountStore.UserExists);
            var value = build(tx);
            var outcome = await CommitAsync(tx, dryRun).ConfigureAwait(false);
            return (value, outcome);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<CommitOutcome> CommitAsync(DirectoryTransaction tx, bool dryRun)
    {
        var after = tx.BuildSnapshot();
        var wants = MembershipPlanner.Plan(tx, after, _roomStore, _rooms, out var stats);
        if (dryRun)
        {
            return new CommitOutcome(stats, 0, Preview(wants), new Dictionary<long, string>(), DryRun: true);
        }
        if (tx.IsEmpty && wants.Count == 0)
        {
            return new CommitOutcome(stats, 0, [], new Dictionary<long, string>(), DryRun: false);
        }
        var writes = new List<StagedWrite>(tx.Writes);
        foreach (var (key, entry) in tx.Users)
        {
            var old = tx.Base.Users.GetValueOrDefault(key);
            if (old is null || !ReferenceEquals(old.Profile, entry.Profile))
            {
                writes.Add(DirectoryStore.PutProfile(entry.Profile));
            }
            writes.AddRange(DirectoryIndex.Diff(key, old, entry));
        }
        var revoked = new Dictionary<long, List<SessionRecord>>();
        AppendOutcome appended;
        using (await _accountStore.LockUserWritesAsync().ConfigureAwait(false))
        {
            foreach (var row in tx.NewUserRows)
            {
                writes.AddRange(AccountStore.StageCreateUser(row));
            }
            foreach (var (key, changes) in tx.UserRowChanges)
            {
                var row = _accountStore.GetUser(key) ?? throw new ApiException(ErrorCode.UnknownUser, "the user no longer exists");
                foreach (var change in changes)
                {
                    row = change(row);
                }
                writes.Add(AccountStore.StageUpdateUser(row));
            }
            var now = Now;
            foreach (var (key, reason) in tx.Deactivations)
            {
                var list = new List<SessionRecord>();
                foreach (var session in _accountStore.UserSessions(key))
                {
                    if (!session.Revoked)
                    {
                        var r = session with { Revoked = true, RevokedAt = now, WipeReason = reason };
                        list.Add(r);
                        writes.Add(AccountStore.StageUpdateSession(r));
                    }
                }
                revoked[key] = list;
            }
            (_, appended) = await _audit.RecordWithAsync(tx.Audit, async auditRows =>
            {
                var all = new List<StagedWrite>(writes.Count + auditRows.Count);
                all.AddRange(writes);
                all.AddRange(auditRows);
                var outcome = await _log.AppendAsync(new SystemProposal(SystemActor, tx.By.Actor, wants, all)).ConfigureAwait(false);
                return (outcome.Ok, outcome);
            }).ConfigureAwait(false);
        }
        if (!appended.Ok)
        {
            throw new ApiException(appended.Error!.Value, appended.Message!);
        }
        _state.Current = after;
        var setupTokens = new Dictionary<long, string>();
        foreach (var key in tx.SetupLinks)
        {
            setupTokens[key] = _accounts.CreateSetupToken(key);
        }
        foreach (var (key, reason) in tx.Deactivations)
        {
            await OffboardDevicesAsync(key, reason, revoked[key]).ConfigureAwait(false);
        }
        if (tx.Deactivations.Count > 0 && _accounts.ClusterConfirm is { } confirm)
        {
            await confirm().ConfigureAwait(false); // cluster mode: every live node has closed the offboarded devices' connections
        }
        return new CommitOutcome(stats, appended.Events.Count, [], setupTokens, DryRun: false);
    }

    /// <summary>
    /// After a deactivation committed: the cached sessions learn they are revoked, sessions created meanwhile are
    /// revoked too, and every live connection gets Wipe and is closed before this returns.
    /// </summary>
    private async Task OffboardDevicesAsync(long userKey, string reason, List<SessionRecord> revoked)
    {
        foreach (var session in revoked)
        {
            _accounts.RefreshCachedSession(session);
        }
        var now = Now;
        foreach (var late in _accountStore.UserSessions(userKey).Where(s => !s.Revoked))
        {
            var r = late with { Revoked = true, RevokedAt = now, WipeReason = reason };
            _accountStore.UpdateSession(r);
            _accounts.RefreshCachedSession(r);
        }
        await Task.WhenAll(_connections.ForUser(userKey).Select(c => c.WipeAsync(reason))).ConfigureAwait(false);
        LogOffboarded(_logger, userKey, revoked.Count);
    }

    /// <summary>Revokes one device's session and wipes it, without touching the rest of the account.</summary>
    public async Task WipeSessionAsync(Principal by, long sessionKey, string reason)
    {
        var session = _accountStore.GetSession(sessionKey) ?? throw new ApiException(ErrorCode.NotFound, "no such session");
        var wiped = session with { Revoked = true, RevokedAt = session.RevokedAt ?? Now, WipeReason = reason };
        await _audit.RecordWithAsync([by.Event("session.wipe", session.UserId, DirectoryTransaction.Details(
            ("session", SessionIds.Format(sessionKey)), ("device", session.DeviceName), ("reason", reason)))], async rows =>
        {
            var all = new List<StagedWrite>(rows) { AccountStore.StageUpdateSession(wiped) };
            // Cluster mode: through the log, so every node stores the wiped session and closes its connections.
            await _audit.CommitAsync(all, _store.Write).ConfigureAwait(false);
            return (true, 0);
        }).ConfigureAwait(false);
        _accounts.RefreshCachedSession(wiped);
        await Task.WhenAll(_connections.ForSession(sessionKey).Select(c => c.WipeAsync(reason))).ConfigureAwait(false);
    }

    private List<PreviewChange> Preview(List<MembershipWant> wants)
    {
        var result = new List<PreviewChange>();
        foreach (var want in wants)
        {
            if (_rooms.Get(want.RoomKey) is not { } room)
            {
                continue;
            }
            var state = room.View.State;
            if (MembershipWant.Decide(state.Member(want.UserId), want.Kind, state.Archived, want.Role) is { } change)
            {
                var label = want.Kind == WantKind.SetRole ? "role:" + change.Role : change.Membership;
                result.Add(new PreviewChange(room.RoomId, state.Name, want.UserId, label));
            }
        }
        return result;
    }

    // ---- reading ------------------------------------------------------------------------------------------------

    /// <summary>
    /// Case-insensitive prefix search over one field (<c>name</c>, <c>department</c> or <c>title</c>) in the index:
    /// one range scan, paged by an opaque cursor. An empty query browses the field in order.
    /// </summary>
    public (List<DirectoryEntry> Users, string? Next) Search(string field, string query, int limit, string? cursor)
    {
        var fieldByte = field switch
        {
            "name" => KeyCodec.IndexName,
            "department" => KeyCodec.IndexDepartment,
            "title" => KeyCodec.IndexTitle,
            _ => throw new ApiException(ErrorCode.BadField, "field is name, department or title"),
        };
        var prefix = DirectoryIndex.Clean(query) ?? "";
        byte[]? after = null;
        if (cursor is not null)
        {
            try
            {
                after = System.Buffers.Text.Base64Url.DecodeFromChars(cursor);
            }
            catch (FormatException)
            {
                throw new ApiException(ErrorCode.BadField, "cursor is not one this server returned");
            }
            if (after.Length < 10 || after[0] != fieldByte)
            {
                throw new ApiException(ErrorCode.BadField, "cursor is not one this server returned");
            }
        }
        var snapshot = _state.Current;
        var results = new List<DirectoryEntry>();
        byte[]? lastKey = null;
        string? next = null;
        foreach (var (key, value, userKey) in _store.ScanIndex(fieldByte, prefix, after))
        {
            if (!snapshot.Users.TryGetValue(userKey, out var entry) || !entry.Active || entry.Deleted)
            {
                continue;
            }
            if (fieldByte == KeyCodec.IndexName)
            {
                // A name is indexed under each of its words; report each person once, under their first matching one.
                // (None matches for a moment while a rename's index rows are committed and the snapshot not yet swapped.)
                var first = DirectoryIndex.NameSuffixes(entry.Profile.DisplayName).Where(s => s.StartsWith(prefix, StringComparison.Ordinal))
                    .DefaultIfEmpty().Min(StringComparer.Ordinal);
                if (first != value)
                {
                    continue;
                }
            }
            else if (DirectoryIndex.Clean(fieldByte == KeyCodec.IndexDepartment ? entry.Profile.Department : entry.Profile.Title) != value)
            {
                continue; // the same moment as above
            }
            if (results.Count == limit)
            {
                next = System.Buffers.Text.Base64Url.EncodeToString(lastKey!);
                break;
            }
            results.Add(entry);
            lastKey = key;
        }
        return (results, next);
    }

    public void Dispose() => _gate.Dispose();

    [LoggerMessage(EventId = 8001, Level = LogLevel.Information, Message = "Directory loaded: {Users} users, {Groups} groups, {Rules} rules, {Bindings} bound rooms ({Backfilled} index rows backfilled)")]
    private static partial void LogLoaded(ILogger logger, int users, int groups, int rules, int bindings, int backfilled);

    [LoggerMessage(EventId = 8002, Level = LogLevel.Information, Message = "Offboarded user {UserKey}: {Sessions} sessions revoked, connections wiped")]
    private static partial void LogOffboarded(ILogger logger, long userKey, int sessions);
}
