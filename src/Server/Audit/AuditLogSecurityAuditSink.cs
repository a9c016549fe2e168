using TeamComms.Server.Keys;

namespace TeamComms.Server.Audit;

/// <summary>
/// Records the key and backup layer's actions (key created, KEK and room key rotations, escrow recipients changed,
/// backups, restores) in the audit log, with the server's own actions as actor <c>system</c>.
/// </summary>
internal sealed class AuditLogSecurityAuditSink(AuditLog audit) : ISecurityAuditSink
{
    public void Record(string action, string actor, IReadOnlyDictionary<string, string> details) =>
        // The callers are synchronous and never on the room log's thread, so waiting here cannot block a commit.
        audit.RecordAsync(new AuditEvent(actor == "server" ? "system" : actor, action, "", "", details)).GetAwaiter().GetResult();
}
