using System.Text;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Accounts;
using TeamComms.Server.Audit;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Moderation;

/// <summary>
/// Redaction (with its audit entry committed in the same batch) and the moderation queue: members report a message;
/// company admins and moderators see every report, a room's moderators and owners the reports of their rooms; resolving
/// a report dismisses it or redacts the message, and is audited. Report reasons are sealed with the room's data key.
/// In cluster mode reports go through the cluster log and every node seals them as it applies them
/// (ModerationService.Cluster.cs).
/// </summary>
internal sealed partial class ModerationService(IRoomLog log, RoomRegistry rooms, EventStore events, WorkplaceStore store, AuditLog audit, TimeProvider time) : IDisposable
{
    public const string Open = "open";
    public const string Resolved = "resolved";
    private readonly SemaphoreSlim _reports = new(1, 1);

    /// <summary>Company roles that moderate every room hosted here.</summary>
    public static bool IsCompanyModerator(AuthenticatedSession s) => s.IsAdmin || s.Roles.Contains(CompanyRoles.Moderator);

    /// <summary>Removes an event's content (see <see cref="RedactProposal"/>); audited unless it is one's own reaction.</summary>
    public async Task<AppendOutcome> RedactAsync(AuthenticatedSession s, Principal by, string roomId, EventId target, string? reason)
    {
        var room = rooms.Find(roomId) ?? throw new ApiException(ErrorCode.UnknownRoom, "no such room");
        var found = Find(room, target);
        var privileged = IsCompanyModerator(s) && Identifiers.ServerOf(roomId) == Identifiers.ServerOf(s.UserId);
        if (found is not { } e || (e.Sender == s.UserId && e.Type == WorkplaceEventTypes.Reaction))
        {
            return await log.AppendAsync(new RedactProposal(s.Actor, roomId, target, reason, privileged, [])).ConfigureAwait(false);
        }
        var details = new Dictionary<string, string>
        {
            ["event"] = target.ToString(),
            ["seq"] = e.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["sender"] = e.Sender,
            ["type"] = e.Type,
        };
        if (reason is { Length: > 0 })
        {
            details["reason"] = reason;
        }
        var action = e.Sender == s.UserId ? "message.delete" : "message.redact";
        var (_, outcome) = await audit.RecordWithAsync([by.Event(action, roomId, details)], async writes =>
        {
            var o = await log.AppendAsync(new RedactProposal(s.Actor, roomId, target, reason, privileged, writes)).ConfigureAwait(false);
            return (o.Ok, o);
        }).ConfigureAwait(false);
        return outcome;
    }

    /// <summary>Reports an event to the room's moderators and the company's.</summary>
    public async Task<ReportRecord> ReportAsync(AuthenticatedSession s, string roomId, EventId target, string reason)
    {
        var room = rooms.Find(roomId) ?? throw new ApiException(ErrorCode.UnknownRoom, "no such room");
        var state = room.View.State;
        if (state.Member(s.UserId) is not { JoinSeq: > 0 } member || member.Membership == Membership.Invite)
        {
            throw new ApiException(ErrorCode.NotMember, "you are not a member of this room");
        }
        if (Find(room, target) is not { } e || !WorkplaceEventTypes.IsRemovable(e.Type)
            || (state.HistoryVisibility == HistoryVisibilities.Joined && e.Seq < member.JoinSeq))
        {
            throw new ApiException(ErrorCode.UnknownEvent, "no such message in this room");
        }
        if (reason.Length is 0 or > 2000)
        {
            throw new ApiException(ErrorCode.BadField, "a report has a reason of 1 to 2000 characters");
        }
        await _reports.WaitAsync().ConfigureAwait(false);
        try
        {
            var idText = target.ToString();
            if (store.Reports().Any(r => r.Status == Open && r.EventId == idText && r.Reporter == s.UserId))
            {
                throw new ApiException(ErrorCode.Conflict, "you already reported this message; moderators have it in their queue");
            }
            var id = NextId();
            var report = new ReportRecord
            {
                Id = id,
                RoomKey = room.Key,
                RoomId = room.RoomId,
                Seq = e.Seq,
                EventId = idText,
                Reporter = s.UserId,
                Sender = e.Sender,
                Reason = audit.Clustered ? Encoding.UTF8.GetBytes(reason) : store.Seal(room.Key, KeyCodec.TaggedLong(KeyCodec.ReportTag, id), Encoding.UTF8.GetBytes(reason)),
                CreatedAt = time.GetUtcNow().ToUnixTimeMilliseconds(),
            };
            if (audit.Clustered)
            {
                return await FileInClusterAsync(report).ConfigureAwait(false);
            }
            store.Write([WorkplaceStore.PutReport(report), WorkplaceStore.PutCounter("report", id)]);
            return report;
        }
        finally
        {
            _reports.Release();
        }
    }

