namespace TeamComms.Server.Workplace;

/// <summary>Settings of the workplace features, section <c>TeamComms:Workplace</c>. docs/operations.md lists them.</summary>
public sealed class WorkplaceOptions
{
    /// <summary>Domains whose links count as the company's own under a <c>block</c> or <c>allowlist</c> link policy (the server's name always does).</summary>
    public List<string> InternalDomains { get; set; } = [];

    /// <summary>How long after content is removed the server compacts it off the disk (coalescing removals). Default 30 s; 0: at once.</summary>
    public TimeSpan CompactionDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the retention job runs. Default 1 hour.</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Events per retention step on the room log (each step is one group commit). Default 256.</summary>
    public int PurgeChunk { get; set; } = 256;

    /// <summary>Largest attachment the server accepts, whatever a room allows. Default 100 MiB.</summary>
    public long MaxAttachmentBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>How long a signed download link works. Default 5 minutes; at most 1 hour.</summary>
    public TimeSpan LinkLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Uploads no message refers to are deleted after this long. Default 24 hours.</summary>
    public TimeSpan UnclaimedAttachmentLifetime { get; set; } = TimeSpan.FromHours(24);

    public IEnumerable<string> Validate()
    {
        if (CompactionDelay < TimeSpan.Zero)
        {
            yield return "TeamComms:Workplace:CompactionDelay must not be negative";
        }
        if (RetentionInterval < TimeSpan.FromSeconds(1))
        {
            yield return "TeamComms:Workplace:RetentionInterval must be at least 00:00:01";
        }
        if (PurgeChunk is < 1 or > 10_000)
        {
            yield return "TeamComms:Workplace:PurgeChunk must be 1..10000";
        }
        if (MaxAttachmentBytes is < 1 or > Moderation.AttachmentRules.HardMaxBytes)
        {
            yield return $"TeamComms:Workplace:MaxAttachmentBytes must be 1..{Moderation.AttachmentRules.HardMaxBytes}";
        }
        if (LinkLifetime < TimeSpan.FromSeconds(10) || LinkLifetime > TimeSpan.FromHours(1))
        {
            yield return "TeamComms:Workplace:LinkLifetime must be 00:00:10..01:00:00";
        }
        if (UnclaimedAttachmentLifetime < TimeSpan.FromMinutes(1))
        {
            yield return "TeamComms:Workplace:UnclaimedAttachmentLifetime must be at least 00:01:00";
        }
        foreach (var d in InternalDomains)
        {
            if (!Moderation.LinkRules.IsValidDomain(Moderation.LinkRules.NormalizeDomain(d)))
            {
                yield return $"TeamComms:Workplace:InternalDomains: '{d}' is not a domain name";
            }
        }
    }
}
