using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Accounts;
using TeamComms.Server.Audit;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Connections;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;
using TeamComms.Server.Workplace.Push;
using TeamComms.Server.Workplace.Receipts;

namespace TeamComms.Server.Workplace.Alerts;

/// <summary>
/// Messages that require acknowledgement: urgent messages to a room or a person, emergency broadcasts to a directory
/// rule, a group or the whole company, and announcements that require acknowledgement. Sending checks the company
/// permission and the per-sender rate limit, commits the event, the alert, its recipients and the audit entry together,
/// and starts the reminders; recipients acknowledge explicitly; the sender (or an admin) cancels or gives the all-clear
/// in the alert's thread. See docs/protocol.md §17.
/// </summary>
internal sealed partial class AlertService : IDisposable
{
    public const int MaxBody = 8000;

    private readonly IRoomLog _log;
    private readonly RoomRegistry _rooms;
    private readonly EventStore _events;
    private readonly AttentionStore _store;
    private readonly DirectoryStore _directoryStore;
    private readonly DirectoryService _directory;
    private readonly AccountStore _accounts;
    private readonly ConnectionRegistry _connections;
    private readonly PushService _push;
    private readonly ReceiptService _receipts;
    private readonly Notifications.AttentionService _attention;
    private readonly AttentionPolicy _policy;
    private readonly AlertSignals _signals;
    private readonly AuditLog _audit;
    private readonly TimeProvider _time;
    private readonly AttentionOptions _options;
    private readonly ILogger _logger;
    private readonly SendRateLimiter _rate;
    private readonly SemaphoreSlim _broadcastRooms = new(1, 1);

    public AlertService(IRoomLog log, RoomRegistry rooms, EventStore events, AttentionStore store, DirectoryStore directoryStore,
        DirectoryService directory, AccountStore accounts, ConnectionRegistry connections, PushService push, ReceiptService receipts,
        Notifications.AttentionService attention, AttentionPolicy policy, AlertSignals signals, AuditLog audit, TimeProvider time, IOptions<AttentionOptions> options, ILogger<AlertService> logger)
    {
        _log = log;
        _rooms = rooms;
        _events = events;
        _store = store;
        _directoryStore = directoryStore;
        _directory = directory;
        _accounts = accounts;
        _connections = connections;
        _push = push;
        _receipts = receipts;
        _attention = attention;
        _policy = policy;
        _signals = signals;
        _audit = audit;
        _time = time;
        _options = options.Value;
        _logger = logger;
        _rate = new SendRateLimiter(time, _options.AlertsPerWindow, _options.AlertWindow);
    }

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// Cluster mode (the room log replicates rows): acknowledgements, delivery and read times, reminders and escalation
    /// change the recipient rows through the log (<see cref="AlertProgressProposal"/>) instead of directly, and every node
    /// follows the alerts other nodes create (<see cref="OnApplied"/>).
    /// </summary>
    private bool Clustered => _log is IRowReplicator;

