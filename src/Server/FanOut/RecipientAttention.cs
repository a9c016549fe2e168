using TeamComms.Server.Accounts;

namespace TeamComms.Server.FanOut;

/// <summary>What the fan-out tells a recipient's device about a notifiable event, beside the shared event bytes.</summary>
internal enum NotifyDecision : byte
{
    /// <summary>No Notify frame: the device follows the default (notify for messages from others).</summary>
    Default,
    /// <summary><c>[72, room, seq, false, "quiet_hours"]</c>.</summary>
    QuietHours,
    /// <summary><c>[72, room, seq, false, "snoozed"]</c>.</summary>
    Snoozed,
    /// <summary><c>[72, room, seq, true, "urgent"]</c>.</summary>
    Urgent,
}

/// <summary>
/// A user's notification state as the fan-out sees it. <see cref="Decide"/> runs once per recipient of every
/// notifiable event on the dispatcher thread, so it must be a few comparisons and allocate nothing in the common case.
/// </summary>
internal interface IRecipientAttention
{
    /// <summary>The decision for an event committed at <paramref name="timestampMs"/> (Unix ms).</summary>
    NotifyDecision Decide(long timestampMs);
}

/// <summary>Hands the fan-out each connection's <see cref="IRecipientAttention"/> when it subscribes.</summary>
internal interface IAttentionSource
{
    IRecipientAttention For(AuthenticatedSession session);
}
