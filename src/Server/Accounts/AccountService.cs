using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TeamComms.Crypto;
using TeamComms.Protocol;
using TeamComms.Server.Connections;
using TeamComms.Server.Hosting;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Accounts;

/// <summary>Result of a login.</summary>
internal sealed record LoginResult(string AccessToken, SessionRecord Session);

/// <summary>
/// Users, passwords, sessions and setup links. Access tokens are random 256-bit secrets shown once; only their
/// SHA-256 is stored. Sessions are cached in memory by token hash so that authenticating a WebSocket costs a
/// dictionary lookup, and revocation updates the cache before it closes the session's connections.
/// </summary>
internal sealed partial class AccountService
{
    private const string TokenPrefix = "tc_";
    private const string SetupPrefix = "tcs_";

    private readonly AccountStore _store;
    private readonly TimeProvider _time;
    private readonly AccountOptions _options;
    private readonly ServerIdentity _identity;
    private readonly ConnectionRegistry _connections;
    private readonly LoginThrottle _throttle;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, SessionRecord> _sessionsByToken = new(StringComparer.Ordinal);

    public AccountService(AccountStore store, TimeProvider time, IOptions<AccountOptions> options, ServerIdentity identity,
        ConnectionRegistry connections, ILogger<AccountService> logger)
    {
        _store = store;
        _time = time;
        _options = options.Value;
        _identity = identity;
        _connections = connections;
        _logger = logger;
        _throttle = new LoginThrottle(time, _options);
    }

    public Argon2Cost Cost => new(_options.Argon2MemoryKiB, _options.Argon2Passes);

    public string UserIdFor(string username) => Identifiers.UserId(username, _identity.ServerName);

    public UserRecord? FindUser(string userIdOrUsername) =>
        _store.FindUser(userIdOrUsername.Contains('@') ? userIdOrUsername : UserIdFor(userIdOrUsername));

    public UserRecord? GetUser(long key) => _store.GetUser(key);

    public List<UserRecord> ListUsers(long afterKey, int limit) => _store.ListUsers(afterKey, limit);

    /// <summary>Creates a user. With no password, a setup link token is returned instead.</summary>
    public async Task<(UserRecord User, string? SetupToken)> CreateUserAsync(string username, string displayName, string? email,
        string? password, IReadOnlyList<string>? roles)
    {
        ValidateNewUser(username, displayName, email, password);
        var hash = password is null ? null : await Task.Run(() => PasswordHasher.Hash(password, Cost)).ConfigureAwait(false);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (!_store.TryCreateUser(key => new UserRecord
        {
            Key = key,
            UserId = UserIdFor(username),
            Username = username,
            DisplayName = displayName,
            Email = email,
            PasswordHash = hash,
            Roles = roles?.Distinct().ToArray() ?? [],
            CreatedAt = now,
        }, out var user))
        {
            throw new ApiException(ErrorCode.Conflict, $"the username '{username}' is taken");
        }
        var setup = password is null ? CreateSetupToken(user.Key) : null;
        return (user, setup);
    }

    /// <summary>
    /// Bulk provisioning for load tests and imports: one shared password hash for the whole batch (so 10,000 users do
    /// not cost 10,000 Argon2 runs), one write batch. Existing usernames are skipped.
    /// </summary>
    public async Task<List<UserRecord>> CreateUsersBulkAsync(IReadOnlyList<(string Username, string DisplayName)> users, string password)
    {
        foreach (var (username, displayName) in users)
        {
            ValidateNewUser(username, displayName, null, password);
        }
        var hash = await Task.Run(() => PasswordHasher.Hash(password, Cost)).ConfigureAwait(false);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var builders = users.Select(u => (Func<long, UserRecord>)(key => new UserRecord
        {
            Key = key,
            UserId = UserIdFor(u.Username),
            Username = u.Username,
            DisplayName = u.DisplayName,
            PasswordHash = hash,
            CreatedAt = now,
        })).ToList();
        return _store.CreateUsers(builders);
    }