    /// <summary>Sends an alert; returns <c>{alert_id, room_id, seq, event_id, recipients}</c>.</summary>
    /// <param name="type">
    /// The event's type: the acknowledgement flag rides on any message a client may send (<c>message</c> by default,
    /// or an <c>x.</c> type); see <see cref="AttentionEventTypes.AckField"/>.
    /// </param>
    public async Task<Dictionary<string, object?>> SendAsync(AuthenticatedSession s, Principal by, AlertTarget target, string body, bool urgent,
        string? type = null)
    {
        type ??= EventTypes.Message;
        if (!EventTypes.IsClientSendable(type) || !(type == EventTypes.Message || type.StartsWith(EventTypes.CustomPrefix, StringComparison.Ordinal)))
        {
            throw new ApiException(ErrorCode.InvalidEventType, $"'{type}' cannot carry a message; use 'message' or an 'x.' type");
        }
        body = body.Trim();
        if (body.Length is 0 or > MaxBody)
        {
            throw new ApiException(ErrorCode.BadField, $"body is 1 to {MaxBody} characters");
        }
        var policy = _policy.Current;
        var mayUrgent = AttentionPolicy.HasRole(s.Roles, policy.UrgentRoles);
        if (target.IsBroadcast && !AttentionPolicy.HasRole(s.Roles, policy.BroadcastRoles))
        {
            throw new ApiException(ErrorCode.Forbidden, $"emergency broadcasts need the company role {Either(policy.BroadcastRoles)}");
        }
        if (!target.IsBroadcast && urgent && !mayUrgent)
        {
            throw new ApiException(ErrorCode.Forbidden, $"urgent messages need the company role {Either(policy.UrgentRoles)}");
        }
        IReadOnlyList<string> joinFirst = [];
        Room room;
        string scope;
        string? targetLabel = null;
        switch (target.Kind)
        {
            case AlertTarget.Room:
                if (!Identifiers.IsValidRoomId(target.Value!))
                {
                    throw new ApiException(ErrorCode.BadField, $"'{target.Value}' is not a room id");
                }
                room = _rooms.Find(target.Value!) ?? throw new ApiException(ErrorCode.UnknownRoom, "no such room");
                var kind = room.View.State.Kind;
                if (!urgent && !mayUrgent && kind != RoomKinds.Announcement)
                {
                    throw new ApiException(ErrorCode.Forbidden,
                        $"outside announcement rooms, asking for acknowledgement needs the company role {Either(policy.UrgentRoles)}");
                }
                scope = kind == RoomKinds.Direct ? "direct" : "room";
                break;
            case AlertTarget.User:
                if (!mayUrgent)
                {
                    throw new ApiException(ErrorCode.Forbidden, $"urgent direct messages need the company role {Either(policy.UrgentRoles)}");
                }
                (room, joinFirst) = await DirectRoomAsync(s.Actor, target.Value!).ConfigureAwait(false);
                scope = "direct";
                targetLabel = target.Value;
                break;
            default:
                room = await BroadcastRoomAsync(s, by, target).ConfigureAwait(false);
                scope = "broadcast";
                targetLabel = target.BroadcastKey;
                break;
        }
        if (!_rate.TryTake(s.UserKey, out var retry))
        {
            await _audit.RecordAsync(by.Event("alert.rate_limited", room.RoomId, Details(("scope", scope), ("urgent", urgent ? "true" : "false")))).ConfigureAwait(false);
            throw new ApiException(ErrorCode.RateLimited,
                $"at most {_options.AlertsPerWindow} alerts per {_options.AlertWindow.TotalMinutes:0} minutes; retry in {retry} s") { RetryAfterSeconds = retry };
        }
        var key = _store.NextKey("alert");
        var id = AlertId(key);
        var flag = new Dictionary<string, object?>
        {
            ["alert"] = id,
            ["urgent"] = urgent,
            ["scope"] = scope,
        };
        if (targetLabel is not null)
        {
            flag["target"] = targetLabel;
        }
        var content = new Dictionary<string, object?> { ["body"] = body, [AttentionEventTypes.AckField] = flag };
        var template = new AlertRecord
        {
            Key = key,
            Id = id,
            RoomKey = room.Key,
            RoomId = room.RoomId,
            Sender = s.UserId,
            SenderKey = s.UserKey,
            Type = type,
            Urgent = urgent,
            Scope = scope,
            Target = targetLabel,
            CreatedAt = Now,
            ReminderIntervalMs = (long)_options.ReminderInterval.TotalMilliseconds,
            ReminderDurationMs = (long)_options.ReminderDuration.TotalMilliseconds,
            Escalate = true,
        };
        var ev = await PostAsync(by.Event("alert.send", id, Details(("room", room.RoomId), ("scope", scope), ("target", targetLabel),
            ("urgent", urgent ? "true" : "false"))), new AttentionPostProposal(s.Actor, room.RoomId, type, MsgPackValue.ToCanonicalMap(content))
            {
                Privileged = target.IsBroadcast,
                Urgent = urgent,
                JoinFirst = joinFirst,
                Alert = template,
            }).ConfigureAwait(false);
        var alert = _store.GetAlert(key) ?? throw new ApiException(ErrorCode.Internal, "the alert was not stored");
        Track(alert, _store.Recipients(key));
        LogSent(_logger, id, room.RoomId, alert.RecipientCount, urgent);
        return new Dictionary<string, object?>
        {
            ["alert_id"] = id,
            ["room_id"] = room.RoomId,
            ["seq"] = ev.Seq,
            ["event_id"] = ev.Id.ToArray(),
            ["recipients"] = (long)alert.RecipientCount,
        };
    }

