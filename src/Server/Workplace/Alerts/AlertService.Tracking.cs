using Microsoft.Extensions.Logging;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;
using TeamComms.Server.Audit;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;
using TeamComms.Server.Workplace.Push;

namespace TeamComms.Server.Workplace.Alerts;

internal sealed partial class AlertService
{
    private IAlertSchedule? _schedule;
    private readonly Dictionary<long, Tracked> _tracked = [];
    private readonly Dictionary<long, List<Tracked>> _byUser = [];
    private readonly Dictionary<long, List<Tracked>> _byRoom = [];
    private readonly Lock _lock = new();
    private Task? _signalLoop;
    private volatile bool _started;

    /// <summary>Open alerts and their recipients, in memory, for reminders and delivery and read times.</summary>
    private sealed class Tracked(AlertRecord alert, Dictionary<long, AlertRecipientRecord> recipients)
    {
        public AlertRecord Alert { get; set; } = alert;
        public Dictionary<long, AlertRecipientRecord> Recipients { get; } = recipients;
        public int RemindersSent { get; set; }
        public bool Escalated { get; set; }
    }

    /// <summary>Reloads alerts of the last week (and every active one), reschedules reminders and starts following signals.</summary>
    public void Start()
    {
        _started = true; // from now on, alerts applied from the cluster log are followed too (Track is idempotent)
        var horizon = Now - (long)TimeSpan.FromDays(7).TotalMilliseconds;
        foreach (var alert in _store.Alerts())
        {
            if (alert.State == "active" || alert.CreatedAt > horizon)
            {
                Track(alert, _store.Recipients(alert.Key));
            }
        }
        _signalLoop = Task.Run(SignalLoopAsync);
    }

    /// <summary>
    /// Follows an alert (or, when it is followed already, takes its stored rows as they are now: in cluster mode they
    /// change through the log, from any node).
    /// </summary>
    private void Track(AlertRecord alert, List<AlertRecipientRecord> recipients)
    {
        var remindersSent = recipients.Count == 0 ? 0 : recipients.Max(r => r.Reminders);
        var escalated = recipients.Any(r => r.EscalatedAt is not null);
        lock (_lock)
        {
            if (_tracked.TryGetValue(alert.Key, out var known))
            {
                known.Alert = alert;
                foreach (var r in recipients)
                {
                    known.Recipients[r.UserKey] = r;
                }
                known.RemindersSent = Math.Max(known.RemindersSent, remindersSent);
                known.Escalated |= escalated;
                return;
            }
        }
        var tracked = new Tracked(alert, recipients.ToDictionary(r => r.UserKey))
        {
            RemindersSent = remindersSent,
            Escalated = escalated,
        };
        lock (_lock)
        {
            if (!_tracked.TryAdd(alert.Key, tracked))
            {
                return; // followed meanwhile by another thread (the cluster's apply observer)
            }
            Index(_byRoom, alert.RoomKey, tracked);
            _signals.WatchedRooms[alert.RoomKey] = 0;
            foreach (var r in recipients)
            {
                Index(_byUser, r.UserKey, tracked);
                if (r.DeliveredAt is null)
                {
                    _signals.WatchedUsers[r.UserKey] = 0;
                }
            }
        }
        if (alert.State == "active")
        {
            Volatile.Read(ref _schedule)?.Schedule(alert.Key, NextDue(tracked));
        }
        // A device may have confirmed receipt (or read it) before the alert was tracked: catch up from the positions.
        _ = Task.Run(() => CatchUp(tracked));
    }

    private static void Index(Dictionary<long, List<Tracked>> index, long key, Tracked tracked)
    {
        if (!index.TryGetValue(key, out var list))
        {
            index[key] = list = [];
        }
        list.Add(tracked);
    }

    private AlertRecord? CurrentAlert(long key)
    {
        lock (_lock)
        {
            if (_tracked.TryGetValue(key, out var t))
            {
                return t.Alert;
            }
        }
        return _store.GetAlert(key);
    }

    private void UpdateTracked(AlertRecord alert)
    {
        lock (_lock)
        {
            if (_tracked.TryGetValue(alert.Key, out var t))
            {
                t.Alert = alert;
            }
        }
    }

    /// <summary>Sets the acknowledgement time (once); null when the user is not a recipient.</summary>
    private long? Acknowledge(long alertKey, long userKey)
    {
        var now = Now;
        lock (_lock)
        {
            _tracked.TryGetValue(alertKey, out var t);
            var r = t?.Recipients.GetValueOrDefault(userKey) ?? _store.GetRecipient(alertKey, userKey);
            if (r is null)
            {
                return null;
            }
            if (r.AckedAt is { } done)
            {
                return done;
            }
            r = r with { AckedAt = now, ReadAt = r.ReadAt ?? now, DeliveredAt = r.DeliveredAt ?? now };
            _store.PutRecipient(r);
            if (t is not null)
            {
                t.Recipients[userKey] = r;
            }
            return now;
        }
    }

