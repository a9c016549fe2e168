namespace TeamComms.Server.Federation;

/// <summary>Federation settings, section <c>TeamComms:Federation</c>. See docs/operations.md (Federation).</summary>
public sealed class FederationOptions
{
    /// <summary>Off by default: no federation endpoint answers, no remote user can be invited, nothing is sent.</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// This server's public base URL for other servers (for example <c>https://chat.acme.example:8448</c>), served at
    /// <c>/.well-known/teamcomms/server</c>. Unset: the well-known document is not served and partners must list
    /// this server's URL in their partner table.
    /// </summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>
    /// Test mode: allow plain-HTTP federation with loopback addresses (127.0.0.0/8, ::1, localhost) only. Never set it
    /// in production; everything else still requires TLS.
    /// </summary>
    public bool AllowInsecureLoopback { get; set; }

    /// <summary>
    /// Accept federation requests over plain HTTP because a reverse proxy in front of this server terminates TLS.
    /// Outgoing requests still require https.
    /// </summary>
    public bool TrustProxyTls { get; set; }

    /// <summary>A signed request older or newer than this (by its timestamp) is refused as a replay.</summary>
    public TimeSpan RequestWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Timeout of one outgoing request.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long peers may cache this server's key document.</summary>
    public TimeSpan KeyDocumentLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>At most one key-document fetch per server per interval when an unknown key id shows up.</summary>
    public TimeSpan KeyRefetchInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>First retry delay after a failed transaction; doubles per failure (with jitter) up to <see cref="RetryMax"/>.</summary>
    public TimeSpan RetryBase { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between retries to an unreachable destination.</summary>
    public TimeSpan RetryMax { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Most events of one room in one transaction (one checkpoint signature covers them).</summary>
    public int MaxEventsPerBatch { get; set; } = 500;

    /// <summary>Most events of all rooms in one transaction.</summary>
    public int MaxEventsPerTransaction { get; set; } = 1000;

    /// <summary>Most proposals in one transaction.</summary>
    public int MaxProposalsPerTransaction { get; set; } = 500;

    /// <summary>A send to a room hosted elsewhere that the hub has not ordered within this time is answered with Pending.</summary>
    public TimeSpan PendingNotice { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a call (join, leave, invite, …) on a room hosted elsewhere waits for the hub before answering <c>federation_pending</c>.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a server name's discovered base URL is cached.</summary>
    public TimeSpan DiscoveryCacheLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Events per page when backfilling history after a join.</summary>
    public int BackfillPageSize { get; set; } = 200;

    /// <summary>Checks the settings; a misconfigured server refuses to start and says why.</summary>
    public IEnumerable<string> Validate()
    {
        if (RequestWindow <= TimeSpan.Zero || RequestTimeout <= TimeSpan.Zero || KeyDocumentLifetime <= TimeSpan.Zero
            || KeyRefetchInterval < TimeSpan.Zero || RetryBase <= TimeSpan.Zero || RetryMax < RetryBase || PendingNotice < TimeSpan.Zero
            || CallTimeout <= TimeSpan.Zero || DiscoveryCacheLifetime < TimeSpan.Zero)
        {
            yield return "TeamComms:Federation durations must be positive and RetryMax at least RetryBase";
        }
        if (MaxEventsPerBatch is < 1 or > Protocol.Federation.FederationLimits.MaxEventsPerBatch
            || MaxEventsPerTransaction < MaxEventsPerBatch
            || MaxProposalsPerTransaction is < 1 or > Protocol.Federation.FederationLimits.MaxProposals
            || BackfillPageSize is < 1 or > Protocol.Federation.FederationLimits.MaxEventsPerBatch)
        {
            yield return "TeamComms:Federation batch sizes are out of range";
        }
        if (PublicBaseUrl is { } url && ServerDirectory.CheckBaseUrl(url, AllowInsecureLoopback) is { } problem)
        {
            yield return $"TeamComms:Federation:PublicBaseUrl: {problem}";
        }
    }
}
