using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using NATS.Net;

namespace TeamComms.Server.Cluster;

/// <summary>
/// The connection to the NATS cluster and the JetStream resources cluster mode uses, all named from
/// <see cref="ClusterOptions.Prefix"/>: the log stream <c>{PREFIX}_LOG</c> (subjects <c>{prefix}.log.&lt;node&gt;</c>),
/// the buckets <c>{prefix}_nodes</c> (heartbeats, with the lease as their age limit), <c>{prefix}_keys</c> (node
/// public keys and the log key wrapped to each) and <c>{prefix}_leases</c> (singleton work), and the object store
/// <c>{prefix}_attachments</c> (sealed attachment files, <see cref="ObjectStoreAttachmentStorage"/>).
/// </summary>
internal sealed partial class ClusterEngine : IAsyncDisposable
{
    private readonly ClusterOptions _options;
    private readonly ILogger _logger;
    private readonly NatsOpts _opts;

    public ClusterEngine(ClusterOptions options, ILogger<ClusterEngine> logger)
    {
        _options = options;
        _logger = logger;
        _opts = NatsOpts.Default with
        {
            Url = string.Join(',', options.Urls),
            Name = $"teamcomms-{options.NodeId}",
            MaxReconnectRetry = -1,
            ReconnectWaitMin = TimeSpan.FromMilliseconds(200),
            ReconnectWaitMax = TimeSpan.FromSeconds(2),
            ConnectTimeout = TimeSpan.FromSeconds(3),
            RequestTimeout = TimeSpan.FromSeconds(3),
            // A server that stops answering (paused, partitioned) is noticed in about 4 s (a PING a second; the fourth
            // finds three unanswered), not the default 4 min, and the connection moves to another server of the cluster.
            PingInterval = TimeSpan.FromSeconds(1),
            MaxPingOut = 3,
            // The servers in the order configured: each node lists "its own" server first (docs/operations.md), so the
            // nodes spread over the servers instead of possibly all sharing one that then fails.
            NoRandomize = true,
            RetryOnInitialConnect = true,
            AuthOpts = new NatsAuthOpts
            {
                Username = options.User,
                Password = options.Password,
                Token = options.Token,
                CredsFile = options.CredentialsFile,
            },
            TlsOpts = new NatsTlsOpts
            {
                Mode = options.TlsRequired ? TlsMode.Require : TlsMode.Auto,
                CaFile = options.TlsCaFile,
                CertFile = options.TlsCertFile,
                KeyFile = options.TlsKeyFile,
            },
        };
        Connection = new NatsConnection(_opts);
        JetStream = Connection.CreateJetStreamContext();
        KeyValue = new NatsKVContext(JetStream);
        Connection.ConnectionDisconnected += (_, _) =>
        {
            LogDisconnected(_logger);
            return ValueTask.CompletedTask;
        };
        Connection.ConnectionOpened += (_, _) =>
        {
            LogConnected(_logger, Connection.ServerInfo?.Name ?? "?", Connection.ServerInfo?.Version ?? "?");
            return ValueTask.CompletedTask;
        };
    }

    public NatsConnection Connection { get; }

    public INatsJSContext JetStream { get; }

    public NatsKVContext KeyValue { get; }

    public string StreamName => _options.Prefix.ToUpperInvariant().Replace('-', '_') + "_LOG";

    public string SubjectFor(string node) => $"{_options.Prefix}.log.{node}";

    public string Subject(string suffix) => $"{_options.Prefix}.{suffix}";

    public string Bucket(string name) => $"{_options.Prefix}_{name}";

    public bool IsConnected => Connection.ConnectionState == NatsConnectionState.Open;

    /// <summary>The stream metadata key holding the log's identity (its epoch), chosen once when the stream is created.</summary>
    public const string EpochMetadataKey = "teamcomms_epoch";

