namespace TeamComms.Protocol.Events;

/// <summary>
/// Event types of the workplace features (announcements, moderation, retention, threads, reactions, polls, files);
/// docs/protocol.md §15 gives the content of each with an example. Threaded replies and edits are ordinary
/// <see cref="EventTypes.Message"/> events with a relation (<see cref="Relations"/>).
/// </summary>
public static class WorkplaceEventTypes
{
    /// <summary>A reaction, sent by anyone who may read the room: <c>{key, rel: {type: "reaction", event}}</c>.</summary>
    public const string Reaction = "reaction";

    /// <summary>A poll: <c>{question, options: [{id, text}], multiple, anonymous, closes_at?}</c>.</summary>
    public const string Poll = "poll";

    /// <summary>A member's vote in a poll that is not anonymous (made by the <c>polls.vote</c> call): <c>{options, rel: {type: "vote", event}}</c>.</summary>
    public const string PollVote = "poll.vote";

    /// <summary>A poll's results after each vote and when it closes, sent by the hub's system user: <c>{counts, voters, closed, rel: {type: "results", event}}</c>.</summary>
    public const string PollResults = "poll.results";

    /// <summary>The content of an event was removed: <c>{rel: {type: "redaction", event}, reason?}</c>.</summary>
    public const string Redaction = "room.redaction";

    /// <summary>The room's pinned events, in pin order: <c>{events: [id…]}</c>.</summary>
    public const string Pins = "room.pins";

    /// <summary>The lowest room role that may post: <c>{role: "member"|"poster"|"moderator"|"owner"}</c>.</summary>
    public const string Posting = "room.posting";

    /// <summary>The room's content rules: <c>{attachments: {max_bytes, types}, links: {policy, domains}}</c>.</summary>
    public const string ContentRules = "room.content_rules";

    /// <summary>The room's own retention: <c>{days}</c> (0: the company default applies).</summary>
    public const string Retention = "room.retention";

    /// <summary>Retention removed the content of events up to a seq: <c>{through, before, reason: "retention"}</c>.</summary>
    public const string Purge = "room.purge";

    /// <summary>True for the workplace types a client may propose with a Send frame (<c>reaction</c>, <c>poll</c>).</summary>
    public static bool IsClientSendable(string type) => type is Reaction or Poll;

    /// <summary>True for events whose content retention and redaction may remove: everything but room state (<c>room.*</c>).</summary>
    public static bool IsRemovable(string type) => !type.StartsWith("room.", StringComparison.Ordinal);
}
