using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TeamComms.Crypto;
using TeamComms.Protocol;
using TeamComms.Protocol.Federation;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Federation;

/// <summary>
/// Other servers' verify keys: fetched from <c>/v1/federation/keys</c>, checked (self-signed by the server's current
/// key, for the right server name), cached in memory and in storage, and refreshed when the document expires or an
/// unknown key id appears. Keys are never forgotten: after a rotation the previous key keeps verifying what it
/// signed while it was valid. A server that is not a partner is looked up through the room's hub, which relays the
/// document that server signed.
/// </summary>
internal sealed partial class KeyCache(FederationStore store, ServerKeyRing ring, FederationClient client, PartnerTable partners,
    IFederationAudit audit, TimeProvider time, IOptions<FederationOptions> options, ILogger<KeyCache> logger)
{
    private readonly FederationOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, Entry> _servers = new(StringComparer.Ordinal);
    private long _fetches;

    /// <summary>Key documents fetched so far (for status and tests).</summary>
    public long Fetches => Interlocked.Read(ref _fetches);

    /// <summary>
    /// The key <paramref name="keyId"/> of <paramref name="server"/> if it was valid at <paramref name="timestamp"/>;
    /// null when it is unknown, was not valid then, or cannot be fetched.
    /// </summary>
    public async Task<VerifyKey?> GetAsync(string server, string keyId, long timestamp, string? via = null, CancellationToken ct = default)
    {
        if (server == ring.ServerName)
        {
            return ring.VerifyKeys().FirstOrDefault(k => k.KeyId == keyId && k.ValidAt(timestamp));
        }
        var entry = _servers.GetOrAdd(server, s => new Entry(store.RemoteKeys(s).Select(k => new VerifyKey(k.KeyId, k.PublicKey, k.ValidFrom, k.ValidUntil))));
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var key = entry.Find(keyId);
        // A cached key may have been ended by a rotation since: re-read an expired document before trusting an open-ended key.
        var stale = key is { ValidUntil: null } && entry.Expires <= now;
        if (key is null || stale)
        {
            if (now - entry.LastFetch >= (long)_options.KeyRefetchInterval.TotalMilliseconds || stale)
            {
                await RefreshAsync(server, entry, via, ct).ConfigureAwait(false);
                key = entry.Find(keyId);
            }
        }
        return key is not null && key.ValidAt(timestamp) ? key : null;
    }

    /// <summary>Verifies an Ed25519 signature by <paramref name="server"/>'s key <paramref name="keyId"/> made at <paramref name="timestamp"/>.</summary>
    public async Task<bool> VerifyAsync(string server, string keyId, long timestamp, byte[] data, byte[] signature, string? via = null, CancellationToken ct = default)
    {
        var key = await GetAsync(server, keyId, timestamp, via, ct).ConfigureAwait(false);
        return key is not null && SigningKey.Verify(key.PublicKey, data, signature);
    }

    /// <summary>The last document fetched from <paramref name="server"/> (for the key relay), fetching it when absent.</summary>
    public async Task<byte[]?> DocumentAsync(string server, CancellationToken ct)
    {
        var entry = _servers.GetOrAdd(server, s => new Entry(store.RemoteKeys(s).Select(k => new VerifyKey(k.KeyId, k.PublicKey, k.ValidFrom, k.ValidUntil))));
        if (entry.Document is null || entry.Expires <= time.GetUtcNow().ToUnixTimeMilliseconds())
        {
            await RefreshAsync(server, entry, null, ct).ConfigureAwait(false);
        }
        return entry.Document;
    }

    private async Task RefreshAsync(string server, Entry entry, string? via, CancellationToken ct)
    {
        await entry.Gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            if (entry.LastFetch > 0 && now - entry.LastFetch < 1000 && entry.Expires > now)
            {
                return; // another caller just refreshed it
            }
            entry.LastFetch = now;
            byte[] bytes;
            string? relay = null;
            try
            {
                if (partners.IsPartner(server))
                {
                    bytes = await client.GetKeyDocumentAsync(server, ct).ConfigureAwait(false);
                }
                else if (via is not null && partners.IsPartner(via))
                {
                    bytes = await client.QueryKeyDocumentAsync(via, server, ct).ConfigureAwait(false);
                    relay = via;
                }
                else
                {
                    audit.Record(new FederationAuditEntry(now, FederationAuditKinds.UnlistedDestination, server, "refused to fetch the keys of a server that is not a partner"));
                    return;
                }
            }
            catch (FederationException ex)
            {
                LogFetchFailed(logger, server, ex.Message);
                return;
            }
            Interlocked.Increment(ref _fetches);
            KeyDocument doc;
            byte[] input;
            try
            {
                (doc, input) = KeyDocument.Read(bytes);
            }
            catch (ProtocolException ex)
            {
                audit.Record(new FederationAuditEntry(now, FederationAuditKinds.BadSignature, server, "malformed key document: " + ex.Message));
                return;
            }
            var signer = doc.Keys.FirstOrDefault(k => k.KeyId == doc.SignedBy && k.ValidUntil is null);
            if (doc.Server != server || signer is null || SigningKey.KeyIdOf(signer.PublicKey) != signer.KeyId
                || !SigningKey.Verify(signer.PublicKey, input, doc.Signature!))
            {
                audit.Record(new FederationAuditEntry(now, FederationAuditKinds.BadSignature, server,
                    doc.Server != server ? $"key document is for {doc.Server}" : "key document is not signed by its current key"));
                return;
            }
            var valid = doc.Keys.Where(k => SigningKey.KeyIdOf(k.PublicKey) == k.KeyId).ToList();
            store.PutRemoteKeys(valid.Select(k => new RemoteKeyRecord
            {
                Server = server,
                KeyId = k.KeyId,
                PublicKey = k.PublicKey,
                ValidFrom = k.ValidFrom,
                ValidUntil = k.ValidUntil,
                FetchedAt = now,
                Via = relay,
            }));
            entry.Merge(valid, Math.Min(doc.Expires, now + (long)_options.KeyDocumentLifetime.TotalMilliseconds), bytes);
            LogFetched(logger, server, valid.Count, relay ?? server);
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    private sealed class Entry
    {
        private readonly Lock _lock = new();
        private Dictionary<string, VerifyKey> _keys;

        public Entry(IEnumerable<VerifyKey> stored)
        {
            _keys = stored.ToDictionary(k => k.KeyId, StringComparer.Ordinal);
        }

        public SemaphoreSlim Gate { get; } = new(1, 1);
        public long LastFetch { get; set; }
        public long Expires { get; private set; }
        public byte[]? Document { get; private set; }

        public VerifyKey? Find(string keyId)
        {
            lock (_lock)
            {
                return _keys.GetValueOrDefault(keyId);
            }
        }

        public void Merge(IEnumerable<VerifyKey> keys, long expires, byte[] document)
        {
            lock (_lock)
            {
                var next = new Dictionary<string, VerifyKey>(_keys, StringComparer.Ordinal);
                foreach (var k in keys)
                {
                    next[k.KeyId] = k;
                }
                _keys = next;
                Expires = expires;
                Document = document;
            }
        }
    }

    [LoggerMessage(EventId = 7201, Level = LogLevel.Information, Message = "Fetched {Count} key(s) of {Server} from {Source}")]
    private static partial void LogFetched(ILogger logger, string server, int count, string source);

    [LoggerMessage(EventId = 7202, Level = LogLevel.Warning, Message = "Could not fetch the keys of {Server}: {Reason}")]
    private static partial void LogFetchFailed(ILogger logger, string server, string reason);
}
