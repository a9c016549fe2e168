using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using NATS.Client.KeyValueStore;
using TeamComms.Crypto.Age;
using TeamComms.Crypto.Keys;

namespace TeamComms.Server.Cluster;

/// <summary>
/// The keys of cluster mode. Each node has its own X25519 key pair (an age identity in
/// <c>&lt;data&gt;/cluster-node.key</c>, mode 0600, never sent anywhere) and publishes only its public key in the
/// <c>{prefix}_keys</c> bucket (<c>node.&lt;id&gt;</c>). The cluster's log key — which seals every log entry before
/// it is published — exists only wrapped to each node's public key (<c>logkey.&lt;id&gt;</c>, an age file): the first
/// node to start creates it, and every node that holds it wraps it to each registered node that does not. No key
/// crosses the network in the clear, and NATS's disks hold only wrapped keys and sealed entries. The same mechanism
/// carries any other cluster-wide secret (<see cref="ShareSecretAsync"/>).
/// Admission is NATS's: only clients with the cluster's NATS credentials can register a node key (docs/operations.md).
/// </summary>
internal sealed partial class ClusterKeys : IDisposable
{
    private const string LogKeyName = "logkey";
    private readonly ClusterEngine _engine;
    private readonly ClusterOptions _options;
    private readonly ILogger _logger;
    private readonly AgeIdentity _identity;
    private readonly Dictionary<string, SealingKey> _logKeys = new(StringComparer.Ordinal);
    private INatsKVStore? _bucket;

    public ClusterKeys(ClusterEngine engine, ClusterOptions options, string dataDirectory, ILogger<ClusterKeys> logger)
    {
        _engine = engine;
        _options = options;
        _logger = logger;
        _identity = LoadOrCreateIdentity(Path.Combine(dataDirectory, "cluster-node.key"));
    }

    public AgeRecipient PublicKey => _identity.Recipient;

    /// <summary>The key id that new entries are sealed with.</summary>
    public string CurrentKeyId { get; private set; } = "";

    public SealingKey Current => _logKeys[CurrentKeyId];

    public SealingKey? Find(string keyId)
    {
        lock (_logKeys)
        {
            return _logKeys.GetValueOrDefault(keyId);
        }
    }

    /// <summary>Registers this node's public key and obtains the log key (creating it if this is the first node).</summary>
    public async Task OpenAsync(CancellationToken ct)
    {
        _bucket = await _engine.BucketAsync("keys", TimeSpan.Zero, ct).ConfigureAwait(false);
        await ClusterEngine.RetryAsync(async () => await _bucket.PutAsync($"node.{_options.NodeId}", _identity.Recipient.ToString(), cancellationToken: ct).ConfigureAwait(false), ct).ConfigureAwait(false);
        var secret = await ShareSecretAsync(LogKeyName, () =>
        {
            var raw = new byte[SealingKey.KeySize];
            RandomNumberGenerator.Fill(raw);
            return raw;
        }, ct).ConfigureAwait(false);
        var keyId = Convert.ToHexStringLower(SHA256.HashData(secret).AsSpan(0, 6));
        lock (_logKeys)
        {
            _logKeys[keyId] = SealingKey.Import(secret);
        }
        _rawForSharing = secret; // kept in memory only, to wrap it to nodes that join
        CurrentKeyId = keyId;
    }

