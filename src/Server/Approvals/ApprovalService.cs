using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TeamComms.Crypto.Age;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.Audit;
using TeamComms.Server.Keys;
using TeamComms.Server.Storage;
using TeamComms.Server.Storage.Encryption;

namespace TeamComms.Server.Approvals;

/// <summary>
/// Two-person approval of changes to who receives backups and exports (docs/security.md, "Separated roles").
/// One officer (or the configuration file) requests a change; a different security officer approves or rejects it
/// before it expires; the requester may cancel it. Only an approved change takes effect. Every step is an audit entry
/// committed in the same write as the state it changes, so the log and the requests never disagree.
/// <list type="bullet">
/// <item><c>company_recipients</c>: the escrow (and optional recovery) recipients. Requested by a security officer or
/// noticed in the configuration file at start; approved by another security officer. On approval the data keys are
/// rewrapped and new backups go to the new recipients.</item>
/// <item><c>export_recipient</c>: a compliance officer's own age recipient, which their exports are encrypted to.
/// Requested by the compliance officer; approved by a security officer.</item>
/// </list>
/// </summary>
internal sealed partial class ApprovalService(
    SecurityStore store,
    RocksStore rocks,
    AuditLog audit,
    KeyService keys,
    TimeProvider time,
    IOptions<ApprovalOptions> options,
    ILogger<ApprovalService> logger) : IDisposable
{
    public const string CompanyRecipients = "company_recipients";
    public const string ExportRecipient = "export_recipient";
    public const string ConfigActor = "config";

    // Serializes id allocation and every state change, so a request is decided once.
    private readonly SemaphoreSlim _gate = new(1, 1);

    private AtRestEncryption AtRest => rocks.AtRest ?? throw new ApiException(ErrorCode.Unavailable, "encryption at rest is off");

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    // ---- requests ----------------------------------------------------------------------------------------------

    /// <summary>A security officer asks to change the company recipients (escrow, optional recovery).</summary>
    public async Task<ApprovalRecord> RequestCompanyRecipientsAsync(AuthenticatedSession session, Principal by, string? escrow, string? recovery, string? note)
    {
        RequireRole(session, CompanyRoles.SecurityOfficer, "request a change of the company recipients");
        var at = AtRest;
        var e = ParseRecipient(escrow, "escrow_recipient", required: true)!;
        var r = ParseRecipient(recovery, "recovery_recipient", required: false);
        if (r is not null && r == e)
        {
            throw new ApiException(ErrorCode.InvalidRecipient, "the recovery recipient must differ from the escrow recipient");
        }
        if (e == at.Approved?.Escrow && r == at.Approved?.Recovery)
        {
            throw new ApiException(ErrorCode.BadRequest, "these are already the approved company recipients");
        }
        return await CreateAsync(new ApprovalRecord
        {
            Id = 0,
            Kind = CompanyRecipients,
            Escrow = e,
            Recovery = r,
            Current = CurrentCompany(at),
            RequestedBy = by.Actor,
            RequestedFrom = by.Address,
            RequestedAt = 0,
            ExpiresAt = 0,
            Note = Trim(note),
        }, by, extra: null).ConfigureAwait(false);
    }

    /// <summary>A compliance officer asks to register (or replace) their own export recipient.</summary>
    public async Task<ApprovalRecord> RequestExportRecipientAsync(AuthenticatedSession session, Principal by, string? recipient, string? note)
    {
        RequireRole(session, CompanyRoles.ComplianceOfficer, "register an export recipient");
        var parsed = ParseRecipient(recipient, "recipient", required: true)!;
        var current = store.GetExportRecipient(session.UserId);
        if (current?.Recipient == parsed)
        {
            throw new ApiException(ErrorCode.BadRequest, "this is already your approved export recipient");
        }
        if (AtRest.Approved?.Escrow == parsed || AtRest.Approved?.Recovery == parsed)
        {
            throw new ApiException(ErrorCode.InvalidRecipient, "an export recipient is the officer's own key, not a company recipient");
        }
        return await CreateAsync(new ApprovalRecord
        {
            Id = 0,
            Kind = ExportRecipient,
            Subject = session.UserId,
            Recipient = parsed,
            Current = current?.Recipient ?? "",
            RequestedBy = by.Actor,
            RequestedFrom = by.Address,
            RequestedAt = 0,
            ExpiresAt = 0,
            Note = Trim(note),
        }, by, extra: null).ConfigureAwait(false);
    }

    /// <summary>
    /// At start: when the configuration file names other company recipients than it did at the previous start, the
    /// change is recorded and audited, and held as a request from <c>config</c> until a security officer approves
    /// it. Meanwhile data keys and backups keep going to the approved recipients.
    /// </summary>
    public async Task<ApprovalRecord?> NoticeConfigurationAsync()
    {
        var at = rocks.AtRest;
        if (at is null)
        {
            return null;
        }
        var (escrow, recovery) = (at.ConfiguredEscrow, at.ConfiguredRecovery);
        var seen = at.ConfigSeen;
        // Nothing recorded yet reads as "nothing configured": a server without company recipients has nothing to notice.
        if (seen?.Escrow == escrow && seen?.Recovery == recovery)
        {
            if (at.ConfiguredDiffersFromApproved)
            {
                LogConfigNotApproved(logger, Describe(escrow, recovery), CurrentCompany(at));
            }
            return null; // the file did not change since the last start: a held, rejected or superseded change stays so
        }
        var seenRow = AtRestEncryption.StageConfigSeen(new ConfiguredRecipientsRecord(escrow, recovery, Now));
        if (!at.ConfiguredDiffersFromApproved)
        {
            // The setting was removed (the approved recipients stay), or now matches the approved ones.
            var details = new Dictionary<string, string> { ["configured"] = Describe(escrow, recovery), ["approved"] = CurrentCompany(at) };
            await audit.RecordWithAsync([new AuditEvent("system", "escrow.config.changed", CompanyRecipients, "", details)], async writes =>
            {
                await audit.CommitLocalAsync([.. writes, seenRow], rows => Task.Run(() => store.Write(rows))).ConfigureAwait(false);
                return (true, 0);
            }).ConfigureAwait(false);
            return null;
        }
        var request = await CreateAsync(new ApprovalRecord
        {
            Id = 0,
            Kind = CompanyRecipients,
            Escrow = escrow,
            Recovery = recovery,
            Current = CurrentCompany(at),
            RequestedBy = ConfigActor,
            RequestedAt = 0,
            ExpiresAt = 0,
            Note = "changed in the configuration file (TeamComms:Keys)",
        }, Principal.System, extra: seenRow, superseding: true).ConfigureAwait(false);
        LogConfigHeld(logger, Describe(escrow, recovery), CurrentCompany(at), request.Id);
        return request;
    }

    private async Task<ApprovalRecord> CreateAsync(ApprovalRecord draft, Principal by, StagedWrite? extra, bool superseding = false)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var now = Now;
            var events = new List<AuditEvent>();
            var writes = new List<StagedWrite>();
            ExpireDue(now, events, writes);
            foreach (var open in Pending(draft.Kind, draft.Subject, now))
            {
                if (!superseding)
                {
                    throw new ApiException(ErrorCode.Conflict,
                        $"request {open.Id} for this change is pending (expires {Iso(open.ExpiresAt)}): cancel it, or have it decided, before filing another");
                }
                var closed = open with { Status = "superseded", DecidedBy = by.Actor, DecidedAt = now, Reason = "a newer request replaced it" };
                writes.Add(SecurityStore.StageApproval(closed));
                events.Add(by.Event("approval.superseded", Target(closed), Details(closed)));
            }
            var id = store.LastApprovalId() + 1;
            var record = draft with { Id = id, RequestedAt = now, ExpiresAt = now + (long)options.Value.RequestLifetime.TotalMilliseconds };
            writes.Add(SecurityStore.StageApproval(record));
            writes.Add(SecurityStore.StageLastApprovalId(id));
            if (extra is not null)
            {
                writes.Add(extra);
            }
            var requested = Details(record);
            events.Add(by.Event(draft.RequestedBy == ConfigActor ? "escrow.recipients.held" : "approval.requested", Target(record), requested));
            await CommitAsync(events, writes).ConfigureAwait(false);
            return record;
        }
        finally
        {
            _gate.Release();
        }
    }

    // ---- decisions ---------------------------------------------------------------------------------------------

    /// <summary>
    /// A second officer approves. The approver must hold the role the kind needs (security officer), must not be the
    /// requester (nor, for an export recipient, the officer it belongs to), and must not hold both officer roles.
    /// </summary>
    public async Task<(ApprovalRecord Request, int Rewrapped)> ApproveAsync(AuthenticatedSession session, Principal by, long id)
    {
        RequireRole(session, CompanyRoles.SecurityOfficer, "approve a change of recipients");
        ApprovalRecord approved;
        CompanyRecipientsRecord? company = null;
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var (request, now) = await OpenAsync(id, request =>
            {
                if (request.RequestedBy == session.UserId)
                {
                    throw new ApiException(ErrorCode.Forbidden, $"request {id} was made by {session.UserId}: a different security officer must approve it");
                }
                if (request.Subject == session.UserId)
                {
                    throw new ApiException(ErrorCode.Forbidden, $"request {id} changes {session.UserId}'s own export recipient: another officer must approve it");
                }
            }).ConfigureAwait(false);
            approved = request with { Status = "approved", DecidedBy = by.Actor, DecidedFrom = by.Address, DecidedAt = now };
            var writes = new List<StagedWrite> { SecurityStore.StageApproval(approved) };
            var events = new List<AuditEvent> { by.Event("approval.approved", Target(approved), Details(approved)) };
            if (request.Kind == CompanyRecipients)
            {
                var at = AtRest;
                company = new CompanyRecipientsRecord(request.Escrow, request.Recovery, now, by.Actor, id);
                writes.Add(AtRestEncryption.StageApproved(company));
                events.Add(by.Event("escrow.recipients.changed", CompanyRecipients, new Dictionary<string, string>
                {
                    ["from"] = CurrentCompany(at),
                    ["to"] = Describe(request.Escrow, request.Recovery),
                    ["request"] = Id(id),
                    ["requested_by"] = request.RequestedBy,
                }));
            }
            else
            {
                var recipient = AgeRecipient.Parse(request.Recipient!);
                writes.Add(SecurityStore.StageExportRecipient(new ExportRecipientRecord(request.Subject, request.Recipient!, recipient.KeyId, now, by.Actor, id)));
                events.Add(by.Event("compliance.recipient.set", request.Subject, new Dictionary<string, string>
                {
                    ["recipient"] = recipient.KeyId,
                    ["previous"] = request.Current,
                    ["request"] = Id(id),
                }));
            }
            await CommitAsync(events, writes).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
        // The record is committed: from here a crash is finished by the next start (it rewraps to the approved set).
        var rewrapped = company is null ? 0 : await keys.ApplyRecipientsAsync(company).ConfigureAwait(false);
        return (approved, rewrapped);
    }

    /// <summary>A security officer other than the requester rejects the request.</summary>
    public Task<ApprovalRecord> RejectAsync(AuthenticatedSession session, Principal by, long id, string? reason)
    {
        RequireRole(session, CompanyRoles.SecurityOfficer, "reject a request");
        return CloseAsync(by, id, "rejected", Trim(reason), request =>
        {
            if (request.RequestedBy == session.UserId)
            {
                throw new ApiException(ErrorCode.Forbidden, $"request {id} is yours: cancel it instead of rejecting it");
            }
        });
    }

    /// <summary>The requester withdraws their own pending request.</summary>
    public Task<ApprovalRecord> CancelAsync(AuthenticatedSession session, Principal by, long id) =>
        CloseAsync(by, id, "cancelled", null, request =>
        {
            if (request.RequestedBy != session.UserId)
            {
                throw new ApiException(ErrorCode.Forbidden, $"only {request.RequestedBy}, who made request {id}, can cancel it; security officers reject requests");
            }
        });

    private async Task<ApprovalRecord> CloseAsync(Principal by, long id, string status, string? reason, Action<ApprovalRecord> check)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var (request, now) = await OpenAsync(id, check).ConfigureAwait(false);
            var closed = request with { Status = status, DecidedBy = by.Actor, DecidedFrom = by.Address, DecidedAt = now, Reason = reason };
            await CommitAsync([by.Event("approval." + status, Target(closed), Details(closed))], [SecurityStore.StageApproval(closed)]).ConfigureAwait(false);
            return closed;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The pending request <paramref name="id"/>, or a clear error: unknown, already decided, or expired (an expired
    /// request is marked so, with its audit entry, before the error is returned).
    /// </summary>
    private async Task<(ApprovalRecord Request, long Now)> OpenAsync(long id, Action<ApprovalRecord> check)
    {
        var now = Now;
        var request = store.GetApproval(id) ?? throw new ApiException(ErrorCode.NotFound, $"no approval request {id}");
        if (request.Status != "pending")
        {
            throw new ApiException(ErrorCode.ApprovalClosed, $"request {id} is already {request.Status}{(request.DecidedBy is { } who ? " (by " + who + ")" : "")}; nothing was changed");
        }
        check(request); // the wrong person changes nothing, not even an expiry mark
        if (now >= request.ExpiresAt)
        {
            var events = new List<AuditEvent>();
            var writes = new List<StagedWrite>();
            ExpireDue(now, events, writes);
            await CommitAsync(events, writes).ConfigureAwait(false);
            throw new ApiException(ErrorCode.ApprovalExpired, $"request {id} expired at {Iso(request.ExpiresAt)} before a second officer decided it; nothing was changed. File a new request.");
        }
        return (request, now);
    }

    // ---- reading -----------------------------------------------------------------------------------------------

    /// <summary>
    /// Requests, newest first. Security officers see every request; compliance officers see the ones they made or
    /// that concern them. Requests past their time are marked expired first.
    /// </summary>
    public async Task<List<ApprovalRecord>> ListAsync(AuthenticatedSession session, string? status, int limit)
    {
        await ExpireDueAsync().ConfigureAwait(false);
        var all = session.Roles.Contains(CompanyRoles.SecurityOfficer);
        return [.. store.Approvals()
            .Where(a => all || a.RequestedBy == session.UserId || a.Subject == session.UserId)
            .Where(a => status is null || a.Status == status)
            .Take(limit)];
    }

    public async Task<ApprovalRecord> GetAsync(AuthenticatedSession session, long id)
    {
        await ExpireDueAsync().ConfigureAwait(false);
        var request = store.GetApproval(id);
        if (request is null || !(session.Roles.Contains(CompanyRoles.SecurityOfficer) || request.RequestedBy == session.UserId || request.Subject == session.UserId))
        {
            throw new ApiException(ErrorCode.NotFound, $"no approval request {id}");
        }
        return request;
    }

    /// <summary>The pending request for company recipients, if any (for key status).</summary>
    public ApprovalRecord? PendingCompanyRequest() => Pending(CompanyRecipients, "", Now).FirstOrDefault();

    public ExportRecipientRecord? ExportRecipientOf(string userId) => store.GetExportRecipient(userId);

    public ApprovalRecord? PendingExportRequest(string userId) => Pending(ExportRecipient, userId, Now).FirstOrDefault();

    /// <summary>A compliance officer removes their own export recipient at once (removing a recipient needs no second person).</summary>
    public async Task<bool> RemoveExportRecipientAsync(AuthenticatedSession session, Principal by)
    {
        RequireRole(session, CompanyRoles.ComplianceOfficer, "remove an export recipient");
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (store.GetExportRecipient(session.UserId) is not { } current)
            {
                return false;
            }
            await CommitAsync([by.Event("compliance.recipient.removed", session.UserId, new Dictionary<string, string> { ["recipient"] = current.KeyId })],
                [SecurityStore.StageRemoveExportRecipient(session.UserId)]).ConfigureAwait(false);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task ExpireDueAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var events = new List<AuditEvent>();
            var writes = new List<StagedWrite>();
            ExpireDue(Now, events, writes);
            await CommitAsync(events, writes).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private void ExpireDue(long now, List<AuditEvent> events, List<StagedWrite> writes)
    {
        foreach (var request in store.Approvals().Where(a => a.Status == "pending" && now >= a.ExpiresAt))
        {
            var expired = request with { Status = "expired", DecidedAt = now, DecidedBy = "system" };
            writes.Add(SecurityStore.StageApproval(expired));
            events.Add(Principal.System.Event("approval.expired", Target(expired), Details(expired)));
        }
    }

    private IEnumerable<ApprovalRecord> Pending(string kind, string subject, long now) =>
        store.Approvals().Where(a => a.Status == "pending" && a.Kind == kind && a.Subject == subject && now < a.ExpiresAt);

    private async Task CommitAsync(List<AuditEvent> events, List<StagedWrite> writes)
    {
        if (writes.Count == 0)
        {
            return;
        }
        await audit.RecordWithAsync(events, async entries =>
        {
            // Approvals and the key settings they change are this node's own (docs/architecture.md, cluster mode).
            await audit.CommitLocalAsync([.. writes, .. entries], rows => Task.Run(() => store.Write(rows))).ConfigureAwait(false);
            return (true, 0);
        }).ConfigureAwait(false);
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    private static void RequireRole(AuthenticatedSession session, string role, string what)
    {
        if (!session.Roles.Contains(role))
        {
            throw new ApiException(ErrorCode.Forbidden, $"only a {role} can {what}");
        }
        RoleSeparation.RefuseCombined(session);
    }

    /// <summary>Parses an age recipient, refusing anything else (an identity, a typo, an SSH key) with <c>invalid_recipient</c>.</summary>
    internal static string? ParseRecipient(string? text, string field, bool required)
    {
        var trimmed = text?.Trim();
        if (string.IsNullOrEmpty(trimmed))
        {
            return required ? throw new ApiException(ErrorCode.InvalidRecipient, $"{field} is required: an age X25519 recipient (age1…)") : null;
        }
        if (trimmed.StartsWith("AGE-SECRET-KEY-", StringComparison.OrdinalIgnoreCase))
        {
            throw new ApiException(ErrorCode.InvalidRecipient, $"{field} is a secret key: send the public key (age1…, from age-keygen -y), and keep the secret key to yourself");
        }
        if (!AgeRecipient.TryParse(trimmed, out var recipient))
        {
            throw new ApiException(ErrorCode.InvalidRecipient, $"{field} '{Shorten(trimmed)}' is not an age X25519 recipient (age1…, 62 characters, lower case, valid checksum)");
        }
        return recipient.ToString();
    }

    private static string CurrentCompany(AtRestEncryption at) => Describe(at.Approved?.Escrow, at.Approved?.Recovery);

    private static string Describe(string? escrow, string? recovery) =>
        string.Join(",", new[] { escrow, recovery }.Where(r => r is not null)) is { Length: > 0 } s ? s : "none";

    private static string Target(ApprovalRecord r) => r.Kind == ExportRecipient ? r.Subject : CompanyRecipients;

    private static Dictionary<string, string> Details(ApprovalRecord r)
    {
        var d = new Dictionary<string, string>
        {
            ["request"] = Id(r.Id),
            ["kind"] = r.Kind,
            ["requested_by"] = r.RequestedBy,
            ["expires_at"] = Iso(r.ExpiresAt),
            ["current"] = r.Current,
        };
        if (r.Kind == CompanyRecipients)
        {
            d["escrow"] = r.Escrow ?? "";
            d["recovery"] = r.Recovery ?? "";
        }
        else
        {
            d["recipient"] = r.Recipient ?? "";
        }
        if (r.Reason is { } reason)
        {
            d["reason"] = reason;
        }
        return d;
    }

    private static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);

    internal static string Iso(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string? Trim(string? text) => text?.Trim() is { Length: > 0 } t ? (t.Length > 500 ? t[..500] : t) : null;

    private static string Shorten(string s) => s.Length <= 24 ? s : s[..20] + "…";

    public void Dispose() => _gate.Dispose();

    [LoggerMessage(EventId = 1401, Level = LogLevel.Warning, Message = "The configuration names company recipients {Configured}, which are held until a security officer approves them (request {Id}); data keys and backups keep going to {Approved}")]
    private static partial void LogConfigHeld(ILogger logger, string configured, string approved, long id);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Warning, Message = "The configuration names company recipients {Configured}, but the approved ones are {Approved} (a held, rejected or expired change, or one approved through the API): the approved ones are used")]
    private static partial void LogConfigNotApproved(ILogger logger, string configured, string approved);
}
