namespace TeamComms.Server.Federation;

/// <summary>
/// Where federation records what it refused and what admins changed. <see cref="LoggingFederationAudit"/> writes each
/// entry to the server log, keeps the latest in memory for <c>GET /v1/admin/federation/audit</c>, and appends it to the
/// company audit log. <see cref="Record"/> never blocks: it is called on the room log's thread too.
/// </summary>
internal interface IFederationAudit
{
    void Record(FederationAuditEntry entry);

    /// <summary>The most recent entries, newest last.</summary>
    IReadOnlyList<FederationAuditEntry> Recent(int limit);
}

/// <summary>One audited federation decision.</summary>
/// <param name="Timestamp">Unix ms.</param>
/// <param name="Kind">A stable name from <see cref="FederationAuditKinds"/>.</param>
/// <param name="Server">The other server.</param>
/// <param name="Detail">What exactly, for the reader.</param>
/// <param name="RoomId">The room concerned, if any.</param>
internal sealed record FederationAuditEntry(long Timestamp, string Kind, string Server, string Detail, string? RoomId = null);

/// <summary>Audit entry kinds.</summary>
internal static class FederationAuditKinds
{
    /// <summary>A request came from a server that is not a partner (or federation is off).</summary>
    public const string UnlistedOrigin = "refused_unlisted_origin";
    /// <summary>This server refused to send to, fetch from or invite a user of a server that is not a partner.</summary>
    public const string UnlistedDestination = "refused_unlisted_destination";
    /// <summary>A request, checkpoint, origin or key-document signature did not verify.</summary>
    public const string BadSignature = "refused_bad_signature";
    /// <summary>A signed request outside the time window, or seen before.</summary>
    public const string Replay = "refused_replay";
    /// <summary>An event or batch failed verification: id, content hash, chain, order, or it conflicts with the stored chain.</summary>
    public const string BadEvent = "refused_bad_event";
    /// <summary>A request addressed to another server.</summary>
    public const string WrongDestination = "refused_wrong_destination";
    public const string PartnerAdded = "partner_added";
    public const string PartnerRemoved = "partner_removed";
    public const string KeyRotated = "key_rotated";
}