    /// <summary>
    /// Connects and creates (or checks and updates) the log stream. Returns its info and its epoch: a random number the
    /// creating node stores in the stream's metadata. It survives restarts of the whole NATS cluster (the stream's
    /// creation time, which an earlier version used, did not), and a stream deleted and created again gets a new one.
    /// </summary>
    public async Task<(StreamInfo Info, ulong Epoch)> OpenLogAsync(CancellationToken ct)
    {
        await ProbeAsync(ct).ConfigureAwait(false);
        await Connection.ConnectAsync().ConfigureAwait(false);
        if (Connection.ServerInfo is { } info && !VersionAtLeast(info.Version, 2, 10, 27))
        {
            throw new InvalidOperationException(
                $"nats-server {info.Version} is too old for cluster mode: 2.10.27 or newer is required (scripts/fetch-nats-server.sh)");
        }
        return await RetryAsync(async () =>
        {
            StreamInfo? existing = null;
            try
            {
                existing = (await JetStream.GetStreamAsync(StreamName, cancellationToken: ct).ConfigureAwait(false)).Info;
            }
            catch (NatsJSApiException ex) when (ex.Error.ErrCode == 10059) // stream not found
            {
            }
            if (existing is null)
            {
                var fresh = System.Security.Cryptography.RandomNumberGenerator.GetBytes(8);
                fresh[7] |= 1; // never 0
                var epoch = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(fresh);
                try
                {
                    var created = await JetStream.CreateStreamAsync(LogConfig(epoch), ct).ConfigureAwait(false);
                    return (created.Info, epoch);
                }
                catch (NatsJSApiException ex) when (ex.Error.ErrCode == 10058) // another node created it meanwhile
                {
                    existing = (await JetStream.GetStreamAsync(StreamName, cancellationToken: ct).ConfigureAwait(false)).Info;
                }
            }
            var recorded = existing.Config.Metadata is { } m && m.TryGetValue(EpochMetadataKey, out var text) &&
                ulong.TryParse(text, System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out var e) && e != 0
                ? e
                : throw new ClusterStartException($"the stream {StreamName} exists but has no {EpochMetadataKey} metadata: it was not created by TeamComms " +
                    "(or by a version before the epoch moved into metadata); see docs/operations.md, \"Cluster mode\"");
            // Apply changed settings (age, replicas, duplicate window), keeping the identity.
            var updated = await JetStream.UpdateStreamAsync(LogConfig(recorded), ct).ConfigureAwait(false);
            return (updated.Info, recorded);
        }, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Connects once without retrying, before the real connection (which retries forever): a refused TLS handshake (the
    /// server's certificate is not signed by <see cref="ClusterOptions.TlsCaFile"/>, or the server does not offer TLS
    /// while it is required) or refused credentials will not heal by retrying, so the node stops at start with a
    /// clear error instead of retrying in silence. Only an unreachable NATS is waited for, as before.
    /// </summary>
    private async Task ProbeAsync(CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var probe = new NatsConnection(_opts with { RetryOnInitialConnect = false, MaxReconnectRetry = 0, Name = _opts.Name + "-probe" });
            try
            {
                await probe.ConnectAsync().ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException or System.Security.Authentication.AuthenticationException or IOException)
            {
                if (PermanentFailure(ex) is { } why)
                {
                    throw new ClusterStartException(why);
                }
                if (attempt == 1 || attempt % 10 == 0)
                {
                    LogUnreachable(_logger, attempt, Describe(ex));
                }
            }
            finally
            {
                await probe.DisposeAsync().ConfigureAwait(false);
            }
            await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
        }
    }

    private string? PermanentFailure(Exception ex)
    {
        // Only failures that say what is wrong count as permanent: a TLS handshake cut short by a loaded server
        // ("the remote party has closed the transport stream") or nats-server's "Authentication Timeout" may heal.
        var text = Describe(ex).TrimEnd('.');
        if (text.Contains("certificate", StringComparison.OrdinalIgnoreCase))
        {
            return $"the TLS connection to NATS ({string.Join(", ", _options.Urls)}) failed: {text}. Check TeamComms:Cluster:TlsCaFile " +
                $"({_options.TlsCaFile ?? "not set: the system's trust store is used"}) signs the NATS servers' certificates, and " +
                "TlsCertFile/TlsKeyFile if the servers verify clients; TeamComms never falls back to plaintext when TLS is required";
        }
        if (text.Contains("Authorization Violation", StringComparison.OrdinalIgnoreCase) ||
            text.Contains("Authentication Expired", StringComparison.OrdinalIgnoreCase) ||
            text.Contains("Authentication Revoked", StringComparison.OrdinalIgnoreCase))
        {
            return $"NATS refused this node's credentials ({string.Join(", ", _options.Urls)}): {text}. Check TeamComms:Cluster:User/Password, " +
                "Token or CredentialsFile against the servers' authorization block";
        }
        if (text.Contains("does not support TLS but TlsMode is set to Require", StringComparison.Ordinal))
        {
            return $"TeamComms:Cluster requires TLS but the NATS server does not offer it: {text}. Give the servers a tls {{}} block " +
                "(docs/operations.md, \"NATS: version, configuration, authentication, TLS\")";
        }
        return null;
    }

    private static IEnumerable<Exception> Chain(Exception ex)
    {
        var queue = new Queue<Exception>([ex]);
        while (queue.TryDequeue(out var e))
        {
            yield return e;
            if (e is AggregateException agg)
            {
                foreach (var inner in agg.InnerExceptions)
                {
                    queue.Enqueue(inner);
                }
            }
            else if (e.InnerException is { } inner)
            {
                queue.Enqueue(inner);
            }
        }
    }

    private static string Describe(Exception ex) => string.Join(" <- ", Chain(ex).Select(e => e.Message).Distinct());

    private StreamConfig LogConfig(ulong epoch) => new(StreamName, [$"{_options.Prefix}.log.>"])
    {
        Storage = StreamConfigStorage.File,
        NumReplicas = _options.Replicas,
        MaxAge = _options.MaxAge,
        DuplicateWindow = _options.DuplicateWindow,
        Retention = StreamConfigRetention.Limits,
        Discard = StreamConfigDiscard.Old,
        AllowDirect = true,
        Description = "TeamComms cluster log: batches of sealed proposals, applied by every node in order",
        Metadata = new Dictionary<string, string> { [EpochMetadataKey] = epoch.ToString("x16", System.Globalization.CultureInfo.InvariantCulture) },
    };

    public async Task<StreamInfo> LogInfoAsync(CancellationToken ct)
    {
        var stream = await JetStream.GetStreamAsync(StreamName, cancellationToken: ct).ConfigureAwait(false);
        return stream.Info;
    }

    public Task<INatsKVStore> BucketAsync(string name, TimeSpan maxAge, CancellationToken ct) =>
        RetryAsync(() => KeyValue.CreateOrUpdateStoreAsync(new NatsKVConfig(Bucket(name))
        {
            History = 1,
            NumberOfReplicas = _options.Replicas,
            MaxAge = maxAge,
            Storage = NatsKVStorageType.File,
        }, ct).AsTask(), ct);

    /// <summary>Retries an operation through a cluster that is still forming or electing (start-up only).</summary>
    public static async Task<T> RetryAsync<T>(Func<Task<T>> operation, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            try
            {
                return await operation().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException or NatsJSApiException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(500, ct).ConfigureAwait(false);
            }
        }
    }

    internal static bool VersionAtLeast(string version, int major, int minor, int patch)
    {
        var core = version.TrimStart('v').Split('-', '+')[0].Split('.');
        if (core.Length < 3 || !int.TryParse(core[0], out var a) || !int.TryParse(core[1], out var b) || !int.TryParse(core[2], out var c))
        {
            return false;
        }
        return (a, b, c).CompareTo((major, minor, patch)) >= 0;
    }

    public async ValueTask DisposeAsync() => await Connection.DisposeAsync().ConfigureAwait(false);

    [LoggerMessage(EventId = 9001, Level = LogLevel.Warning, Message = "Disconnected from NATS; sends fail until it is back, reads continue")]
    private static partial void LogDisconnected(ILogger logger);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Warning, Message = "NATS is not reachable yet (attempt {Attempt}); waiting for it: {Reason}")]
    private static partial void LogUnreachable(ILogger logger, int attempt, string reason);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Information, Message = "Connected to NATS server {Server} (version {Version})")]
    private static partial void LogConnected(ILogger logger, string server, string version);
}
