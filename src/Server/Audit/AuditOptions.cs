namespace TeamComms.Server.Audit;

/// <summary>Audit log settings, section <c>TeamComms:Audit</c>. See docs/security.md.</summary>
public sealed class AuditOptions
{
    /// <summary>How often the server signs the log's head when it changed. Default 5 minutes.</summary>
    public TimeSpan SignInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Append every entry as a JSON line to this file (for a SIEM's file collector). Empty: off.</summary>
    public string? StreamFile { get; set; }

    /// <summary>
    /// Send every entry as an RFC 5424 syslog message whose body is the JSON line: <c>udp://host:port</c> or
    /// <c>unix:/dev/log</c>. Empty: off.
    /// </summary>
    public string? StreamSyslog { get; set; }

    /// <summary>Syslog facility number. Default 13, "log audit".</summary>
    public int SyslogFacility { get; set; } = 13;

    public IEnumerable<string> Validate()
    {
        if (SignInterval < TimeSpan.FromSeconds(1))
        {
            yield return "TeamComms:Audit:SignInterval must be at least 00:00:01";
        }
        if (SyslogFacility is < 0 or > 23)
        {
            yield return "TeamComms:Audit:SyslogFacility must be 0..23";
        }
        if (!string.IsNullOrEmpty(StreamSyslog) && SyslogTarget.Parse(StreamSyslog) is null)
        {
            yield return $"TeamComms:Audit:StreamSyslog '{StreamSyslog}' is not udp://host:port or unix:/path";
        }
    }
}

/// <summary>A parsed syslog destination.</summary>
internal sealed record SyslogTarget(string Kind, string HostOrPath, int Port)
{
    public static SyslogTarget? Parse(string value)
    {
        if (value.StartsWith("unix:", StringComparison.Ordinal) && value.Length > 5)
        {
            return new SyslogTarget("unix", value[5..], 0);
        }
        if (value.StartsWith("udp://", StringComparison.Ordinal)
            && Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Port > 0 && uri.Host.Length > 0)
        {
            return new SyslogTarget("udp", uri.Host, uri.Port);
        }
        return null;
    }
}