    /// <summary>Records the caller's acknowledgement (idempotent); it also marks the alert read.</summary>
    public async Task<Dictionary<string, object?>> AckAsync(AuthenticatedSession s, string alertId)
    {
        var alert = Find(alertId);
        var acked = (Clustered ? await AcknowledgeThroughLogAsync(alert.Key, s.Actor).ConfigureAwait(false) : Acknowledge(alert.Key, s.UserKey))
            ?? throw new ApiException(ErrorCode.NotRecipient, "you are not a recipient of this alert");
        // Acknowledging implies having read it: move the read marker (never backwards).
        await _log.AppendAsync(new ReadMarkerProposal(s.Actor, alert.RoomId, alert.Seq)).ConfigureAwait(false);
        return new Dictionary<string, object?> { ["alert_id"] = alert.Id, ["acknowledged_at"] = acked };
    }

    /// <summary>The all-clear (<paramref name="allClear"/>) or a cancellation, as a reply in the alert's thread.</summary>
    public async Task<Dictionary<string, object?>> CloseAsync(AuthenticatedSession s, Principal by, string alertId, bool allClear, string? text)
    {
        var alert = Find(alertId);
        if (alert.Sender != s.UserId && !s.IsAdmin)
        {
            throw new ApiException(ErrorCode.Forbidden, "only the alert's sender or an admin can cancel it or give the all-clear");
        }
        if (alert.State == "all_clear" || (!allClear && alert.State == "cancelled"))
        {
            throw new ApiException(ErrorCode.AlertClosed, $"the alert is already {(alert.State == "all_clear" ? "all clear" : "cancelled")}");
        }
        text = text?.Trim();
        if (allClear && string.IsNullOrEmpty(text))
        {
            throw new ApiException(ErrorCode.BadField, "an all-clear needs a body");
        }
        if (text is { Length: > MaxBody })
        {
            throw new ApiException(ErrorCode.BadField, $"at most {MaxBody} characters");
        }
        var content = new Dictionary<string, object?>
        {
            ["alert"] = alert.Id,
            ["rel"] = new Dictionary<string, object?> { ["type"] = "thread", ["event"] = EventId.Parse(alert.EventId).ToArray() },
        };
        if (allClear)
        {
            content["body"] = text;
        }
        else if (!string.IsNullOrEmpty(text))
        {
            content["reason"] = text;
        }
        var updated = alert with { State = allClear ? "all_clear" : "cancelled", ClosedAt = Now, ClosedBy = s.UserId };
        var ev = await PostAsync(by.Event(allClear ? "alert.all_clear" : "alert.cancel", alert.Id, Details(("room", alert.RoomId))),
            new AttentionPostProposal(s.Actor, alert.RoomId, allClear ? AttentionEventTypes.AlertAllClear : AttentionEventTypes.AlertCancel,
                MsgPackValue.ToCanonicalMap(content))
            {
                Privileged = true,
                Urgent = allClear && alert.Urgent, // whoever an emergency woke learns that it is over
                Writes = [AttentionStore.StageAlert(updated)],
            }).ConfigureAwait(false);
        UpdateTracked(updated);
        return new Dictionary<string, object?> { ["alert_id"] = alert.Id, ["state"] = updated.State, ["seq"] = ev.Seq, ["event_id"] = ev.Id.ToArray() };
    }

    /// <summary>Alerts the caller sent, and alerts waiting for the caller's acknowledgement.</summary>
    public Dictionary<string, object?> List(AuthenticatedSession s)
    {
        var sent = new List<object?>();
        var pending = new List<object?>();
        foreach (var alert in _store.Alerts())
        {
            if (alert.Sender == s.UserId)
            {
                sent.Add(Summary(alert));
            }
            if (alert.State == "active" && _store.GetRecipient(alert.Key, s.UserKey) is { AckedAt: null })
            {
                pending.Add(Summary(alert));
            }
        }
        return new Dictionary<string, object?> { ["sent"] = sent, ["pending"] = pending };
    }

