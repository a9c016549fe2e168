using System.Collections.Immutable;
using TeamComms.Protocol.Events;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Rooms;

/// <summary>
/// The workplace part of a room's state, derived from its <c>room.posting</c>, <c>room.pins</c>,
/// <c>room.content_rules</c>, <c>room.retention</c> and <c>room.purge</c> events (and, for a room hosted elsewhere,
/// what is still to do of the hub's purge). Immutable, like <see cref="RoomState"/>, of which it is a part.
/// </summary>
internal sealed record WorkplaceRoomState
{
    public static WorkplaceRoomState Default { get; } = new();

    /// <summary>The lowest role that may post; null: members, or posters in announcement rooms.</summary>
    public string? PostingRole { get; init; }

    public ImmutableArray<EventId> Pins { get; init; } = [];

    /// <summary>The room's own content rules; null fields take the company's defaults.</summary>
    public ContentRulesRecord? Rules { get; init; }

    /// <summary>The room's own retention in days; 0: the company default.</summary>
    public int RetentionDays { get; init; }

    /// <summary>Retention removed content up to this seq.</summary>
    public long PurgedThrough { get; init; }

    /// <summary>A room hosted elsewhere: the hub purged up to here and this copy has not yet.</summary>
    public long PurgeWanted { get; init; }

    /// <summary>The lowest role that may post in a room of <paramref name="kind"/>.</summary>
    public string EffectivePostingRole(string kind) => PostingRole ?? (kind == RoomKinds.Announcement ? RoomRoles.Poster : RoomRoles.Member);

    public RoomSettingsRecord ToRecord() => new()
    {
        PostingRole = PostingRole,
        Pins = [.. Pins.Select(p => p.ToString())],
        Rules = Rules,
        RetentionDays = RetentionDays,
        PurgedThrough = PurgedThrough,
        PurgeWanted = PurgeWanted,
    };

    public static WorkplaceRoomState FromRecord(RoomSettingsRecord? record) => record is null ? Default : new()
    {
        PostingRole = record.PostingRole,
        Pins = [.. record.Pins.Select(EventId.Parse)],
        Rules = record.Rules,
        RetentionDays = record.RetentionDays,
        PurgedThrough = record.PurgedThrough,
        PurgeWanted = record.PurgeWanted,
    };
}
