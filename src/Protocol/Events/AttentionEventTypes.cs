namespace TeamComms.Protocol.Events;

/// <summary>
/// Event types of the workplace features (docs/protocol.md §15). The server produces them through calls
/// (<c>alerts.*</c>, <c>incidents.*</c>); a Send with one of these types is refused like any non-<c>x.</c> type, so
/// no client can forge an urgent message, an all-clear or an incident report.
/// </summary>
public static class AttentionEventTypes
{
    /// <summary>
    /// A message that requires acknowledgement: <c>{body, alert: str, urgent: bool, scope: "room"|"direct"|"broadcast"|"escalation",
    /// target?: str, escalation?: {alert: str, users: [str]}}</c>. <c>alert</c> is the id to acknowledge with <c>alerts.ack</c>.
    /// </summary>
    public const string Alert = "alert";

    /// <summary>The all-clear of an alert, a reply in its thread: <c>{body, alert, rel: {type: "thread", event: bin32}}</c>.</summary>
    public const string AlertAllClear = "alert.all_clear";

    /// <summary>
    /// An alert was cancelled, a reply in its thread: <c>{alert, reason?, rel: {type: "thread", event: bin32}}</c>. Reminders
    /// stop; what was delivered stays.
    /// </summary>
    public const string AlertCancel = "alert.cancel";

    /// <summary>The first event of an incident room: <c>{incident, kind, description, anonymous: bool}</c>.</summary>
    public const string IncidentReport = "incident.report";

    /// <summary>True for the workplace types that count towards unread counts (and notify like messages).</summary>
    public static bool CountsAsUnread(string type) => type is Alert or AlertAllClear or IncidentReport;
}
