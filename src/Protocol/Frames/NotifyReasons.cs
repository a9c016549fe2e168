namespace TeamComms.Protocol.Frames;

/// <summary>
/// The <c>reason</c> of a Notify frame (docs/protocol.md §17.4). A device alerts for a live <c>message</c>, <c>alert</c>
/// or <c>alert.all_clear</c> event from someone else unless a Notify frame just before it says otherwise.
/// </summary>
public static class NotifyReasons
{
    /// <summary><c>notify: false</c>: outside the recipient's working hours; deliver silently.</summary>
    public const string QuietHours = "quiet_hours";

    /// <summary><c>notify: false</c>: the recipient snoozed notifications.</summary>
    public const string Snoozed = "snoozed";

    /// <summary><c>notify: true</c>: an urgent alert; alert even in quiet hours, when snoozed or when the room is muted on the device.</summary>
    public const string Urgent = "urgent";

    /// <summary><c>notify: true</c>, on its own: an alert at <c>room</c>/<c>seq</c> still waits for your acknowledgement.</summary>
    public const string Reminder = "reminder";

    /// <summary><c>notify: true</c>, on its own, one per room: <c>count</c> messages arrived while notifications were quiet.</summary>
    public const string Summary = "summary";
}
