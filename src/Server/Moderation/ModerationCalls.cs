using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Accounts;
using TeamComms.Server.Api;
using TeamComms.Server.Audit;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;
using static TeamComms.Server.Workplace.WorkplaceCallHelpers;

namespace TeamComms.Server.Moderation;

/// <summary>
/// WebSocket calls for moderation: <c>rooms.redact</c>, <c>rooms.set_content_rules</c>, <c>rooms.set_retention</c>,
/// <c>moderation.report</c>, <c>moderation.queue</c>, <c>moderation.resolve</c>. docs/protocol.md §15 lists them.
/// </summary>
internal sealed class ModerationCalls(IRoomLog log, ModerationService moderation, AccountStore accounts, AuditLog audit)
{
    public void Register(ClientCalls calls)
    {
        calls.Register("rooms.redact", async (s, p) => await EventResultAsync(await moderation.RedactAsync(
            s, By(s, accounts), RoomParam(p), EventIdParam(p, "event"), p.OptionalString("reason", 1024)).ConfigureAwait(false)).ConfigureAwait(false));
        calls.Register("rooms.set_content_rules", SetContentRulesAsync);
        calls.Register("rooms.set_retention", SetRetentionAsync);
        calls.Register("moderation.report", ReportAsync);
        calls.Register("moderation.queue", (s, p) => Task.FromResult<object?>(Queue(s, p)));
        calls.Register("moderation.resolve", ResolveAsync);
    }

    private async Task<object?> SetContentRulesAsync(AuthenticatedSession s, FieldMap p)
    {
        var content = p.Map.Where(kv => kv.Key is "attachments" or "links").ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var roomId = RoomParam(p);
        var (_, outcome) = await audit.RecordWithAsync([By(s, accounts).Event("room.content_rules", roomId)], async writes =>
        {
            var o = await log.AppendAsync(new RoomSettingProposal(s.Actor, roomId, WorkplaceEventTypes.ContentRules, content, s.IsAdmin, writes)).ConfigureAwait(false);
            return (o.Ok, o);
        }).ConfigureAwait(false);
        return await EventResultAsync(outcome).ConfigureAwait(false);
    }

    private async Task<object?> SetRetentionAsync(AuthenticatedSession s, FieldMap p) =>
        await EventResultAsync(await SetRetentionAsync(log, audit, s, By(s, accounts), RoomParam(p), p.RequiredInt("days")).ConfigureAwait(false)).ConfigureAwait(false);

    /// <summary>Sets a room's own retention (company admins and compliance officers), audited with the event.</summary>
    public static async Task<AppendOutcome> SetRetentionAsync(IRoomLog log, AuditLog audit, AuthenticatedSession s, Principal by, string roomId, long days)
    {
        var privileged = s.IsAdmin || s.Roles.Contains(CompanyRoles.ComplianceOfficer);
        if (!privileged)
        {
            throw new ApiException(ErrorCode.Forbidden, "retention is set by company admins and compliance officers");
        }
        var (_, outcome) = await audit.RecordWithAsync([by.Event("retention.set", roomId, new Dictionary<string, string>
        {
            ["days"] = days.ToString(System.Globalization.CultureInfo.InvariantCulture),
        })], async writes =>
        {
            var o = await log.AppendAsync(new RoomSettingProposal(s.Actor, roomId, WorkplaceEventTypes.Retention,
                new Dictionary<string, object?> { ["days"] = days }, true, writes)).ConfigureAwait(false);
            return (o.Ok, o);
        }).ConfigureAwait(false);
        return outcome;
    }

    private async Task<object?> ReportAsync(AuthenticatedSession s, FieldMap p)
    {
        var report = await moderation.ReportAsync(s, RoomParam(p), EventIdParam(p, "event"), p.RequiredString("reason", 2000)).ConfigureAwait(false);
        return new Dictionary<string, object?> { ["report_id"] = report.Id, ["status"] = report.Status };
    }

    private Dictionary<string, object?> Queue(AuthenticatedSession s, FieldMap p)
    {
        var roomId = p.OptionalString("room", Identifiers.MaxIdLength);
        var (reports, next) = moderation.Queue(s, p.OptionalString("status", 16) ?? ModerationService.Open, roomId,
            (int)Math.Clamp(p.OptionalInt("limit") ?? 50, 1, 200), p.OptionalInt("before"));
        return new Dictionary<string, object?>
        {
            ["reports"] = reports.Select(r => (object?)moderation.View(r, wire: true)).ToList(),
            ["next"] = next,
        };
    }

    private async Task<object?> ResolveAsync(AuthenticatedSession s, FieldMap p)
    {
        var resolved = await moderation.ResolveAsync(s, By(s, accounts), p.RequiredInt("report"), p.RequiredString("action", 16),
            p.OptionalString("note", 2000)).ConfigureAwait(false);
        return moderation.View(resolved, wire: true);
    }
}
