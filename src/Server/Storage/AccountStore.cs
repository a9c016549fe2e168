using RocksDbSharp;

namespace TeamComms.Server.Storage;

/// <summary>Users, sessions, setup tokens and device cursors.</summary>
internal sealed class AccountStore
{
    private readonly RocksStore _store;
    private readonly Lock _userLock = new();
    private long _nextUserKey;
    private long _nextSessionKey;

    public AccountStore(RocksStore store)
    {
        _store = store;
        _nextUserKey = GetMeta("next_user_key", 1);
        _nextSessionKey = GetMeta("next_session_key", 1);
    }

    /// <summary>Creates a user; false when the user id is taken. Allocates the key.</summary>
    public bool TryCreateUser(Func<long, UserRecord> build, out UserRecord created)
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
        return created;
    }

    public void UpdateUser(UserRecord user) => _store.Put(KeyCodec.Long(user.Key), RecordJson.Encode(user), _store.Users);

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
        return session;
    }

    public void UpdateSession(SessionRecord session, bool durable = true) =>
        _store.Put(KeyCodec.Long(session.Key), RecordJson.Encode(session), _store.Sessions, durable);

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

    public void PutSetupToken(byte[] tokenHash, SetupTokenRecord record) =>
        _store.Put(tokenHash, RecordJson.Encode(record), _store.SetupTokens);

    public SetupTokenRecord? GetSetupToken(byte[] tokenHash)
    {
        var value = _store.Get(tokenHash, _store.SetupTokens);
        return value is null ? null : RecordJson.Decode<SetupTokenRecord>(value);
    }

    public void DeleteSetupToken(byte[] tokenHash) => _store.Delete(tokenHash, _store.SetupTokens);

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