    internal static void ValidateNewUser(string username, string displayName, string? email, string? password)
    {
        if (!Identifiers.IsValidLocalpart(username))
        {
            throw new ApiException(ErrorCode.BadRequest, "username must be 1-64 characters of a-z, 0-9, '.', '_', '=' or '-'");
        }
        if (username.StartsWith('_'))
        {
            // '_system' and any other name starting with '_' belong to the server itself.
            throw new ApiException(ErrorCode.BadRequest, "usernames starting with '_' are reserved for the server");
        }
        if (string.IsNullOrWhiteSpace(displayName) || displayName.Length > 256)
        {
            throw new ApiException(ErrorCode.BadRequest, "display_name is required (at most 256 characters)");
        }
        if (email is not null && (email.Length > 320 || !email.Contains('@')))
        {
            throw new ApiException(ErrorCode.BadRequest, "email is not an email address");
        }
        if (password is not null)
        {
            ValidatePassword(password);
        }
    }

    private static void ValidatePassword(string password)
    {
        if (password.Length < 8 || password.Length > 1024)
        {
            throw new ApiException(ErrorCode.BadRequest, "password must be 8 to 1024 characters");
        }
    }

    public async Task<LoginResult> LoginAsync(string username, string password, string? deviceName, string address)
    {
        var userId = username.Contains('@') ? username : UserIdFor(username);
        if (_throttle.RetryAfter(userId, address) is { } wait)
        {
            throw new ApiException(ErrorCode.RateLimited, "too many failed logins; try again later")
            {
                RetryAfterSeconds = (int)Math.Ceiling(wait.TotalSeconds),
            };
        }
        var user = _store.FindUser(userId);
        // Hash even for unknown users so that timing does not reveal which usernames exist.
        var ok = await Task.Run(() => user?.PasswordHash is { } h
            ? PasswordHasher.Verify(password, h)
            : PasswordHasher.Verify(password, DummyHash) && false).ConfigureAwait(false);
        if (!ok || user is null)
        {
            _throttle.RecordFailure(userId, address);
            LogLoginFailed(_logger, userId, address);
            throw new ApiException(ErrorCode.InvalidCredentials, "username or password is wrong");
        }
        if (!user.Active)
        {
            throw new ApiException(ErrorCode.AccountDisabled, "this account is deactivated");
        }
        _throttle.RecordSuccess(userId);
        var token = SecretToken.Create(TokenPrefix);
        var now = _time.GetUtcNow();
        var session = _store.CreateSession(key => new SessionRecord
        {
            Key = key,
            UserKey = user.Key,
            UserId = user.UserId,
            DeviceName = string.IsNullOrWhiteSpace(deviceName) ? "device" : deviceName[..Math.Min(deviceName.Length, 128)],
            TokenHash = SecretToken.Hash(token),
            CreatedAt = now.ToUnixTimeMilliseconds(),
            ExpiresAt = (now + _options.SessionLifetime).ToUnixTimeMilliseconds(),
            LastSeenAt = now.ToUnixTimeMilliseconds(),
            LastAddress = address,
        });
        await _store.UpdateUserAsync(user.Key, u => u with { LastLoginAt = now.ToUnixTimeMilliseconds() }).ConfigureAwait(false);
        if (PasswordHasher.NeedsRehash(user.PasswordHash!, Cost))
        {
            var rehashed = await Task.Run(() => PasswordHasher.Hash(password, Cost)).ConfigureAwait(false);
            var oldHash = user.PasswordHash;
            // Only if the password did not change meanwhile.
            await _store.UpdateUserAsync(user.Key, u => u.PasswordHash == oldHash ? u with { PasswordHash = rehashed } : u).ConfigureAwait(false);
        }
        return new LoginResult(token, session);
    }

