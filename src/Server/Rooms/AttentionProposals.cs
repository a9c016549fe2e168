using TeamComms.Server.Storage;

namespace TeamComms.Server.Rooms;

/// <summary>
/// A post produced by the workplace features (alerts, their all-clears and cancellations, escalations, incident reports
/// and an anonymous reporter's messages). The caller has checked the company permission; the sequencer checks the room
/// (hosted here, not archived, membership unless <see cref="Privileged"/>), appends the event and, for an alert, stages
/// the alert row and one recipient row per joined local member other than the sender, all in the same batch.
/// Plain data, like every proposal.
/// </summary>
internal sealed record AttentionPostProposal(Actor Actor, string RoomId, string Type, byte[] Content) : Proposal(Actor)
{
    /// <summary>The event's sender; null for the actor. Anonymous incident posts use the room's pseudonymous reporter.</summary>
    public string? Sender { get; init; }

    /// <summary>
    /// The caller checked a company permission, so the post needs no room role (an emergency broadcast into its
    /// announcement room) and the sender need not be a member (an anonymous reporter).
    /// </summary>
    public bool Privileged { get; init; }

    /// <summary>Urgent: the fan-out tells every recipient's devices to notify, quiet hours or not.</summary>
    public bool Urgent { get; init; }

    /// <summary>Invited members to join before the post (the other person of a direct room that receives an urgent message).</summary>
    public IReadOnlyList<string> JoinFirst { get; init; } = [];

    /// <summary>The alert this post creates; the sequencer fills in its room, seq, position, event id and recipients.</summary>
    public AlertRecord? Alert { get; init; }

    /// <summary>Rows committed with the event (an alert's new state, an incident record).</summary>
    public IReadOnlyList<StagedWrite> Writes { get; init; } = [];
}

/// <summary>
/// A room created for the workplace features: an emergency broadcast room or a confidential incident room, owned by
/// the server's <c>_system</c> id with no other owner or moderator (so no member can invite anyone or change roles;
/// membership comes from the directory binding the caller sets next), or the direct room of an urgent message's sender
/// (<paramref name="Owner"/>) and its recipient (<see cref="Join"/>). No room-creation or direct-message policy applies:
/// the caller checked the company permission that replaces it.
/// </summary>
internal sealed record AttentionRoomProposal(Actor Actor, string Owner, string Name, string Topic, string Kind,
    string HistoryVisibility) : Proposal(Actor)
{
    /// <summary>Joined as members at creation, without an invitation.</summary>
    public IReadOnlyList<string> Join { get; init; } = [];

    public string InvitePolicy { get; init; } = InvitePolicies.Moderators;

    /// <summary>Rows committed with the room's creation.</summary>
    public IReadOnlyList<StagedWrite> Writes { get; init; } = [];

    /// <summary>
    /// Index rows whose value is the new room's key (8 bytes, <c>KeyCodec.Long</c>), written with the creation: the direct
    /// pair of an urgent message's room, a broadcast target's room. The key is decided by the sequencer, so the proposer
    /// names only the rows (their <see cref="StagedWrite.Value"/> is ignored).
    /// </summary>
    public IReadOnlyList<StagedWrite> RoomKeyRows { get; init; } = [];

    /// <summary>The room id chosen by the proposer (cluster mode), as for <see cref="CreateRoomProposal.PresetRoomId"/>.</summary>
    public string? PresetRoomId { get; init; }
}

/// <summary>What an <see cref="AlertProgressProposal"/> records. Stored in the cluster log: append, never renumber.</summary>
internal enum AlertProgress
{
    /// <summary>The actor acknowledges (at the log's time); refused when the actor is not a recipient.</summary>
    Ack = 1,

    /// <summary>First delivery to <see cref="AlertProgressProposal.Users"/> at <see cref="AlertProgressProposal.At"/> (kept if already set).</summary>
    Delivered = 2,

    /// <summary>First read by <see cref="AlertProgressProposal.Users"/> (also delivery) at <see cref="AlertProgressProposal.At"/> (kept if already set).</summary>
    Read = 3,

    /// <summary>Reminder <see cref="AlertProgressProposal.Due"/> of every listed recipient that has neither acknowledged nor had it.</summary>
    Remind = 4,

    /// <summary>Escalation of every listed recipient that has neither acknowledged nor been escalated, to <see cref="AlertProgressProposal.EscalatedTo"/>.</summary>
    Escalate = 5,
}

/// <summary>
/// Cluster mode: a change to an alert's recipient rows (acknowledgement, delivery and read times, a reminder tick, the
/// escalation), applied by the sequencer as a read-modify-write in log order, so every node ends with the same rows
/// whichever node the change came from, and a change proposed twice (two lease holders around a hand-over) applies
/// once. No room event. On one node the alert service writes these rows directly, as before.
/// </summary>
internal sealed record AlertProgressProposal(Actor Actor, long AlertKey, AlertProgress Kind, long At) : Proposal(Actor)
{
    /// <summary>The recipients concerned (by user key); for <see cref="AlertProgress.Ack"/>, the actor.</summary>
    public IReadOnlyList<long> Users { get; init; } = [];

    /// <summary>The reminder number (<see cref="AlertProgress.Remind"/>).</summary>
    public int Due { get; init; }

    /// <summary>Per entry of <see cref="Users"/>, who they escalate to (<see cref="AlertProgress.Escalate"/>).</summary>
    public IReadOnlyList<IReadOnlyList<string>> EscalatedTo { get; init; } = [];

    /// <summary>Rows committed with the change (the escalation's audit entry).</summary>
    public IReadOnlyList<StagedWrite> Writes { get; init; } = [];
}