    /// <summary>The reports <paramref name="s"/> may work on, newest first, filtered by status and room.</summary>
    public (List<ReportRecord> Reports, long? Next) Queue(AuthenticatedSession s, string? status, string? roomId, int limit, long? before)
    {
        if (status is not (null or Open or Resolved))
        {
            throw new ApiException(ErrorCode.BadField, "status is open or resolved");
        }
        var all = IsCompanyModerator(s);
        var result = new List<ReportRecord>();
        long? next = null;
        foreach (var r in store.Reports())
        {
            if ((before is { } b && r.Id >= b) || (status is not null && r.Status != status) || (roomId is not null && r.RoomId != roomId))
            {
                continue;
            }
            if (!all && !ModeratesRoom(s.UserId, r.RoomKey))
            {
                continue;
            }
            if (result.Count == limit)
            {
                next = result[^1].Id;
                break;
            }
            result.Add(r);
        }
        return (result, next);
    }

    /// <summary>Resolves a report: <c>dismiss</c>, or <c>redact</c> the message. Audited.</summary>
    public async Task<ReportRecord> ResolveAsync(AuthenticatedSession s, Principal by, long id, string action, string? note)
    {
        if (action is not ("dismiss" or "redact"))
        {
            throw new ApiException(ErrorCode.BadField, "action is dismiss or redact");
        }
        var report = store.GetReport(id) ?? throw new ApiException(ErrorCode.NotFound, $"no report {id}");
        if (!IsCompanyModerator(s) && !ModeratesRoom(s.UserId, report.RoomKey))
        {
            throw new ApiException(ErrorCode.Forbidden, "only the room's moderators and company moderators resolve its reports");
        }
        if (report.Status == Resolved)
        {
            throw new ApiException(ErrorCode.Conflict, $"report {id} is already resolved");
        }
        if (action == "redact")
        {
            var outcome = await RedactAsync(s, by, report.RoomId, EventId.Parse(report.EventId), note ?? "reported").ConfigureAwait(false);
            if (!outcome.Ok && outcome.Error != ErrorCode.Conflict)
            {
                throw new ApiException(outcome.Error!.Value, outcome.Message!);
            }
        }
        var resolved = report with
        {
            Status = Resolved,
            Resolution = action == "redact" ? "redacted" : "dismissed",
            ResolvedBy = s.UserId,
            ResolvedAt = time.GetUtcNow().ToUnixTimeMilliseconds(),
            Note = note is not { Length: > 0 } ? null
                : audit.Clustered ? Encoding.UTF8.GetBytes(note) // sealed by each node as it applies the row
                : store.Seal(report.RoomKey, KeyCodec.TaggedLong(KeyCodec.ReportTag, id), Encoding.UTF8.GetBytes(note)),
        };
        var details = new Dictionary<string, string>
        {
            ["report"] = id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["resolution"] = resolved.Resolution!,
            ["event"] = report.EventId,
        };
        if (audit.Clustered)
        {
            return await ResolveInClusterAsync(by.Event("moderation.resolve", report.RoomId, details), resolved).ConfigureAwait(false);
        }
        await audit.RecordWithAsync([by.Event("moderation.resolve", report.RoomId, details)], async writes =>
        {
            await audit.CommitAsync([.. writes, WorkplaceStore.PutReport(resolved)], store.Write).ConfigureAwait(false);
            return (true, 0);
        }).ConfigureAwait(false);
        return resolved;
    }

    /// <summary>A report as clients see it, with the reported event as it is now (content nil once removed).</summary>
    public Dictionary<string, object?> View(ReportRecord r, bool wire)
    {
        var key = KeyCodec.TaggedLong(KeyCodec.ReportTag, r.Id);
        object? ev = null;
        if (events.TryGet(r.RoomKey, r.Seq, out var stored))
        {
            ev = wire ? new RawMsgPack(stored.Wire) : Audit.ComplianceEndpoints.EventJson(EventCodec.Read(stored.Wire));
        }
        return new Dictionary<string, object?>
        {
            ["report_id"] = r.Id,
            ["room_id"] = r.RoomId,
            ["event_id"] = wire ? EventId.Parse(r.EventId).ToArray() : r.EventId,
            ["seq"] = r.Seq,
            ["sender"] = r.Sender,
            ["reporter"] = r.Reporter,
            ["reason"] = Encoding.UTF8.GetString(store.Open(r.RoomKey, key, r.Reason)),
            ["created_at"] = r.CreatedAt,
            ["status"] = r.Status,
            ["resolution"] = r.Resolution,
            ["resolved_by"] = r.ResolvedBy,
            ["resolved_at"] = r.ResolvedAt,
            ["note"] = r.Note is null ? null : Encoding.UTF8.GetString(store.Open(r.RoomKey, key, r.Note)),
            ["event"] = ev,
        };
    }

    private bool ModeratesRoom(string userId, long roomKey) =>
        rooms.Get(roomKey) is { } room && room.View.State.IsJoined(userId)
        && RoomRoles.Rank(room.View.State.RoleOf(userId)) >= RoomRoles.Rank(RoomRoles.Moderator);

    private (long Seq, string Sender, string Type)? Find(Room room, EventId id)
    {
        if (store.FindSeq(room.Key, id) is not { } seq || !events.TryGet(room.Key, seq, out var stored))
        {
            return null;
        }
        var e = EventCodec.Read(stored.Wire);
        return (seq, e.Sender, e.Type);
    }

    public void Dispose() => _reports.Dispose();
}
