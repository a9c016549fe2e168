namespace TeamComms.Protocol.Events;

/// <summary>
/// Event types of the workplace features (docs/protocol.md §17). The server produces them through calls
/// (<c>alerts.*</c>, <c>incidents.*</c>); a Send with one of these types is refused like any non-<c>x.</c> type, so
/// no client can forge an urgent message, an all-clear or an incident report.
/// </summary>
public static class AttentionEventTypes
{
    /// <summary>
    /// The flag of a message that requires acknowledgement (an urgent message, an emergency broadcast, an announcement
    /// that requires acknowledgement, an escalation). Any room message can carry it: the event keeps its own type
    /// (usually <c>message</c>) and its content gains <c>ack: {alert: str, urgent: bool, scope: "room"|"direct"|"broadcast"|"escalation",
    /// target?: str, escalation?: {alert: str, users: [str]}}</c>. <c>alert</c> is the id to acknowledge with <c>alerts.ack</c>.
    /// Only the server sets it (<c>alerts.send</c>); a Send whose content has a top-level <c>ack</c> key is refused
    /// with <c>bad_field</c>, so no client can forge an urgent message.
    /// </summary>
    public const string AckField = "ack";

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
    public static bool CountsAsUnread(string type) => type is AlertAllClear or IncidentReport;

    /// <summary>True when <paramref name="content"/> is a map with a top-level <see cref="AckField"/> key (false for anything else).</summary>
    public static bool CarriesAck(ReadOnlyMemory<byte> content)
    {
        try
        {
            var r = new MessagePack.MessagePackReader(content);
            if (r.NextMessagePackType != MessagePack.MessagePackType.Map)
            {
                return false;
            }
            var count = r.ReadMapHeader();
            for (var i = 0; i < count; i++)
            {
                if (r.NextMessagePackType == MessagePack.MessagePackType.String)
                {
                    // Compare the UTF-8 bytes without allocating: this runs for every Send.
                    if (r.TryReadStringSpan(out var span) ? span.SequenceEqual("ack"u8) : r.ReadString() == AckField)
                    {
                        return true;
                    }
                }
                else
                {
                    r.Skip();
                }
                r.Skip();
            }
            return false;
        }
        catch (MessagePack.MessagePackSerializationException)
        {
            return false; // malformed content is refused elsewhere
        }
        catch (EndOfStreamException)
        {
            return false;
        }
    }
}