    /// <summary>Cluster mode: the acknowledgement goes through the log; returns its time as this node applied it (null: not a recipient).</summary>
    private async Task<long?> AcknowledgeThroughLogAsync(long alertKey, Actor actor)
    {
        var outcome = await _log.AppendAsync(new AlertProgressProposal(actor, alertKey, AlertProgress.Ack, Now) { Users = [actor.UserKey] }).ConfigureAwait(false);
        if (!outcome.Ok)
        {
            return outcome.Error == ErrorCode.NotRecipient ? null : throw new ApiException(outcome.Error!.Value, outcome.Message!);
        }
        Refresh(alertKey);
        return _store.GetRecipient(alertKey, actor.UserKey)?.AckedAt;
    }

    /// <summary>Takes an alert's stored rows into what this node follows.</summary>
    private void Refresh(long alertKey)
    {
        if (_store.GetAlert(alertKey) is { } alert)
        {
            Track(alert, _store.Recipients(alertKey));
        }
    }

    /// <summary>
    /// Cluster mode: this node applied a log entry. Alerts created, closed or changed anywhere are followed here too (so
    /// the node that holds the timers reminds about every alert, and every node shows the same acknowledgement view),
    /// and a reminder tick notifies the devices connected to this node and pushes to the devices registered here.
    /// </summary>
    public void OnApplied(Proposal proposal)
    {
        if (!_started)
        {
            return; // Start loads every alert from the store
        }
        switch (proposal)
        {
            case AttentionPostProposal { Alert: { } alert }:
                Refresh(alert.Key);
                break;
            case AttentionPostProposal post:
                foreach (var write in post.Writes)
                {
                    if (write.Family == AttentionStore.Family && write.Key.Length == 9 && write.Key[0] == KeyCodec.AttentionAlert)
                    {
                        Refresh(System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(write.Key.AsSpan(1)));
                    }
                }
                break;
            case AlertProgressProposal progress:
                Refresh(progress.AlertKey);
                if (progress.Kind == AlertProgress.Remind && _store.GetAlert(progress.AlertKey) is { } reminded)
                {
                    // The recipients this tick changed (a repeated tick, from a second lease holder, changed none).
                    var users = progress.Users.ToHashSet();
                    var due = _store.Recipients(progress.AlertKey)
                        .Where(r => users.Contains(r.UserKey) && r.Reminders == progress.Due && r.LastReminderAt == progress.At).ToList();
                    if (due.Count > 0)
                    {
                        SendReminders(reminded, due);
                    }
                }
                break;
        }
    }

    /// <summary>Cluster mode: proposes a change to recipient rows, without waiting (the next signal or tick retries what fails).</summary>
    private async Task ProposeAsync(AlertProgressProposal proposal)
    {
        try
        {
            var outcome = await _log.AppendAsync(proposal).ConfigureAwait(false);
            if (!outcome.Ok)
            {
                LogProgressRefused(_logger, AlertId(proposal.AlertKey), proposal.Kind.ToString(), outcome.Message ?? "");
            }
        }
        catch (Exception ex)
        {
            LogAlertFault(_logger, ex);
        }
    }

    private void CatchUp(Tracked t)
    {
        try
        {
            var room = _rooms.Get(t.Alert.RoomKey);
            foreach (var r in t.Recipients.Values.ToList())
            {
                if (r.ReadAt is null && room is not null && _receipts.ReadMarker(r.UserKey, t.Alert.RoomKey) >= t.Alert.Seq)
                {
                    Apply(new AlertSignals.Signal(r.UserKey, t.Alert.RoomKey, t.Alert.Seq, 0));
                }
                else if (r.DeliveredAt is null && _receipts.DeliveredPosition(r.UserKey) >= t.Alert.Pos)
                {
                    Apply(new AlertSignals.Signal(r.UserKey, 0, 0, t.Alert.Pos));
                }
            }
        }
        catch (Exception ex)
        {
            LogAlertFault(_logger, ex);
        }
    }

