namespace TeamComms.Server.Approvals;

/// <summary>Two-person approval settings, section <c>TeamComms:Approvals</c>. See docs/security.md.</summary>
public sealed class ApprovalOptions
{
    /// <summary>How long a request waits for a second officer before it expires. Default 48 hours.</summary>
    public TimeSpan RequestLifetime { get; set; } = TimeSpan.FromHours(48);

    public IEnumerable<string> Validate()
    {
        if (RequestLifetime < TimeSpan.FromMinutes(1) || RequestLifetime > TimeSpan.FromDays(30))
        {
            yield return "TeamComms:Approvals:RequestLifetime must be between 00:01:00 and 30.00:00:00";
        }
    }
}
