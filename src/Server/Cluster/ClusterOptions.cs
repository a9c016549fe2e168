using System.Text.RegularExpressions;

namespace TeamComms.Server.Cluster;

/// <summary>
/// <c>TeamComms:Cluster</c>: cluster mode. Off by default (one node, embedded RocksDB, nothing else to install). When
/// on, the node orders everything through a replicated JetStream log on a NATS cluster and applies it into its own
/// RocksDB (docs/architecture.md, "Cluster mode"; docs/operations.md, "Cluster mode").
/// </summary>
public sealed partial class ClusterOptions
{
    public const string Section = "Cluster";

    public bool Enabled { get; set; }

    /// <summary>This node's name in the cluster: 1–32 of <c>a-z 0-9 -</c>, unique, stable for the data directory's life.</summary>
    public string NodeId { get; set; } = "";

    /// <summary>
    /// 1..250, unique per node. User and session keys that a node allocates carry it in their high bits, so two nodes
    /// creating accounts at once never collide.
    /// </summary>
    public int NodeIndex { get; set; }

    /// <summary>NATS server URLs, e.g. <c>nats://10.0.0.1:4222</c> or <c>tls://nats1.acme.internal:4222</c>.</summary>
    public List<string> Urls { get; set; } = [];

    /// <summary>NATS user name and password (or <see cref="CredentialsFile"/>, or <see cref="Token"/>).</summary>
    public string? User { get; set; }

    public string? Password { get; set; }

    public string? Token { get; set; }

    /// <summary>A NATS decentralized-auth credentials file (JWT + NKey seed).</summary>
    public string? CredentialsFile { get; set; }

    /// <summary>TLS to the NATS servers: the CA that signed their certificates, and this node's client certificate (mutual TLS) if the servers require one.</summary>
    public string? TlsCaFile { get; set; }

    public string? TlsCertFile { get; set; }

    public string? TlsKeyFile { get; set; }

    /// <summary>Refuse to connect without TLS (the default when any TLS file is set).</summary>
    public bool? RequireTls { get; set; }

    /// <summary>Prefix of every stream, bucket and subject; lets several TeamComms clusters share one NATS cluster.</summary>
    public string Prefix { get; set; } = "teamcomms";

    /// <summary>Replicas of the log stream and the key-value buckets. 3 in production; tests may use 1 with a single nats-server.</summary>
    public int Replicas { get; set; } = 3;

    /// <summary>How long the log keeps entries. Long-term history lives in each node's RocksDB; a node away longer than this is rebuilt from a checkpoint.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>JetStream's duplicate window: a publish retried with the same message id inside it is stored once.</summary>
    public TimeSpan DuplicateWindow { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Sends are gathered for at least this long (and while the previous publish waits for its acknowledgement) into
    /// one publish. A 3-server cluster with sync_interval: always acknowledged about 4–5k publishes/s here.
    /// </summary>
    public TimeSpan PublishDelay { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Upper bound of one log entry's plaintext; NATS's default max_payload is 1 MiB.</summary>
    public int MaxEntryBytes { get; set; } = 768 * 1024;

    /// <summary>How long a publish is retried (same message id) through an election before the senders get <c>unavailable</c>.</summary>
    public TimeSpan PublishRetryWindow { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// A node's lease: it renews its heartbeat in JetStream's key-value store every third of it. A node that cannot renew
    /// for a whole lease stops serving clients until it is connected and caught up again, so it cannot keep serving a
    /// session that was revoked elsewhere; singleton work moves after a holder misses its lease.
    /// </summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Test-only: <c>point:count</c> kills the process at a named point of the cluster path (see docs/architecture.md).</summary>
    public string? TestFault { get; set; }

    internal bool TlsRequired => RequireTls ?? (TlsCaFile is not null || TlsCertFile is not null);

    public IEnumerable<string> Validate()
    {
        if (!Enabled)
        {
            yield break;
        }
        if (!NodeIdPattern().IsMatch(NodeId))
        {
            yield return "TeamComms:Cluster:NodeId must be 1-32 of a-z, 0-9 and '-'";
        }
        if (NodeIndex is < 1 or > 250)
        {
            yield return "TeamComms:Cluster:NodeIndex must be 1..250 and unique per node";
        }
        if (Urls.Count == 0)
        {
            yield return "TeamComms:Cluster:Urls must list the NATS servers";
        }
        if (!SubjectTokenPattern().IsMatch(Prefix))
        {
            yield return "TeamComms:Cluster:Prefix must be 1-32 of a-z, 0-9, '-' and '_'";
        }
        if (Replicas is not (1 or 3 or 5))
        {
            yield return "TeamComms:Cluster:Replicas must be 1, 3 or 5";
        }
        if (MaxAge < TimeSpan.FromHours(1) || DuplicateWindow < TimeSpan.FromSeconds(30) || DuplicateWindow > MaxAge)
        {
            yield return "TeamComms:Cluster:MaxAge must be at least 1 hour and DuplicateWindow between 30 s and MaxAge";
        }
        if (PublishRetryWindow >= DuplicateWindow)
        {
            yield return "TeamComms:Cluster:PublishRetryWindow must be shorter than DuplicateWindow, or a retried publish could be stored twice";
        }
        if (PublishDelay < TimeSpan.Zero || PublishDelay > TimeSpan.FromMilliseconds(100))
        {
            yield return "TeamComms:Cluster:PublishDelay must be 0..100 ms";
        }
        if (MaxEntryBytes is < 64 * 1024 or > 8 * 1024 * 1024)
        {
            yield return "TeamComms:Cluster:MaxEntryBytes must be 64 KiB..8 MiB";
        }
        if (Lease < TimeSpan.FromSeconds(3))
        {
            yield return "TeamComms:Cluster:Lease must be at least 3 s";
        }
        if ((TlsCertFile is null) != (TlsKeyFile is null))
        {
            yield return "TeamComms:Cluster:TlsCertFile and TlsKeyFile go together";
        }
        if (Password is not null && User is null)
        {
            yield return "TeamComms:Cluster:Password needs User";
        }
    }

    [GeneratedRegex("^[a-z0-9-]{1,32}$")]
    private static partial Regex NodeIdPattern();

    [GeneratedRegex("^[a-z0-9_-]{1,32}$")]
    private static partial Regex SubjectTokenPattern();
}
