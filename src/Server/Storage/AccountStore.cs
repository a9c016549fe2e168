using RocksDbSharp;

namespace TeamComms.Server.Storage;

/// <summary>Users, sessions, setup tokens and device cursors.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The write gate is a SemaphoreSlim without a wait handle; the store lives as long as the process.")]
internal sealed class AccountStore
{
    private readonly RocksStore _store;
    private readonly Lock _userLock = new();
    // Serializes every read-modify-write of a user row (logins, password setup, directory changes), so that a
    // directory commit never overwrites a concurrent password change with a stale copy, nor the reverse.
    private readonly SemaphoreSlim _userWrites = new(1, 1);
    private long _nextUserKey;
    private long _nextSessionKey;

    /// <summary>Cluster mode: receives every account row written here, to replicate it through the cluster log.</summary>
    internal IRowReplicator? Replicator { get; set; }

    /// <summary>
    /// Cluster mode: user and session keys this node allocates start at <c>nodeIndex &lt;&lt; 40</c>, so nodes that
    /// create accounts at once never allocate the same key.
    /// </summary>
    internal void PartitionKeys(int nodeIndex)
    {
        var floor = (long)nodeIndex << 40;
        lock (_userLock)
        {
            _nextUserKey = Math.Max(_nextUserKey, floor);
        }
        var next = Math.Max(Volatile.Read(ref _nextSessionKey), floor);
        Volatile.Write(ref _nextSessionKey, next);
    }

    public AccountStore(RocksStore store)
    {
        _store = store;
        _nextUserKey = GetMeta("next_user_key", 1);
        _nextSessionKey = GetMeta("next_session_key", 1);
    }

    /// <summary>Creates a user; false when the user id is taken. Allocates the key.</summary>
    public bool TryCreateUser(Func<long, UserRecord> build, out UserRecord created)
    {
        _userWrites.Wait();
        try
        {
            return TryCreateUserLocked(build, out created);
        }
        finally
        {
            _userWrites.Release();
        }
    }

    private bool TryCreateUserLocked(Func<long, UserRecord> build, out UserRecord created)
    {
        lock (_userLock)
        {
            var key = _nextUserKey;
            created = build(key);
            var nameKey = KeyCodec.Utf8(created.UserId);
            if (_store.HasKey(nameKey, _store.UserNames))
            {
                return false;
            }
            using var batch = new WriteBatch();
            batch.Put(KeyCodec.Long(key), RecordJson.Encode(created), _store.Users);
            batch.Put(nameKey, KeyCodec.Long(key), _store.UserNames);
            batch.Put("next_user_key"u8, KeyCodec.Long(key + 1), _store.Meta);
            _store.Write(batch);
            _nextUserKey = key + 1;
            Replicator?.Replicate(StageCreateUser(created));
            return true;
        }
    }

    /// <summary>Creates many users in one batch (bulk provisioning); skips ids that exist. Returns those created.</summary>
    public List<UserRecord> CreateUsers(IReadOnlyList<Func<long, UserRecord>> builders)
    {
        var created = new List<UserRecord>(builders.Count);
        lock (_userLock)
        {
            using var batch = new WriteBatch();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var key = _nextUserKey;
            foreach (var build in builders)
            {
                var user = build(key);
                var nameKey = KeyCodec.Utf8(user.UserId);
                if (!seen.Add(user.UserId) || _store.HasKey(nameKey, _store.UserNames))
                {
                    continue;
                }
                batch.Put(KeyCodec.Long(key), RecordJson.Encode(user), _store.Users);
                batch.Put(nameKey, KeyCodec.Long(key), _store.UserNames);
                created.Add(user);
                key++;
            }
            batch.Put("next_user_key"u8, KeyCodec.Long(key), _store.Meta);
            _store.Write(batch);
            _nextUserKey = key;
        }
        Replicator?.Replicate([.. created.SelectMany(StageCreateUser)]);
        return created;
    }

    public void UpdateUser(UserRecord user)
    {
        _store.Put(KeyCodec.Long(user.Key), RecordJson.Encode(user), _store.Users);
        Replicator?.Replicate([StageUpdateUser(user)]);
    }

    /// <summary>Reads, changes and writes a user row under the user write gate. Null when the user does not exist.</summary>
    public async Task<UserRecord?> UpdateUserAsync(long key, Func<UserRecord, UserRecord> change)
    {
        await _userWrites.WaitAsync().ConfigureAwait(false);
        try
        {
            if (GetUser(key) is not { } current)
            {
                return null;
            }
            var updated = change(current);
            UpdateUser(updated);
            return updated;
        }
        finally
        {
            _userWrites.Release();
        }
    }

    /// <summary>
    /// Holds the user write gate while a directory change that rewrites user rows is staged and committed; rows must
    /// be re-read after this returns so that the commit carries the latest password hash and login time.
    /// </summary>
    public async Task<IDisposable> LockUserWritesAsync()
    {
        await _userWrites.WaitAsync().ConfigureAwait(false);
        return new Releaser(_userWrites);
    }

    /// <summary>
    /// Allocates <paramref name="count"/> consecutive user keys for rows that a directory commit will write, and
    /// persists the next free key at once so that no later allocation can reuse them even if that commit fails.
    /// </summary>
    public long ReserveUserKeys(int count)
    {
        lock (_userLock)
        {
            var first = _nextUserKey;
            _nextUserKey += count;
            _store.Put("next_user_key"u8, KeyCodec.Long(_nextUserKey), _store.Meta);
            return first;
        }
    }

    /// <summary>True when a user row with this id exists.</summary>
    public bool UserExists(string userId) => _store.HasKey(KeyCodec.Utf8(userId), _store.UserNames);

