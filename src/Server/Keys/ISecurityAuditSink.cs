namespace TeamComms.Server.Keys;

/// <summary>
/// Where security-relevant key and backup actions are recorded: key created, KEK rotated, room key rotated, escrow
/// recipients changed, backup made, restore done. The default writes them to the log; the audit log (issue 4)
/// replaces it by registering its own implementation before <c>AddTeamComms</c> runs (it is added with TryAdd).
/// </summary>
internal interface ISecurityAuditSink
{
    /// <summary>Records one action. <paramref name="actor"/> is a user id, or <c>server</c> for what the server did by itself.</summary>
    void Record(string action, string actor, IReadOnlyDictionary<string, string> details);
}
