using TeamComms.Protocol;

namespace TeamComms.Server.Rooms;

/// <summary>Who proposes: a local user, and the session it came from (for transaction ids).</summary>
internal readonly record struct Actor(string UserId, long UserKey, long SessionKey);

/// <summary>
/// What a sender proposes to a room log. The proposer supplies the type and content (and a transaction id);
/// the sequencer assigns the sequence number, the predecessor and the timestamp.
/// </summary>
internal abstract record Proposal(Actor Actor)
{
    /// <summary>
    /// Set when the proposal comes from a replicated log (cluster mode): its place in the log and the log's timestamp,
    /// so that every node sequences it with the same inputs (see <see cref="LogStamp"/>). Null on a single node.
    /// </summary>
    public LogStamp? Stamp { get; init; }
}

/// <summary>
/// Where a proposal sits in a replicated log, and the inputs decided there rather than on the applying node: the log
/// entry's sequence, the proposal's index in that entry, and the entry's timestamp (Unix ms) that every node uses as
/// "now" while sequencing it. The sequencer records the stamp in the same write batch as the proposal's effects, so a
/// restarted node resumes exactly after the last applied proposal.
/// </summary>
internal sealed record LogStamp(long EntrySeq, int Index, long TimestampMs);

/// <summary>A message or custom event.</summary>
internal sealed record SendProposal(Actor Actor, string RoomId, string TransactionId, string Type, byte[] Content) : Proposal(Actor)
{
    /// <summary>
    /// The live connection that proposed it and its request id, when the Ack should travel with the event: the
    /// fan-out then queues the Ack just before the event on that connection, so both leave in one write.
    /// </summary>
    public IAckTarget? AckTarget { get; init; }

    public ulong AckRequestId { get; init; }
}

/// <summary>A proposer that receives its Ack from the fan-out, in the same write as the event (see <see cref="SendProposal.AckTarget"/>).</summary>
internal interface IAckTarget;

/// <summary>Create a room: create, creator join, name, topic and initial invites in one atomic batch.</summary>
internal sealed record CreateRoomProposal(Actor Actor, string Name, string Topic, string Kind, string HistoryVisibility,
    string InvitePolicy, IReadOnlyList<string> Invite) : Proposal(Actor)
{
    /// <summary>The room id chosen by the proposer (cluster mode: the publishing node), instead of a random one at sequencing.</summary>
    public string? PresetRoomId { get; init; }
}

/// <summary>Membership actions.</summary>
internal enum MembershipAction
{
    Invite,
    Join,
    Leave,
    Kick,
}

/// <summary>Invite, join, leave or kick.</summary>
internal sealed record MembershipProposal(Actor Actor, string RoomId, MembershipAction Action, string? Target, string? Reason) : Proposal(Actor);

/// <summary>Change a simple state value: name, topic, or a member's role.</summary>
internal sealed record StateProposal(Actor Actor, string RoomId, string Type, IReadOnlyDictionary<string, object?> Content) : Proposal(Actor);

/// <summary>The result of an append: the committed events, or why nothing was committed.</summary>
internal sealed record AppendOutcome(ErrorCode? Error, string? Message, IReadOnlyList<CommittedEvent> Events, string? RoomId)
{
    public bool Ok => Error is null;

    /// <summary>True when the send repeated a transaction id: <see cref="Events"/> holds the original event.</summary>
    public bool Duplicate { get; init; }

    /// <summary>For a read-marker proposal: the marker after the change.</summary>
    public long MarkerSeq { get; init; }

    /// <summary>Set when the room is hosted on another server: the proposal waits in the outbox for its hub.</summary>
    public ForwardedProposal? Forwarded { get; init; }

    public static AppendOutcome Fail(ErrorCode code, string message) => new(code, message, [], null);
}