    private async Task SignalLoopAsync()
    {
        try
        {
            await foreach (var signal in _signals.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                try
                {
                    Apply(signal);
                }
                catch (Exception ex)
                {
                    LogAlertFault(_logger, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>A device confirmed a position, or a read marker moved: record the first delivery and read times.</summary>
    private void Apply(AlertSignals.Signal signal)
    {
        var now = Now;
        var clustered = Clustered;
        if (clustered && signal.RoomKey != 0 && Volatile.Read(ref _schedule) is null)
        {
            // Read markers are applied on every node: only the node that holds the timers records the first read time.
            return;
        }
        List<AlertProgressProposal>? proposals = null;
        lock (_lock)
        {
            var candidates = signal.RoomKey != 0 ? _byRoom.GetValueOrDefault(signal.RoomKey) : _byUser.GetValueOrDefault(signal.UserKey);
            if (candidates is null)
            {
                return;
            }
            var undelivered = false;
            foreach (var t in candidates)
            {
                if (!t.Recipients.TryGetValue(signal.UserKey, out var r))
                {
                    continue;
                }
                var updated = r;
                if (signal.RoomKey != 0 && signal.Seq >= t.Alert.Seq && r.ReadAt is null)
                {
                    updated = updated with { ReadAt = now, DeliveredAt = r.DeliveredAt ?? now };
                }
                else if (signal.RoomKey == 0 && signal.Position >= t.Alert.Pos && r.DeliveredAt is null)
                {
                    updated = updated with { DeliveredAt = now };
                }
                if (!ReferenceEquals(updated, r))
                {
                    t.Recipients[signal.UserKey] = updated;
                    if (clustered)
                    {
                        (proposals ??= []).Add(new AlertProgressProposal(default, t.Alert.Key,
                            updated.ReadAt is not null && r.ReadAt is null ? AlertProgress.Read : AlertProgress.Delivered, now) { Users = [signal.UserKey] });
                    }
                    else
                    {
                        _store.PutRecipient(updated, durable: false);
                    }
                }
                undelivered |= updated.DeliveredAt is null;
            }
            if (!undelivered)
            {
                _signals.WatchedUsers.TryRemove(signal.UserKey, out _);
            }
        }
        foreach (var proposal in proposals ?? [])
        {
            _ = ProposeAsync(proposal);
        }
    }

    // ---- reminders and escalation ---------------------------------------------------------------------------------

    /// <summary>
    /// Attaches (or with null detaches) the component that runs the reminder ticks (<see cref="AlertTimers"/>); returns
    /// each open alert's next tick, for the timers to pick up on start.
    /// </summary>
    public List<(long AlertKey, long Due)> AttachSchedule(IAlertSchedule? schedule)
    {
        if (schedule is not null && Clustered)
        {
            // Taking the lease over: what the previous holder did (reminders, escalations) is in the rows, through the log.
            foreach (var alert in _store.Alerts())
            {
                if (alert.State == "active")
                {
                    Track(alert, _store.Recipients(alert.Key));
                }
            }
        }
        Volatile.Write(ref _schedule, schedule);
        lock (_lock)
        {
            return schedule is null ? [] : _tracked.Values.Where(t => t.Alert.State == "active").Select(t => (t.Alert.Key, NextDue(t))).ToList();
        }
    }

    private static long NextDue(Tracked t)
    {
        var a = t.Alert;
        var next = a.CreatedAt + (t.RemindersSent + 1) * a.ReminderIntervalMs;
        return Math.Min(next, a.CreatedAt + a.ReminderDurationMs);
    }

    /// <summary>
    /// The reminder tick of one alert: every unacknowledged recipient is notified again (Notify "reminder" on each live
    /// device, and a push), at each interval up to the reminder duration; at its end, once, the escalation.
    /// </summary>
    public void RunDue(long alertKey, long now)
    {
        Tracked? t;
        List<AlertRecipientRecord> unacked;
        bool remind, escalate;
        var clustered = Clustered;
        var due = 0;
        lock (_lock)
        {
            if (!_tracked.TryGetValue(alertKey, out t) || t.Alert.State != "active")
            {
                return; // cancelled or all clear: reminders stop
            }
            var a = t.Alert;
            var elapsed = now - a.CreatedAt;
            due = (int)Math.Min(elapsed / a.ReminderIntervalMs, a.ReminderDurationMs / a.ReminderIntervalMs);
            remind = due > t.RemindersSent;
            escalate = elapsed >= a.ReminderDurationMs && a.Escalate && !t.Escalated;
            unacked = t.Recipients.Values.Where(r => r.AckedAt is null).ToList();
            if (remind && clustered)
            {
                // Through the log: every node notifies its own devices when it applies the tick (OnApplied).
                t.RemindersSent = due;
            }
            else if (remind)
            {
                t.RemindersSent = due;
                var writes = new List<StagedWrite>(unacked.Count);
                for (var i = 0; i < unacked.Count; i++)
                {
                    unacked[i] = unacked[i] with { Reminders = due, LastReminderAt = now };
                    t.Recipients[unacked[i].UserKey] = unacked[i];
                    writes.Add(AttentionStore.StageRecipient(unacked[i]));
                }
                if (writes.Count > 0)
                {
                    _store.Write(writes);
                }
            }
            if (escalate)
            {
                t.Escalated = true;
            }
            if (elapsed < a.ReminderDurationMs && unacked.Count > 0)
            {
                Volatile.Read(ref _schedule)?.Schedule(alertKey, NextDue(t));
            }
        }
        if (remind && clustered)
        {
            if (unacked.Count > 0)
            {
                _ = ProposeAsync(new AlertProgressProposal(default, alertKey, AlertProgress.Remind, now) { Due = due, Users = [.. unacked.Select(r => r.UserKey)] });
            }
        }
        else if (remind)
        {
            SendReminders(t.Alert, unacked);
        }
        if (escalate && unacked.Count > 0)
        {
            _ = EscalateAsync(t, unacked);
        }
    }

    private void SendReminders(AlertRecord alert, List<AlertRecipientRecord> unacked)
    {
        var frame = ServerFrameWriter.ToArray(b => ServerFrameWriter.WriteNotify(b, alert.RoomId, alert.Seq, true, NotifyReasons.Reminder));
        foreach (var r in unacked)
        {
            foreach (var connection in _connections.ForUser(r.UserKey))
            {
                connection.SendControl(frame);
            }
            _push.Push(new PushNotification(r.UserKey, NotifyReasons.Reminder, alert.Urgent)
            {
                RoomId = alert.RoomId,
                Seq = alert.Seq,
                EventId = alert.EventId,
                Type = alert.Type,
                Sender = alert.Sender,
                AlertId = alert.Id,
            });
        }
        LogReminded(_logger, alert.Id, unacked.Count);
    }

    /// <summary>
    /// Escalates the recipients who did not acknowledge: grouped by their manager (from the directory), or the policy's
    /// fallback list when they have none (or their manager sent the alert). Each target gets one urgent alert in their
    /// direct room with the sender, naming the people and quoting the original; it has reminders but does not escalate.
    /// </summary>
    private async Task EscalateAsync(Tracked t, List<AlertRecipientRecord> unacked)
    {
        try
        {
            var alert = t.Alert;
            var snapshot = _directory.Snapshot;
            var fallback = _policy.Current.EscalationFallback;
            var groups = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            var targetsOf = new Dictionary<long, List<string>>();
            foreach (var r in unacked)
            {
                var manager = snapshot.Find(r.UserId)?.Profile.Manager;
                List<string> targets = manager is not null && manager != alert.Sender && manager != r.UserId && snapshot.Find(manager) is { Active: true }
                    ? [manager]
                    : fallback.Where(f => f != r.UserId && f != alert.Sender && snapshot.Find(f) is { Active: true }).ToList();
                targetsOf[r.UserKey] = targets;
                foreach (var target in targets)
                {
                    if (!groups.TryGetValue(target, out var users))
                    {
                        groups[target] = users = [];
                    }
                    users.Add(r.UserId);
                }
            }
            var now = Now;
            var auditEvent = Principal.System.Event("alert.escalate", alert.Id, Details(("room", alert.RoomId),
                ("users", string.Join(',', unacked.Select(r => r.UserId))), ("to", string.Join(',', groups.Keys))));
            if (Clustered)
            {
                // The escalation's state goes through the log first; only the recipients this proposal escalated (none if
                // a previous lease holder did it) are escalated in messages, so a hand-over does not escalate twice.
                var (_, outcome) = await _audit.RecordWithAsync([auditEvent], async rows =>
                {
                    var o = await _log.AppendAsync(new AlertProgressProposal(default, alert.Key, AlertProgress.Escalate, now)
                    {
                        Users = [.. unacked.Select(r => r.UserKey)],
                        EscalatedTo = [.. unacked.Select(r => (IReadOnlyList<string>)targetsOf[r.UserKey])],
                        Writes = rows,
                    }).ConfigureAwait(false);
                    return (o.Ok, o);
                }).ConfigureAwait(false);
                if (!outcome.Ok)
                {
                    LogProgressRefused(_logger, alert.Id, nameof(AlertProgress.Escalate), outcome.Message ?? "");
                    return;
                }
                Refresh(alert.Key);
                var mine = _store.Recipients(alert.Key).Where(r => r.EscalatedAt == now).Select(r => r.UserId).ToHashSet(StringComparer.Ordinal);
                foreach (var target in groups.Keys.ToList())
                {
                    groups[target].RemoveAll(u => !mine.Contains(u));
                    if (groups[target].Count == 0)
                    {
                        groups.Remove(target);
                    }
                }
            }
            else
            {
                var writes = new List<StagedWrite>();
                lock (_lock)
                {
                    foreach (var r in unacked)
                    {
                        var updated = (t.Recipients.GetValueOrDefault(r.UserKey) ?? r) with { EscalatedAt = now, EscalatedTo = targetsOf[r.UserKey] };
                        t.Recipients[r.UserKey] = updated;
                        writes.Add(AttentionStore.StageRecipient(updated));
                    }
                }
                await _audit.RecordWithAsync([auditEvent], rows =>
                {
                    _store.Write([.. writes, .. rows]);
                    return Task.FromResult((true, 0));
                }).ConfigureAwait(false);
            }
            var original = OriginalBody(alert);
            var senderName = snapshot.Find(alert.Sender)?.Profile.DisplayName ?? alert.Sender;
            var minutes = alert.ReminderDurationMs / 60000;
            foreach (var (target, users) in groups)
            {
                var names = string.Join(", ", users.Select(u => snapshot.Find(u)?.Profile.DisplayName ?? u));
                var body = $"Escalation: {names} did not acknowledge within {minutes} minutes an urgent message from {senderName}: \"{original}\"";
                await SendEscalationAsync(alert, target, users, body.Length > MaxBody ? body[..MaxBody] : body).ConfigureAwait(false);
            }
            LogEscalated(_logger, alert.Id, unacked.Count, groups.Count);
        }
        catch (Exception ex)
        {
            LogAlertFault(_logger, ex);
        }
    }

    private async Task SendEscalationAsync(AlertRecord parent, string target, List<string> users, string body)
    {
        var actor = new Actor(parent.Sender, parent.SenderKey, 0);
        var (room, joinFirst) = await DirectRoomAsync(actor, target).ConfigureAwait(false);
        var key = _store.NextKey("alert");
        var id = AlertId(key);
        var content = new Dictionary<string, object?>
        {
            ["body"] = body,
            [AttentionEventTypes.AckField] = new Dictionary<string, object?>
            {
                ["alert"] = id,
                ["urgent"] = true,
                ["scope"] = "escalation",
                ["target"] = target,
                ["escalation"] = new Dictionary<string, object?> { ["alert"] = parent.Id, ["users"] = users.Cast<object?>().ToList() },
            },
        };
        var template = new AlertRecord
        {
            Key = key,
            Id = id,
            RoomKey = room.Key,
            RoomId = room.RoomId,
            Sender = parent.Sender,
            SenderKey = parent.SenderKey,
            Urgent = true,
            Scope = "escalation",
            Target = target,
            CreatedAt = Now,
            ParentKey = parent.Key,
            ReminderIntervalMs = parent.ReminderIntervalMs,
            ReminderDurationMs = parent.ReminderDurationMs,
            Escalate = false,
        };
        await PostAsync(Principal.System.Event("alert.send", id, Details(("room", room.RoomId), ("scope", "escalation"), ("target", target), ("parent", parent.Id))),
            new AttentionPostProposal(actor, room.RoomId, EventTypes.Message, MsgPackValue.ToCanonicalMap(content))
            {
                Privileged = true,
                Urgent = true,
                JoinFirst = joinFirst,
                Alert = template,
            }).ConfigureAwait(false);
        if (_store.GetAlert(key) is { } alert)
        {
            Track(alert, _store.Recipients(key));
        }
    }

    private string OriginalBody(AlertRecord alert)
    {
        if (_events.TryGet(alert.RoomKey, alert.Seq, out var stored) && EventCodec.Read(stored.Wire).Content is { } content
            && MsgPackValue.ReadMap(content).TryGetValue("body", out var body) && body is string text)
        {
            return text.Length > 2000 ? text[..2000] + "…" : text;
        }
        return "(no longer available)";
    }

    [LoggerMessage(EventId = 9105, Level = LogLevel.Warning, Message = "Alert {AlertId}: the log refused a {Kind} change: {Reason}")]
    private static partial void LogProgressRefused(ILogger logger, string alertId, string kind, string reason);

    [LoggerMessage(EventId = 9103, Level = LogLevel.Information, Message = "Alert {AlertId}: reminded {Count} recipients")]
    private static partial void LogReminded(ILogger logger, string alertId, int count);

    [LoggerMessage(EventId = 9104, Level = LogLevel.Information, Message = "Alert {AlertId}: escalated {Count} recipients to {Targets} people")]
    private static partial void LogEscalated(ILogger logger, string alertId, int count, int targets);
}
