using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Accounts;
using TeamComms.Server.Api;
using TeamComms.Server.Audit;
using TeamComms.Server.Storage;
using TeamComms.Server.Workplace.Alerts;
using TeamComms.Server.Workplace.Incidents;
using TeamComms.Server.Workplace.Notifications;
using TeamComms.Server.Workplace.Push;
using TeamComms.Server.Workplace.Receipts;

namespace TeamComms.Server.Workplace;

/// <summary>The WebSocket calls of the workplace features (docs/protocol.md §17).</summary>
internal sealed class AttentionCalls(AlertService alerts, ReceiptService receipts, AttentionService attention, SummaryService summaries,
    PushService push, IncidentService incidents, AccountStore accounts, TimeProvider time)
{
    public void Register(ClientCalls calls)
    {
        calls.Register("receipts.get", (s, p) => Task.FromResult<object?>(receipts.Get(s, p.RequiredString("room", Identifiers.MaxIdLength), p.RequiredInt("seq"))));
        calls.Register("receipts.set_privacy", (s, p) => Task.FromResult<object?>(new Dictionary<string, object?>
        {
            ["hide_read_receipts"] = attention.SetHideReadReceipts(s, p.OptionalBool("hide_read_receipts") ?? throw Required("hide_read_receipts")).HideReadReceipts,
        }));

        calls.Register("alerts.send", async (s, p) => await alerts.SendAsync(s, By(s), Target(p), p.RequiredString("body", AlertService.MaxBody + 1000),
            p.OptionalBool("urgent") ?? true, p.OptionalString("type", EventTypes.MaxLength)).ConfigureAwait(false));
        calls.Register("alerts.ack", async (s, p) => await alerts.AckAsync(s, p.RequiredString("alert", 32)).ConfigureAwait(false));
        calls.Register("alerts.cancel", async (s, p) => await alerts.CloseAsync(s, By(s), p.RequiredString("alert", 32), false, p.OptionalString("reason", AlertService.MaxBody + 1)).ConfigureAwait(false));
        calls.Register("alerts.all_clear", async (s, p) => await alerts.CloseAsync(s, By(s), p.RequiredString("alert", 32), true, p.RequiredString("body", AlertService.MaxBody + 1)).ConfigureAwait(false));
        calls.Register("alerts.status", (s, p) =>
        {
            var (alert, rows) = alerts.Status(s, p.RequiredString("alert", 32));
            return Task.FromResult<object?>(AlertService.StatusJson(alert, rows));
        });
        calls.Register("alerts.list", (s, p) => Task.FromResult<object?>(alerts.List(s)));

        calls.Register("notifications.get", (s, p) => Task.FromResult<object?>(attention.Describe(s)));
        calls.Register("notifications.snooze", (s, p) => Task.FromResult<object?>(Snooze(s, p)));
        calls.Register("notifications.summary", (s, p) => Task.FromResult<object?>(Summary(s)));
        calls.Register("push.register", (s, p) =>
        {
            push.Register(s, p.RequiredString("app_id", 256), p.RequiredString("pushkey", 1024));
            return Task.FromResult<object?>(new Dictionary<string, object?> { ["registered"] = true });
        });
        calls.Register("push.unregister", (s, p) => Task.FromResult<object?>(new Dictionary<string, object?> { ["removed"] = push.Unregister(s.SessionKey) }));

        calls.Register("incidents.report", async (s, p) => await incidents.ReportAsync(s, By(s), p.RequiredString("kind", 64),
            p.RequiredString("description", IncidentService.MaxDescription + 1000), p.OptionalBool("anonymous") ?? false).ConfigureAwait(false));
        calls.Register("incidents.send", async (s, p) => await incidents.SendAnonymousAsync(p.RequiredString("incident", 32), p.RequiredString("secret", 64),
            p.RequiredString("body", IncidentService.MaxDescription + 1000)).ConfigureAwait(false));
        calls.Register("incidents.messages", (s, p) => Task.FromResult<object?>(incidents.Messages(p.RequiredString("incident", 32), p.RequiredString("secret", 64),
            p.OptionalInt("from") ?? 1, (int)Math.Clamp(p.OptionalInt("limit") ?? 100, 1, Limits.MaxHistoryPage))));
        calls.Register("incidents.watch", (s, p) => Task.FromResult<object?>(incidents.Watch(s, p.RequiredString("incident", 32), p.RequiredString("secret", 64))));
        calls.Register("incidents.list", (s, p) => Task.FromResult<object?>(incidents.List(s)));
    }

    /// <summary><c>{minutes}</c> or <c>{until}</c> (Unix ms); 0 minutes (or a past time) ends the snooze.</summary>
    public Dictionary<string, object?> Snooze(AuthenticatedSession s, FieldMap p)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        long until;
        if (p.OptionalInt("minutes") is { } minutes)
        {
            if (minutes < 0 || minutes > AttentionService.MaxSnooze.TotalMinutes)
            {
                throw new ApiException(ErrorCode.BadField, $"minutes is 0 to {AttentionService.MaxSnooze.TotalMinutes:0}");
            }
            until = minutes == 0 ? 0 : now + minutes * 60_000;
        }
        else
        {
            until = p.OptionalInt("until") ?? throw new ApiException(ErrorCode.BadField, "give minutes or until");
        }
        var settings = attention.Snooze(s, until);
        return new Dictionary<string, object?> { ["snoozed_until"] = settings.SnoozeUntil > now ? settings.SnoozeUntil : null };
    }

    /// <summary>Unread messages that arrived during the current quiet period (or the last one, in working hours), per room.</summary>
    public Dictionary<string, object?> Summary(AuthenticatedSession s)
    {
        var user = attention.Get(s.UserKey, s.UserId);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        long since;
        if (user.Schedule.IsWorking(now) && user.Settings.SnoozeUntil <= now)
        {
            var start = user.Schedule.PreviousStart(now);
            since = start == long.MinValue ? long.MinValue : SummaryService.SummaryStart(user, start);
        }
        else
        {
            since = user.Schedule.PreviousEnd(now);
            if (user.Settings.SnoozeUntil > now && user.Settings.SnoozeStart < since)
            {
                since = user.Settings.SnoozeStart;
            }
        }
        if (since == long.MinValue)
        {
            since = now - (long)TimeSpan.FromDays(1).TotalMilliseconds;
        }
        return new Dictionary<string, object?>
        {
            ["since"] = since,
            ["rooms"] = summaries.Compute(s.UserKey, since).Select(r => (object?)new Dictionary<string, object?>
            {
                ["room_id"] = r.RoomId,
                ["seq"] = r.HeadSeq,
                ["count"] = r.Count,
            }).ToList(),
        };
    }

    public static AlertTarget Target(FieldMap p) => AlertTarget.From(
        p.OptionalString("room", Identifiers.MaxIdLength), p.OptionalString("user", Identifiers.MaxIdLength),
        p.OptionalString("rule", 64), p.OptionalString("group", 256), p.OptionalBool("company") ?? false);

    private Principal By(AuthenticatedSession s) => new(s.UserId, accounts.GetSession(s.SessionKey)?.LastAddress ?? "");

    private static ApiException Required(string name) => new(ErrorCode.BadField, $"'{name}' is required");
}
