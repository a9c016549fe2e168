using Microsoft.Extensions.Options;
using TeamComms.Crypto;
using TeamComms.Protocol.Federation;
using TeamComms.Server.Hosting;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Federation;

/// <summary>
/// This server's Ed25519 signing keys: the current one signs requests, checkpoints, proposals and the key document;
/// previous ones stay published with their validity so that what they signed still verifies. Created on first use,
/// rotated by an admin (<c>POST /v1/admin/federation/keys/rotate</c>).
/// </summary>
internal sealed class ServerKeyRing : IDisposable
{
    private readonly FederationStore _store;
    private readonly TimeProvider _time;
    private readonly FederationOptions _options;
    private readonly Lock _lock = new();
    private List<OwnKeyRecord> _keys;
    private Current _current;

    public ServerKeyRing(FederationStore store, ServerIdentity identity, TimeProvider time, IOptions<FederationOptions> options)
    {
        _store = store;
        _time = time;
        _options = options.Value;
        ServerName = identity.ServerName;
        _keys = store.OwnKeys();
        if (store.HasPlaintextKeys())
        {
            store.PutOwnKeys(_keys); // seal seeds stored before encryption at rest was on
        }
        if (_keys.FirstOrDefault(k => k.ValidUntil is null) is not { } current)
        {
            current = NewKey(_time.GetUtcNow().ToUnixTimeMilliseconds());
            _keys.Add(current);
            store.PutOwnKeys([current]);
        }
        _current = new Current(current.KeyId, SigningKey.Import(current.Seed));
    }

    public string ServerName { get; }

    /// <summary>The current key id.</summary>
    public string KeyId => Volatile.Read(ref _current).KeyId;

    /// <summary>Signs with the current key; returns the key id with the signature so they always match.</summary>
    public (string KeyId, byte[] Signature) Sign(ReadOnlySpan<byte> data)
    {
        var current = Volatile.Read(ref _current);
        return (current.KeyId, current.Key.Sign(data));
    }

    /// <summary>Every key, current and previous, as published.</summary>
    public IReadOnlyList<VerifyKey> VerifyKeys()
    {
        lock (_lock)
        {
            return _verifyKeys ??= _keys.OrderByDescending(k => k.ValidFrom)
                .Select(k => new VerifyKey(k.KeyId, k.PublicKey, k.ValidFrom, k.ValidUntil)).ToList();
        }
    }

    private List<VerifyKey>? _verifyKeys;

    /// <summary>The signed key document served at <c>GET /v1/federation/keys</c>.</summary>
    public KeyDocument Document()
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var doc = new KeyDocument(ServerName, now, now + (long)_options.KeyDocumentLifetime.TotalMilliseconds, VerifyKeys());
        var (keyId, sig) = Sign(doc.SigningInput());
        return doc with { SignedBy = keyId, Signature = sig };
    }

    /// <summary>Ends the current key's validity now and starts a new one. Returns the new key id.</summary>
    public string Rotate()
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var old = _keys.Single(k => k.ValidUntil is null);
            var ended = old with { ValidUntil = now };
            var fresh = NewKey(now);
            _store.PutOwnKeys([ended, fresh]);
            _keys = [.. _keys.Where(k => k.KeyId != old.KeyId), ended, fresh];
            _verifyKeys = null;
            var previous = _current;
            Volatile.Write(ref _current, new Current(fresh.KeyId, SigningKey.Import(fresh.Seed)));
            // Signers that read the old key a moment ago may still be using it: leave it to the GC rather than dispose it under them.
            GC.KeepAlive(previous);
            return fresh.KeyId;
        }
    }

    private static OwnKeyRecord NewKey(long validFrom)
    {
        using var key = SigningKey.Generate();
        return new OwnKeyRecord { KeyId = key.KeyId, Seed = key.ExportPrivate(), PublicKey = key.PublicKey, ValidFrom = validFrom };
    }

    public void Dispose() => Volatile.Read(ref _current).Key.Dispose();

    private sealed record Current(string KeyId, SigningKey Key);
}