    /// <summary>
    /// A cluster-wide secret named <paramref name="name"/>: this node's wrapped copy if it has one; otherwise, if nobody
    /// created it yet, a new one (from <paramref name="create"/>) wrapped to this node; otherwise waits until a node
    /// that holds it wraps it to this node's public key.
    /// </summary>
    public async Task<byte[]> ShareSecretAsync(string name, Func<byte[]> create, CancellationToken ct)
    {
        var bucket = _bucket!;
        var mine = $"{name}.{_options.NodeId}";
        var waitingSince = DateTime.UtcNow;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var entry = await bucket.TryGetEntryAsync<byte[]>(mine, cancellationToken: ct).ConfigureAwait(false);
            if (entry.Success && entry.Value.Value is { Length: > 0 } wrapped)
            {
                return AgeFile.Decrypt(wrapped, [_identity]);
            }
            // The first node to claim the name creates the secret; a claim is create-only, so there is one creator.
            var claim = await bucket.TryCreateAsync($"{name}-creator", _options.NodeId, cancellationToken: ct).ConfigureAwait(false);
            if (claim.Success)
            {
                var secret = create();
                await bucket.PutAsync(mine, AgeFile.Encrypt(secret, [_identity.Recipient]), cancellationToken: ct).ConfigureAwait(false);
                LogCreatedSecret(_logger, name);
                return secret;
            }
            if (DateTime.UtcNow - waitingSince > TimeSpan.FromSeconds(10))
            {
                LogWaitingForSecret(_logger, name);
                waitingSince = DateTime.UtcNow;
            }
            await Task.Delay(250, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Wraps every secret this node holds to every registered node that lacks it. Runs on every node, every few seconds.</summary>
    public async Task ShareWithNewNodesAsync(IReadOnlyDictionary<string, byte[]> secrets, CancellationToken ct)
    {
        var bucket = _bucket!;
        var nodes = new List<string>();
        await foreach (var key in bucket.GetKeysAsync(cancellationToken: ct).ConfigureAwait(false))
        {
            if (key.StartsWith("node.", StringComparison.Ordinal))
            {
                nodes.Add(key["node.".Length..]);
            }
        }
        foreach (var node in nodes)
        {
            foreach (var (name, secret) in secrets)
            {
                var wrappedKey = $"{name}.{node}";
                var existing = await bucket.TryGetEntryAsync<byte[]>(wrappedKey, cancellationToken: ct).ConfigureAwait(false);
                if (existing.Success)
                {
                    continue;
                }
                var pub = await bucket.TryGetEntryAsync<string>($"node.{node}", cancellationToken: ct).ConfigureAwait(false);
                if (!pub.Success || !AgeRecipient.TryParse(pub.Value.Value, out var recipient))
                {
                    continue;
                }
                // Create-only: if another node wrapped it meanwhile, theirs stays.
                var created = await bucket.TryCreateAsync(wrappedKey, AgeFile.Encrypt(secret, [recipient]), cancellationToken: ct).ConfigureAwait(false);
                if (created.Success)
                {
                    LogWrapped(_logger, name, node, recipient.KeyId);
                }
            }
        }
    }

    /// <summary>
    /// A key for <paramref name="purpose"/> derived (HKDF-SHA256) from the log key <paramref name="keyId"/>: every node
    /// that holds the log key derives the same one, and no derived key is ever stored or sent. Null when this node does
    /// not hold that log key.
    /// </summary>
    public byte[]? DeriveKey(string keyId, string purpose)
    {
        if (_rawForSharing is not { } raw || keyId != CurrentKeyId)
        {
            return null;
        }
        return HKDF.DeriveKey(HashAlgorithmName.SHA256, raw, SealingKey.KeySize, salt: [], info: System.Text.Encoding.UTF8.GetBytes(purpose));
    }

    private readonly Dictionary<string, byte[]> _alsoShared = new(StringComparer.Ordinal);

    /// <summary>
    /// Adds (or replaces, under a new name) another cluster-wide secret that this node holds, so that the share loop
    /// wraps it to nodes that register later (the federation key ring, <see cref="ClusterFederationKeys"/>).
    /// </summary>
    internal void ShareAlso(string name, byte[] secret, string? replaces = null)
    {
        lock (_alsoShared)
        {
            if (replaces is not null)
            {
                _alsoShared.Remove(replaces);
            }
            _alsoShared[name] = secret;
        }
    }

    /// <summary>Every secret the share loop wraps to new nodes: the log key and those added by <see cref="ShareAlso"/>.</summary>
    internal Dictionary<string, byte[]> SecretsForSharing()
    {
        var secrets = new Dictionary<string, byte[]>(StringComparer.Ordinal) { [LogKeyName] = ExportCurrentForSharing() };
        lock (_alsoShared)
        {
            foreach (var (name, secret) in _alsoShared)
            {
                secrets[name] = secret;
            }
        }
        return secrets;
    }

    /// <summary>The raw log key, for <see cref="ShareWithNewNodesAsync"/> (kept only in memory).</summary>
    internal byte[] ExportCurrentForSharing() => _rawForSharing ?? throw new InvalidOperationException("the log key is not open");

    private byte[]? _rawForSharing;

    internal static string LogKeyBucketName => LogKeyName;

    private static AgeIdentity LoadOrCreateIdentity(string path)
    {
        if (File.Exists(path))
        {
            var identities = AgeIdentity.ParseFile(File.ReadAllText(path), path);
            return identities[0];
        }
        var identity = AgeIdentity.Generate();
        var tmp = path + ".tmp";
        using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            using var writer = new StreamWriter(stream);
            writer.Write(identity.ToIdentityFile(DateTimeOffset.UtcNow));
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        File.Move(tmp, path);
        return identity;
    }

    public void Dispose()
    {
        _identity.Dispose();
        if (_rawForSharing is not null)
        {
            CryptographicOperations.ZeroMemory(_rawForSharing);
        }
        lock (_logKeys)
        {
            foreach (var key in _logKeys.Values)
            {
                key.Dispose();
            }
        }
    }

    [LoggerMessage(EventId = 9101, Level = LogLevel.Warning, Message = "Created the cluster secret '{Name}' (first node); it exists only wrapped to node public keys")]
    private static partial void LogCreatedSecret(ILogger logger, string name);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Warning, Message = "Waiting for a running node to wrap the cluster secret '{Name}' to this node's public key")]
    private static partial void LogWaitingForSecret(ILogger logger, string name);

    [LoggerMessage(EventId = 9103, Level = LogLevel.Information, Message = "Wrapped the cluster secret '{Name}' to node {Node} (key {KeyId})")]
    private static partial void LogWrapped(ILogger logger, string name, string node, string keyId);
}
