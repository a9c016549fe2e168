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
            var (ended, fresh) = Rotated(_keys, now);
            _store.PutOwnKeys([ended, fresh]);
            _keys = [.. _keys.Where(k => k.KeyId != ended.KeyId), ended, fresh];
            _verifyKeys = null;
            SwitchTo(fresh);
            return fresh.KeyId;
        }
    }

    /// <summary>
    /// Set in cluster mode: rotation goes through the cluster's shared ring (<c>Cluster/ClusterFederationKeys</c>),
    /// which reaches every node, instead of <see cref="Rotate"/> on this node alone.
    /// </summary>
    public Func<Task<string>>? ClusterRotate { get; set; }

    /// <summary>Rotates the key: on this node, or, in cluster mode, on every node of the cluster.</summary>
    public Task<string> RotateAsync() => ClusterRotate is { } rotate ? rotate() : Task.FromResult(Rotate());

    /// <summary>The ring with the current key ended now and a new current key (cluster rotation).</summary>
    internal List<OwnKeyRecord> RotatedRing()
    {
        lock (_lock)
        {
            var (ended, fresh) = Rotated(_keys, _time.GetUtcNow().ToUnixTimeMilliseconds());
            return [.. _keys.Where(k => k.KeyId != ended.KeyId), ended, fresh];
        }
    }

    /// <summary>Every key with its seed (cluster mode: what is wrapped to the other nodes' public keys, never sent in the clear).</summary>
    internal List<OwnKeyRecord> Export()
    {
        lock (_lock)
        {
            return [.. _keys.Select(k => k with { Sealed = false })];
        }
    }

    /// <summary>Replaces this node's keys by the cluster's shared ring (stored sealed as usual) and signs with its current key.</summary>
    internal void Adopt(IReadOnlyList<OwnKeyRecord> ring)
    {
        if (ring.Count(k => k.ValidUntil is null) != 1)
        {
            throw new InvalidDataException("a federation key ring must have exactly one current key");
        }
        lock (_lock)
        {
            var current = ring.Single(k => k.ValidUntil is null);
            _store.ReplaceOwnKeys(ring);
            _keys = [.. ring];
            _verifyKeys = null;
            if (current.KeyId != KeyId)
            {
                SwitchTo(current);
            }
        }
    }

    private static (OwnKeyRecord Ended, OwnKeyRecord Fresh) Rotated(List<OwnKeyRecord> keys, long now)
    {
        var old = keys.Single(k => k.ValidUntil is null);
        return (old with { ValidUntil = now }, NewKey(now));
    }

    private void SwitchTo(OwnKeyRecord key)
    {
        var previous = _current;
        Volatile.Write(ref _current, new Current(key.KeyId, SigningKey.Import(key.Seed)));
        // Signers that read the old key a moment ago may still be using it: leave it to the GC rather than dispose it under them.
        GC.KeepAlive(previous);
    }

    private static OwnKeyRecord NewKey(long validFrom)
    {
        using var key = SigningKey.Generate();
        return new OwnKeyRecord { KeyId = key.KeyId, Seed = key.ExportPrivate(), PublicKey = key.PublicKey, ValidFrom = validFrom };
    }

    public void Dispose() => Volatile.Read(ref _current).Key.Dispose();

    private sealed record Current(string KeyId, SigningKey Key);
}