    /// <summary>The rows of a new user, to commit with a directory change.</summary>
    public static StagedWrite[] StageCreateUser(UserRecord user) =>
    [
        StagedWrite.Put("users", KeyCodec.Long(user.Key), RecordJson.Encode(user)),
        StagedWrite.Put("user_names", KeyCodec.Utf8(user.UserId), KeyCodec.Long(user.Key)),
    ];

    /// <summary>A changed user row, to commit with a directory change (hold <see cref="LockUserWritesAsync"/>).</summary>
    public static StagedWrite StageUpdateUser(UserRecord user) => StagedWrite.Put("users", KeyCodec.Long(user.Key), RecordJson.Encode(user));

    /// <summary>A changed session row, to commit with a directory change.</summary>
    public static StagedWrite StageUpdateSession(SessionRecord session) => StagedWrite.Put("sessions", KeyCodec.Long(session.Key), RecordJson.Encode(session));

    private sealed class Releaser(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }
        }
    }

    public UserRecord? GetUser(long key)
    {
        var value = _store.Get(KeyCodec.Long(key), _store.Users);
        return value is null ? null : RecordJson.Decode<UserRecord>(value);
    }

    public long? FindUserKey(string userId)
    {
        var value = _store.Get(KeyCodec.Utf8(userId), _store.UserNames);
        return value is null ? null : KeyCodec.ReadLong(value);
    }

    public UserRecord? FindUser(string userId) => FindUserKey(userId) is { } key ? GetUser(key) : null;

    public List<UserRecord> ListUsers(long afterKey, int limit)
    {
        var result = new List<UserRecord>();
        using var it = _store.Db.NewIterator(_store.Users);
        for (it.Seek(KeyCodec.Long(afterKey + 1)); it.Valid() && result.Count < limit; it.Next())
        {
            result.Add(RecordJson.Decode<UserRecord>(it.GetValueSpan()));
        }
        return result;
    }

    public long UserCount()
    {
        long n = 0;
        using var it = _store.Db.NewIterator(_store.Users);
        for (it.SeekToFirst(); it.Valid(); it.Next())
        {
            n++;
        }
        return n;
    }

    public SessionRecord CreateSession(Func<long, SessionRecord> build)
    {
        var key = Interlocked.Increment(ref _nextSessionKey) - 1;
        var session = build(key);
        using var batch = new WriteBatch();
        batch.Put(KeyCodec.Long(key), RecordJson.Encode(session), _store.Sessions);
        batch.Put(session.TokenHash, KeyCodec.Long(key), _store.SessionTokens);
        batch.Put(KeyCodec.Pair(session.UserKey, key), Array.Empty<byte>(), _store.UserSessions);
        batch.Put("next_session_key"u8, KeyCodec.Long(Math.Max(key + 1, Volatile.Read(ref _nextSessionKey))), _store.Meta);
        _store.Write(batch);
        Replicator?.Replicate(
        [
            StageUpdateSession(session),
            StagedWrite.Put("session_tokens", session.TokenHash, KeyCodec.Long(key)),
            StagedWrite.Put("user_sessions", KeyCodec.Pair(session.UserKey, key), []),
        ]);
        return session;
    }

    public void UpdateSession(SessionRecord session, bool durable = true)
    {
        _store.Put(KeyCodec.Long(session.Key), RecordJson.Encode(session), _store.Sessions, durable);
        Replicator?.Replicate([StageUpdateSession(session)]);
    }

    public SessionRecord? GetSession(long key)
    {
        var value = _store.Get(KeyCodec.Long(key), _store.Sessions);
        return value is null ? null : RecordJson.Decode<SessionRecord>(value);
    }

    public SessionRecord? FindSessionByTokenHash(byte[] tokenHash)
    {
        var value = _store.Get(tokenHash, _store.SessionTokens);
        return value is null ? null : GetSession(KeyCodec.ReadLong(value));
    }

    public List<SessionRecord> UserSessions(long userKey)
    {
        var result = new List<SessionRecord>();
        foreach (var (key, _) in _store.ScanPrefix(_store.UserSessions, KeyCodec.Long(userKey)))
        {
            if (GetSession(KeyCodec.ReadLong(key.AsSpan(8))) is { } s)
            {
                result.Add(s);
            }
        }
        return result;
    }

    public void PutSetupToken(byte[] tokenHash, SetupTokenRecord record)
    {
        _store.Put(tokenHash, RecordJson.Encode(record), _store.SetupTokens);
        Replicator?.Replicate([StagedWrite.Put("setup_tokens", tokenHash, RecordJson.Encode(record))]);
    }

    public SetupTokenRecord? GetSetupToken(byte[] tokenHash)
    {
        var value = _store.Get(tokenHash, _store.SetupTokens);
        return value is null ? null : RecordJson.Decode<SetupTokenRecord>(value);
    }

    public void DeleteSetupToken(byte[] tokenHash)
    {
        _store.Delete(tokenHash, _store.SetupTokens);
        Replicator?.Replicate([StagedWrite.Delete("setup_tokens", tokenHash)]);
    }

    /// <summary>Records a device's "received up to" position. Not synced: losing the last update only causes a re-send.</summary>
    public void SaveCursor(long sessionKey, long pos) =>
        _store.Put(KeyCodec.Long(sessionKey), KeyCodec.Long(pos), _store.Cursors, durable: false);

    public long? GetCursor(long sessionKey)
    {
        var value = _store.Get(KeyCodec.Long(sessionKey), _store.Cursors);
        return value is null ? null : KeyCodec.ReadLong(value);
    }

    private long GetMeta(string key, long fallback)
    {
        var value = _store.Get(KeyCodec.Utf8(key), _store.Meta);
        return value is null ? fallback : KeyCodec.ReadLong(value);
    }
}