    /// <summary>
    /// Issues a session for a user an admin has just created in bulk (with a password the admin chose, so this grants
    /// nothing the admin could not get by logging in): no password hash per user. See ProvisioningEndpoints.
    /// </summary>
    public string IssueProvisionedSession(long userKey, string userId, string deviceName, string address)
    {
        var token = SecretToken.Create(TokenPrefix);
        var now = _time.GetUtcNow();
        _store.CreateSession(key => new SessionRecord
        {
            Key = key,
            UserKey = userKey,
            UserId = userId,
            DeviceName = deviceName[..Math.Min(deviceName.Length, 128)],
            TokenHash = SecretToken.Hash(token),
            CreatedAt = now.ToUnixTimeMilliseconds(),
            ExpiresAt = (now + _options.SessionLifetime).ToUnixTimeMilliseconds(),
            LastSeenAt = now.ToUnixTimeMilliseconds(),
            LastAddress = address,
        });
        return token;
    }

    /// <summary>Resolves an access token; the error says why it was refused.</summary>
    public (AuthenticatedSession? Session, ErrorCode? Error) Authenticate(string token)
    {
        if (!token.StartsWith(TokenPrefix, StringComparison.Ordinal) || token.Length > 128)
        {
            return (null, ErrorCode.TokenInvalid);
        }
        var hash = SecretToken.Hash(token);
        var cacheKey = Convert.ToBase64String(hash);
        if (!_sessionsByToken.TryGetValue(cacheKey, out var session))
        {
            session = _store.FindSessionByTokenHash(hash);
            if (session is null)
            {
                return (null, ErrorCode.TokenInvalid);
            }
            _sessionsByToken[cacheKey] = session;
        }
        if (session.Revoked)
        {
            return (null, ErrorCode.SessionRevoked);
        }
        if (session.ExpiresAt <= _time.GetUtcNow().ToUnixTimeMilliseconds())
        {
            return (null, ErrorCode.TokenExpired);
        }
        var user = _store.GetUser(session.UserKey);
        if (user is null || !user.Active)
        {
            return (null, ErrorCode.SessionRevoked);
        }
        return (new AuthenticatedSession(session.Key, session.UserKey, session.UserId, session.DeviceName, user.Roles, session.ExpiresAt), null);
    }

    /// <summary>Null while the session is still valid; else why it is not.</summary>
    public ErrorCode? CheckStillValid(AuthenticatedSession session)
    {
        var record = _store.GetSession(session.SessionKey);
        if (record is null || record.Revoked)
        {
            return ErrorCode.SessionRevoked;
        }
        if (record.ExpiresAt <= _time.GetUtcNow().ToUnixTimeMilliseconds())
        {
            return ErrorCode.TokenExpired;
        }
        return _store.GetUser(record.UserKey) is { Active: true } ? null : ErrorCode.SessionRevoked;
    }

    public List<SessionRecord> ListSessions(long userKey) =>
        _store.UserSessions(userKey).Where(s => !s.Revoked && s.ExpiresAt > _time.GetUtcNow().ToUnixTimeMilliseconds()).ToList();

    /// <summary>
    /// Revokes a session: the token stops working at once, and the session's live connections are closed before this
    /// returns. <paramref name="ownerUserKey"/> restricts the call to that user's own sessions (null for admins).
    /// </summary>
    public async Task RevokeSessionAsync(long sessionKey, long? ownerUserKey, int closeCode = CloseCode.SessionRevoked, string reason = "session revoked")
    {
        var session = _store.GetSession(sessionKey);
        if (session is null || (ownerUserKey is { } owner && session.UserKey != owner))
        {
            throw new ApiException(ErrorCode.NotFound, "no such session");
        }
        if (!session.Revoked)
        {
            var revoked = session with { Revoked = true, RevokedAt = _time.GetUtcNow().ToUnixTimeMilliseconds() };
            _store.UpdateSession(revoked);
            _sessionsByToken[Convert.ToBase64String(session.TokenHash)] = revoked;
        }
        await _connections.CloseSessionAsync(sessionKey, closeCode, reason).ConfigureAwait(false);
        if (ClusterConfirm is { } confirm)
        {
            await confirm().ConfigureAwait(false);
        }
    }

