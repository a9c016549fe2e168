using TeamComms.Protocol.Events;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Rooms;

/// <summary>
/// Remove the content of an event (a redaction): its sender within the company's delete window, the room's moderators
/// and owners, or (<paramref name="Privileged"/>, checked by the caller) a company admin or moderator. The event keeps
/// its id and place in the chain; a <c>room.redaction</c> event tells clients and other servers. <paramref name="Writes"/>
/// (the audit entry) commit in the same batch.
/// </summary>
internal sealed record RedactProposal(Actor Actor, string RoomId, EventId Target, string? Reason, bool Privileged,
    IReadOnlyList<StagedWrite> Writes) : Proposal(Actor);

/// <summary>Pin or unpin an event (a <c>room.pins</c> event with the whole new list).</summary>
internal sealed record PinProposal(Actor Actor, string RoomId, EventId Target, bool Pin) : Proposal(Actor);

/// <summary>
/// Change a workplace room setting: <c>room.posting</c> (owners), <c>room.content_rules</c> (moderators and owners) or
/// <c>room.retention</c> (<paramref name="Privileged"/>: company admins and compliance officers). The content is the
/// event's content, checked by the sequencer.
/// </summary>
internal sealed record RoomSettingProposal(Actor Actor, string RoomId, string Type, IReadOnlyDictionary<string, object?> Content,
    bool Privileged, IReadOnlyList<StagedWrite> Writes) : Proposal(Actor);

/// <summary>Vote in a poll (an empty list withdraws the vote). Not anonymous: a <c>poll.vote</c> event; always a <c>poll.results</c> event.</summary>
internal sealed record VoteProposal(Actor Actor, string RoomId, EventId Poll, IReadOnlyList<string> Options) : Proposal(Actor);

/// <summary>Close a poll: its sender or a moderator, or the server at its closing time (<paramref name="Scheduled"/>).</summary>
internal sealed record ClosePollProposal(Actor Actor, string RoomId, EventId Poll, bool Scheduled) : Proposal(Actor);

/// <summary>
/// Retention: remove the content of removable events in (<paramref name="AfterSeq"/>, <paramref name="ThroughSeq"/>] of a
/// room, except what a legal hold covers. The <paramref name="Final"/> chunk records how far the room is purged and, in a
/// room hosted here, appends <c>room.purge</c> (with <paramref name="Writes"/>, the audit entry).
/// </summary>
internal sealed record PurgeProposal(long RoomKey, long AfterSeq, long ThroughSeq, long BeforeTs, bool Final,
    IReadOnlyList<StagedWrite> Writes) : Proposal(default(Actor));

/// <summary>What the room log needs from the workplace services (implemented outside Rooms/).</summary>
internal interface IRoomWorkplace
{
    /// <summary>The company's content policy (edit and delete windows, retention, default content rules).</summary>
    ContentPolicyRecord Policy { get; }

    /// <summary>Hosts whose links count as internal (this server's and configured company domains).</summary>
    IReadOnlyList<string> InternalDomains { get; }

    /// <summary>True when a legal hold covers the room or the sender: their content must be kept.</summary>
    bool IsHeld(string roomId, string sender);

    /// <summary>Called on the sequencer thread after each durable batch with workplace effects. Must not block.</summary>
    void AfterCommit(WorkplaceBatchEffects effects);
}

/// <summary>What a durable batch did that the workplace services act on.</summary>
internal sealed class WorkplaceBatchEffects
{
    /// <summary>Rooms whose content was removed: compact them so the old values leave the disk.</summary>
    public HashSet<long> Compact { get; } = [];

    /// <summary>Attachment files to delete (their message was removed and no hold covers them).</summary>
    public List<byte[]> DeleteFiles { get; } = [];

    /// <summary>Polls with a closing time to schedule: (closes at, room key, poll seq).</summary>
    public List<(long ClosesAt, long RoomKey, long PollSeq)> PollsScheduled { get; } = [];

    /// <summary>Rooms hosted elsewhere whose hub purged content: purge this copy too.</summary>
    public HashSet<long> FollowerPurges { get; } = [];

    /// <summary>Events whose content this batch removed (redaction, retention, a hub's purge), for <see cref="IContentRemovalListener"/>s.</summary>
    public List<RemovedContent> Removed { get; } = [];

    public bool IsEmpty => Compact.Count == 0 && DeleteFiles.Count == 0 && PollsScheduled.Count == 0 && FollowerPurges.Count == 0 && Removed.Count == 0;
}
