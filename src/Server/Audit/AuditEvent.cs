namespace TeamComms.Server.Audit;

/// <summary>
/// Something to record in the audit log: who (<paramref name="Actor"/>: a user id, <c>scim:&lt;token&gt;</c> or
/// <c>system</c>) did what (<paramref name="Action"/>, dotted, for example <c>user.deactivate</c>) to what
/// (<paramref name="Target"/>), from which client address. The log adds when, the sequence number and the hashes.
/// </summary>
internal sealed record AuditEvent(string Actor, string Action, string Target, string Address, IReadOnlyDictionary<string, string>? Details = null);

/// <summary>Who is acting, and from where: carried from an HTTP request or a SCIM token into the audit log.</summary>
internal sealed record Principal(string Actor, string Address)
{
    public static Principal System { get; } = new("system", "");

    public AuditEvent Event(string action, string target, IReadOnlyDictionary<string, string>? details = null) =>
        new(Actor, action, target, Address, details);
}
