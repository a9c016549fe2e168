namespace TeamComms.Protocol.Audit;

/// <summary>
/// One entry of a server's append-only audit log: who did what to which target, when, from which address.
/// <see cref="Hash"/> chains it to the entry before it (see <see cref="AuditChain"/>).
/// </summary>
/// <param name="Seq">Dense position in the log: 1, 2, 3, …</param>
/// <param name="Timestamp">Unix milliseconds (UTC) when the server recorded it.</param>
/// <param name="Actor">Who acted: a user id, <c>scim:&lt;token name&gt;</c>, or <c>system</c>.</param>
/// <param name="Action">What was done, for example <c>user.deactivate</c>.</param>
/// <param name="Target">What it was done to (a user id, room id, rule name, …); empty when none.</param>
/// <param name="Address">The client address the request came from; empty for the server's own actions.</param>
/// <param name="Details">Further facts as string pairs.</param>
/// <param name="Prev">The previous entry's hash; null for the first entry.</param>
/// <param name="Hash">SHA-256 over the entry's canonical encoding, which includes <paramref name="Prev"/>.</param>
public sealed record AuditEntry(long Seq, long Timestamp, string Actor, string Action, string Target, string Address,
    IReadOnlyDictionary<string, string> Details, byte[]? Prev, byte[] Hash);

/// <summary>
/// A signed statement "the audit log of <see cref="Server"/> had <see cref="Seq"/> entries and its last hash was
/// <see cref="Hash"/> at <see cref="Timestamp"/>", signed with the server's Ed25519 key. It pins everything up to
/// <see cref="Seq"/>: an entry changed or removed below it, or a tail cut off above it, no longer matches.
/// </summary>
public sealed record AuditHead(long Seq, byte[] Hash, long Timestamp, string Server, string KeyId, byte[] Signature);

/// <summary>One problem found by <see cref="AuditChain.Verify"/>.</summary>
/// <param name="Kind"><c>edited</c>, <c>deleted</c>, <c>out_of_order</c>, <c>truncated</c>, <c>bad_signature</c> or <c>head_mismatch</c>.</param>
/// <param name="Seq">The entry (or head) where it was found.</param>
/// <param name="Message">A sentence for the operator.</param>
public sealed record AuditProblem(string Kind, long Seq, string Message);

/// <summary>The result of verifying an audit log.</summary>
/// <param name="Entries">Entries read.</param>
/// <param name="LastSeq">Seq of the last entry read (0 for an empty log).</param>
/// <param name="LastSignedSeq">Highest seq covered by a valid signed head (0 when none).</param>
/// <param name="Problems">Empty when the log is intact.</param>
public sealed record AuditVerification(long Entries, long LastSeq, long LastSignedSeq, IReadOnlyList<AuditProblem> Problems)
{
    /// <summary>True when no problem was found.</summary>
    public bool Ok => Problems.Count == 0;
}