    private static Dictionary<string, object?> Summary(AlertRecord a) => new()
    {
        ["alert_id"] = a.Id,
        ["room_id"] = a.RoomId,
        ["seq"] = a.Seq,
        ["sender"] = a.Sender,
        ["urgent"] = a.Urgent,
        ["scope"] = a.Scope,
        ["target"] = a.Target,
        ["state"] = a.State,
        ["created_at"] = a.CreatedAt,
        ["recipients"] = (long)a.RecipientCount,
    };

    /// <summary>Appends a workplace post with its audit entry in the same commit; returns the post's event.</summary>
    private async Task<CommittedEvent> PostAsync(AuditEvent audit, AttentionPostProposal proposal)
    {
        var (_, outcome) = await _audit.RecordWithAsync([audit], async rows =>
        {
            var o = await _log.AppendAsync(proposal with { Writes = [.. proposal.Writes, .. rows] }).ConfigureAwait(false);
            return (o.Ok, o);
        }).ConfigureAwait(false);
        if (!outcome.Ok)
        {
            throw new ApiException(outcome.Error!.Value, outcome.Message!);
        }
        return outcome.Events[^1];
    }

    /// <summary>
    /// The direct room of <paramref name="actor"/> and <paramref name="userId"/>: the existing one (joining the other person
    /// if they were only invited, so the message reaches them) or a new one with both joined. The direct-message policy
    /// does not apply: the urgent permission is the policy for urgent messages.
    /// </summary>
    private async Task<(Room Room, IReadOnlyList<string> JoinFirst)> DirectRoomAsync(Actor actor, string userId)
    {
        var other = _directory.Snapshot.Find(userId);
        if (other is not { Active: true, Deleted: false })
        {
            throw new ApiException(ErrorCode.UnknownUser, $"no active person {userId} in the directory");
        }
        if (other.Key == actor.UserKey)
        {
            throw new ApiException(ErrorCode.BadRequest, "an urgent direct message needs someone else");
        }
        var pairKey = KeyCodec.Table(KeyCodec.TableDirect, Math.Min(actor.UserKey, other.Key), Math.Max(actor.UserKey, other.Key));
        if (_directoryStore.Get(pairKey) is { } existing && _rooms.Get(KeyCodec.ReadLong(existing)) is { } room
            && room.View.State is { Archived: false } state && state.IsJoined(actor.UserId)
            && state.Member(other.UserId)?.Membership is Membership.Join or Membership.Invite)
        {
            return (room, state.IsJoined(other.UserId) ? [] : [other.UserId]);
        }
        // The pair's index row commits with the room (every node of a cluster writes it as it applies the creation).
        var outcome = await _log.AppendAsync(new AttentionRoomProposal(actor, actor.UserId, "", "", RoomKinds.Direct, HistoryVisibilities.Joined)
        {
            Join = [other.UserId],
            InvitePolicy = InvitePolicies.Members,
            RoomKeyRows = [DirectoryStore.PutRaw(pairKey, [])],
        }).ConfigureAwait(false);
        if (!outcome.Ok)
        {
            throw new ApiException(outcome.Error!.Value, outcome.Message!);
        }
        return (_rooms.Find(outcome.RoomId!)!, []);
    }

