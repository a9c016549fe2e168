using System.Collections.Concurrent;

namespace TeamComms.Server.Connections;

/// <summary>Live connections by session and by user, so that revoking a session or a user closes them at once.</summary>
internal sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<long, ConcurrentDictionary<ClientConnection, byte>> _bySession = new();
    private readonly ConcurrentDictionary<long, ConcurrentDictionary<ClientConnection, byte>> _byUser = new();

    public void Add(ClientConnection connection)
    {
        _bySession.GetOrAdd(connection.Session.SessionKey, _ => new()).TryAdd(connection, 0);
        _byUser.GetOrAdd(connection.Session.UserKey, _ => new()).TryAdd(connection, 0);
    }

    public void Remove(ClientConnection connection)
    {
        if (_bySession.TryGetValue(connection.Session.SessionKey, out var s))
        {
            s.TryRemove(connection, out _);
        }
        if (_byUser.TryGetValue(connection.Session.UserKey, out var u))
        {
            u.TryRemove(connection, out _);
        }
    }

    public IReadOnlyCollection<ClientConnection> ForSession(long sessionKey) =>
        _bySession.TryGetValue(sessionKey, out var s) ? s.Keys.ToArray() : [];

    public IReadOnlyCollection<ClientConnection> ForUser(long userKey) =>
        _byUser.TryGetValue(userKey, out var u) ? u.Keys.ToArray() : [];

    public int Count => _bySession.Values.Sum(s => s.Count);

    /// <summary>Every live connection (for the admin console's figures).</summary>
    public IEnumerable<ClientConnection> All() => _bySession.Values.SelectMany(s => s.Keys);

    /// <summary>Closes every connection of a session; returns when they are closed.</summary>
    public Task CloseSessionAsync(long sessionKey, int closeCode, string reason) =>
        Task.WhenAll(ForSession(sessionKey).Select(c => c.CloseAsync(closeCode, reason)));

    /// <summary>Closes every connection of a user; returns when they are closed.</summary>
    public Task CloseUserAsync(long userKey, int closeCode, string reason) =>
        Task.WhenAll(ForUser(userKey).Select(c => c.CloseAsync(closeCode, reason)));

    /// <summary>Closes every connection (server shutdown).</summary>
    public Task CloseAllAsync(int closeCode, string reason) =>
        Task.WhenAll(_bySession.Values.SelectMany(s => s.Keys).Distinct().Select(c => c.CloseAsync(closeCode, reason)));
}
