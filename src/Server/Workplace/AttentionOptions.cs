namespace TeamComms.Server.Workplace;

/// <summary>Settings of the workplace features, <c>TeamComms:Workplace</c>. Company policy itself is edited through the admin API.</summary>
public sealed class AttentionOptions
{
    public const string Section = "Workplace";

    /// <summary>How often an unacknowledged recipient of an alert is notified again.</summary>
    public TimeSpan ReminderInterval { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long reminders go on; at its end unacknowledged recipients escalate to their manager or the fallback list.</summary>
    public TimeSpan ReminderDuration { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>Alerts one sender may send per <see cref="AlertWindow"/>.</summary>
    public int AlertsPerWindow { get; set; } = 10;

    /// <summary>The sliding window of <see cref="AlertsPerWindow"/>.</summary>
    public TimeSpan AlertWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Incident reports one person may file per day (anonymous ones included).</summary>
    public int IncidentReportsPerDay { get; set; } = 10;

    /// <summary>
    /// The company's push gateway (Matrix push gateway API: the server POSTs to <c>{GatewayUrl}/_matrix/push/v1/notify</c>).
    /// Null turns push off. Must be https unless it is a loopback address.
    /// </summary>
    public string? PushGatewayUrl { get; set; }

    /// <summary>Time allowed for one request to the push gateway.</summary>
    public TimeSpan PushTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts per notification when the gateway fails (5xx or unreachable), with doubling delays from 1 s.</summary>
    public int PushAttempts { get; set; } = 3;

    public IEnumerable<string> Validate()
    {
        if (ReminderInterval < TimeSpan.FromSeconds(10))
        {
            yield return "TeamComms:Workplace:ReminderInterval must be at least 10 seconds";
        }
        if (ReminderDuration < ReminderInterval)
        {
            yield return "TeamComms:Workplace:ReminderDuration must be at least the ReminderInterval";
        }
        if (AlertsPerWindow < 1 || AlertWindow <= TimeSpan.Zero)
        {
            yield return "TeamComms:Workplace:AlertsPerWindow must be at least 1 and AlertWindow positive";
        }
        if (IncidentReportsPerDay < 1)
        {
            yield return "TeamComms:Workplace:IncidentReportsPerDay must be at least 1";
        }
        if (PushAttempts is < 1 or > 10 || PushTimeout <= TimeSpan.Zero)
        {
            yield return "TeamComms:Workplace:PushAttempts must be 1..10 and PushTimeout positive";
        }
        if (PushGatewayUrl is { Length: > 0 } url)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
            {
                yield return $"TeamComms:Workplace:PushGatewayUrl '{url}' is not an http(s) URL";
            }
            else if (uri.Scheme == "http" && !uri.IsLoopback)
            {
                yield return "TeamComms:Workplace:PushGatewayUrl must use https (plain http only to a loopback address)";
            }
        }
    }
}