    /// <summary>
    /// The announcement room of a broadcast target, created on first use: owned by the server, bound to the target's
    /// directory rule (so its members follow the directory), with every broadcaster added as a manual member.
    /// </summary>
    private async Task<Room> BroadcastRoomAsync(AuthenticatedSession s, Principal by, AlertTarget target)
    {
        await _broadcastRooms.WaitAsync().ConfigureAwait(false);
        try
        {
            var snapshot = _directory.Snapshot;
            var me = snapshot.Find(s.UserId) ?? throw new ApiException(ErrorCode.UnknownUser, "you are not in the directory");
            string label;
            switch (target.Kind)
            {
                case AlertTarget.Rule:
                    _ = snapshot.FindRule(target.Value!) ?? throw new ApiException(ErrorCode.NotFound, $"no rule '{target.Value}'");
                    label = "rule " + target.Value;
                    break;
                case AlertTarget.Group:
                    var group = snapshot.FindGroup(target.Value!) ?? throw new ApiException(ErrorCode.NotFound, $"no group '{target.Value}'");
                    label = group.Record.DisplayName;
                    break;
                default:
                    label = "everyone";
                    break;
            }
            if (_store.BroadcastRoom(target.BroadcastKey) is { } existingKey && _rooms.Get(existingKey) is { } existing && !existing.View.State.Archived)
            {
                if (!existing.View.State.IsJoined(s.UserId))
                {
                    await _directory.ChangeAsync(by, tx => tx.SetManual(existing.Key, existing.RoomId, tx.RequireUser(s.UserId), "include")).ConfigureAwait(false);
                }
                return existing;
            }
            var outcome = await _log.AppendAsync(new AttentionRoomProposal(_directory.SystemActor, _directory.SystemActor.UserId,
                $"Emergency broadcasts: {label}", "Urgent messages to " + label + ". Acknowledge each one.", RoomKinds.Announcement,
                HistoryVisibilities.Full)
            {
                RoomKeyRows = [AttentionStore.StageBroadcastRoom(target.BroadcastKey)],
            }).ConfigureAwait(false);
            if (!outcome.Ok)
            {
                throw new ApiException(outcome.Error!.Value, outcome.Message!);
            }
            var room = _rooms.Find(outcome.RoomId!)!;
            await _directory.ChangeAsync(by, tx =>
            {
                var rule = target.Kind switch
                {
                    AlertTarget.Rule => tx.FindRule(target.Value!)!,
                    AlertTarget.Group => tx.RuleForGroup(tx.FindGroup(target.Value!)!),
                    _ => CompanyRule(tx),
                };
                tx.Record("alert.broadcast_room", room.RoomId, DirectoryTransaction.Details(("target", target.BroadcastKey), ("rule", rule.Record.Name)));
                tx.SetBinding(room.Key, room.RoomId, [rule.Record.Key]);
                tx.SetManual(room.Key, room.RoomId, tx.RequireUser(me.UserId), "include");
                return 0;
            }).ConfigureAwait(false);
            return room;
        }
        finally
        {
            _broadcastRooms.Release();
        }
    }

    /// <summary>The rule every person matches, <c>everyone</c>, created on first use.</summary>
    private static CompiledRule CompanyRule(DirectoryTransaction tx)
    {
        const string Name = "everyone";
        const string Expression = "user_id != \"\"";
        if (tx.FindRule(Name) is { } rule)
        {
            return rule.Record.Expression == Expression
                ? rule
                : throw new ApiException(ErrorCode.Conflict, $"a rule named '{Name}' exists with another expression; rename it to broadcast to the whole company");
        }
        return tx.CreateRule(Name, Expression, "every person in the directory (emergency broadcasts to the whole company)");
    }

    private AlertRecord Find(string alertId) =>
        (TryParseId(alertId, out var key) ? CurrentAlert(key) : null) ?? throw new ApiException(ErrorCode.NotFound, $"no alert {alertId}");

    public static string AlertId(long key) => "a" + key.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static bool TryParseId(string id, out long key)
    {
        key = 0;
        return id.Length > 1 && id[0] == 'a'
            && long.TryParse(id.AsSpan(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out key);
    }

    private static Dictionary<string, string> Details(params (string Key, string? Value)[] pairs) =>
        pairs.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value!, StringComparer.Ordinal);

    private static string Either(IReadOnlyList<string> roles) => roles.Count == 0 ? "(none: the policy allows no one)" : string.Join(" or ", roles);

    public void Dispose()
    {
        _broadcastRooms.Dispose();
    }

    [LoggerMessage(EventId = 9101, Level = LogLevel.Information, Message = "Alert {AlertId} sent to {RoomId}: {Recipients} recipients, urgent {Urgent}")]
    private static partial void LogSent(ILogger logger, string alertId, string roomId, int recipients, bool urgent);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Error, Message = "Alert fault")]
    private static partial void LogAlertFault(ILogger logger, Exception ex);
}