/// <summary>
/// A change made by the server on behalf of the company directory (provisioning, rules, offboarding): membership
/// changes in any number of rooms plus directory rows, committed together in one group commit, so a provisioning
/// call either happens entirely or not at all. The sequencer applies each <see cref="MembershipWant"/> against the
/// room's working state, so a want that is already satisfied adds no event. <paramref name="By"/> names who caused
/// it (an admin's user id, <c>scim:&lt;token&gt;</c>, ...) and goes into each member event's <c>by</c> field.
/// </summary>
internal sealed record SystemProposal(Actor Actor, string By, IReadOnlyList<MembershipWant> Wants,
    IReadOnlyList<Storage.StagedWrite> Writes) : Proposal(Actor);

/// <summary>
/// Archive or unarchive a room. <paramref name="Privileged"/> is set by callers that already checked the company
/// admin role; otherwise only the room's owners may.
/// </summary>
internal sealed record ArchiveProposal(Actor Actor, string RoomId, bool Archived, bool Privileged) : Proposal(Actor);

/// <summary>Move a user's read marker forward (never back). Ordered with the room's events by the log.</summary>
internal sealed record ReadMarkerProposal(Actor Actor, string RoomId, long Seq) : Proposal(Actor);

/// <summary>
/// Admin provisioning: create a room owned by the actor with <see cref="Members"/> already joined (no invitation
/// round trip), in one atomic batch. For imports and load tests; each join is an ordinary member event whose sender
/// is the admin.
/// </summary>
internal sealed record ProvisionRoomProposal(Actor Actor, string Name, IReadOnlyList<string> Members) : Proposal(Actor)
{
    /// <summary>The room id chosen by the proposer (cluster mode), as for <see cref="CreateRoomProposal.PresetRoomId"/>.</summary>
    public string? PresetRoomId { get; init; }
}

/// <summary>
/// An event proposed by a user of another server to a room this server hosts (federation). The origin's signature is
/// verified before; the sequencer authorizes it like a local action, checks that its content is exactly what the
/// action produces, and keeps the signature as the event's origin element.
/// </summary>
internal sealed record RemoteProposal(Actor Actor, string Origin, string RoomId, string Type, byte[] Content, Protocol.Events.OriginSignature Signature) : Proposal(Actor);

/// <summary>An event of a room hosted elsewhere with its wire bytes, verified against the hub's chain and checkpoint.</summary>
internal sealed record VerifiedEvent(Protocol.Events.RoomEvent Event, byte[] Wire);

/// <summary>
/// Events of a room hosted on another server, in order and verified, to store as this server's copy: the same seq and
/// ids as the hub, local stream positions, and the room state derived from them.
/// </summary>
internal sealed record FollowerEventsProposal(string RoomId, IReadOnlyList<VerifiedEvent> Events) : Proposal(default(Actor));

/// <summary>Content for stored events that arrived without it (history that became visible by a join), verified against their ids.</summary>
internal sealed record ContentFillProposal(string RoomId, IReadOnlyList<VerifiedEvent> Events) : Proposal(default(Actor));

/// <summary>
/// What a destination server accepted from this server's outbox sender: outbox entries delivered through
/// <paramref name="OutboxThrough"/> (0 for none), the destination's new push cursors, and the proposals it refused. In
/// cluster mode only the holder of the <c>federation-outbox</c> lease sends, and it records its progress through the log
/// with this proposal, so every node holds the same outbox position and a node that takes over the lease resumes there.
/// </summary>
internal sealed record FederationProgressProposal(string Destination, long OutboxThrough, IReadOnlyList<FederationCursor> Cursors,
    IReadOnlyList<FederationRefusal> Refused) : Proposal(default(Actor));

/// <summary>A destination's push cursor in one room hosted here: the last seq it has stored.</summary>
internal readonly record struct FederationCursor(long RoomKey, long Seq);

/// <summary>A forwarded proposal that its hub refused: the waiting caller gets this answer.</summary>
internal sealed record FederationRefusal(string Nonce, ErrorCode Code, string Message);