    /// <summary>Cluster mode: waits until every live node has applied the revocation (and closed the session's connections).</summary>
    internal Func<Task>? ClusterConfirm { get; set; }

    /// <summary>
    /// Why the device holding <paramref name="token"/> was told to wipe, or null when it was not. A device that
    /// connects with a wiped session's token is sent Wipe again instead of a plain refusal.
    /// </summary>
    public string? WipeReasonFor(string token)
    {
        if (!token.StartsWith(TokenPrefix, StringComparison.Ordinal) || token.Length > 128)
        {
            return null;
        }
        var hash = SecretToken.Hash(token);
        var session = _sessionsByToken.TryGetValue(Convert.ToBase64String(hash), out var cached) && cached.WipeReason is not null
            ? cached
            : _store.FindSessionByTokenHash(hash);
        return session?.WipeReason;
    }

    /// <summary>Replaces the cached copy of a session after a directory change rewrote its row (revocation, wipe).</summary>
    public void RefreshCachedSession(SessionRecord session) =>
        _sessionsByToken[Convert.ToBase64String(session.TokenHash)] = session;

    public string CreateSetupToken(long userKey)
    {
        var token = SecretToken.Create(SetupPrefix);
        _store.PutSetupToken(SecretToken.Hash(token), new SetupTokenRecord(userKey, (_time.GetUtcNow() + _options.SetupLinkLifetime).ToUnixTimeMilliseconds()));
        return token;
    }

    /// <summary>Sets the password through a one-time setup token; the token is consumed.</summary>
    public async Task<UserRecord> CompleteSetupAsync(string token, string password)
    {
        ValidatePassword(password);
        var hash = SecretToken.Hash(token);
        var record = _store.GetSetupToken(hash);
        if (record is null || record.ExpiresAt <= _time.GetUtcNow().ToUnixTimeMilliseconds())
        {
            throw new ApiException(ErrorCode.TokenInvalid, "the setup link is invalid, used or expired; ask an admin for a new one");
        }
        var user = _store.GetUser(record.UserKey) ?? throw new ApiException(ErrorCode.NotFound, "the user no longer exists");
        if (!user.Active)
        {
            throw new ApiException(ErrorCode.AccountDisabled, "this account is deactivated");
        }
        var passwordHash = await Task.Run(() => PasswordHasher.Hash(password, Cost)).ConfigureAwait(false);
        _store.DeleteSetupToken(hash);
        var updated = await _store.UpdateUserAsync(user.Key, u => u with { PasswordHash = passwordHash }).ConfigureAwait(false);
        return updated ?? throw new ApiException(ErrorCode.NotFound, "the user no longer exists");
    }

    /// <summary>Creates the first admin on a data directory with no users. Returns the generated password, if any.</summary>
    public async Task<(string Username, string? GeneratedPassword)?> BootstrapAsync()
    {
        if (_store.ListUsers(0, 1).Count > 0)
        {
            return null;
        }
        var password = string.IsNullOrEmpty(_options.BootstrapPassword) ? null : _options.BootstrapPassword;
        var generated = password is null;
        password ??= SecretToken.Create("")[..24];
        await CreateUserAsync(_options.BootstrapAdmin, "Administrator", null, password, [CompanyRoles.Admin]).ConfigureAwait(false);
        return (_options.BootstrapAdmin, generated ? password : null);
    }

    private string? _dummyHash;

    /// <summary>A hash at the configured cost, verified for unknown users so their timing matches real ones.</summary>
    private string DummyHash => _dummyHash ??= PasswordHasher.Hash("not-a-password", Cost);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Failed login for {UserId} from {Address}")]
    private static partial void LogLoginFailed(ILogger logger, string userId, string address);
}
