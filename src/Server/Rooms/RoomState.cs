using System.Collections.Immutable;
using TeamComms.Protocol.Events;

namespace TeamComms.Server.Rooms;

/// <summary>Per-room roles, in increasing power.</summary>
internal static class RoomRoles
{
    public const string Member = "member";
    public const string Poster = "poster";
    public const string Moderator = "moderator";
    public const string Owner = "owner";

    public static int Rank(string role) => role switch
    {
        Owner => 3,
        Moderator => 2,
        Poster => 1,
        _ => 0,
    };

    public static bool IsValid(string role) => role is Member or Poster or Moderator or Owner;
}

/// <summary>One member row of a room's state.</summary>
/// <param name="JoinSeq">Seq of the member's latest join (0 if never joined); bounds what a "joined"-visibility room shows them.</param>
/// <param name="Managed">The join came from a directory rule: the directory, not the member, decides when it ends.</param>
internal sealed record MemberInfo(string Membership, string Role, long Pos, long Seq, long JoinSeq, bool Managed = false);

/// <summary>
/// A room's state as derived from its log: settings and members. Immutable; the sequencer builds the next one and
/// publishes it after the batch that produced it is durable, so readers never see uncommitted state.
/// </summary>
internal sealed record RoomState
{
    public required string RoomId { get; init; }
    public required long Key { get; init; }
    public required string Creator { get; init; }
    public required long CreatedAt { get; init; }
    public string Name { get; init; } = "";
    public string Topic { get; init; } = "";
    public string Kind { get; init; } = RoomKinds.Group;
    public string HistoryVisibility { get; init; } = HistoryVisibilities.Full;
    public string InvitePolicy { get; init; } = InvitePolicies.Moderators;
    public bool Archived { get; init; }
    public ImmutableDictionary<string, MemberInfo> Members { get; init; } = ImmutableDictionary.Create<string, MemberInfo>(StringComparer.Ordinal);
    public int JoinedCount { get; init; }

    /// <summary>Posting role, pins, content rules and retention (workplace features).</summary>
    public WorkplaceRoomState Workplace { get; init; } = WorkplaceRoomState.Default;

    public MemberInfo? Member(string userId) => Members.TryGetValue(userId, out var m) ? m : null;

    public bool IsJoined(string userId) => Member(userId)?.Membership == Membership.Join;

    public string RoleOf(string userId) => Member(userId) is { Membership: Membership.Join } m ? m.Role : RoomRoles.Member;

    public RoomState WithMember(string userId, MemberInfo info)
    {
        var wasJoined = IsJoined(userId);
        var isJoined = info.Membership == Membership.Join;
        return this with
        {
            Members = Members.SetItem(userId, info),
            JoinedCount = JoinedCount + (isJoined ? 1 : 0) - (wasJoined ? 1 : 0),
        };
    }
}

/// <summary>Room kinds.</summary>
internal static class RoomKinds
{
    public const string Group = "group";
    public const string Direct = "direct";
    public const string Announcement = "announcement";

    public static bool IsValid(string kind) => kind is Group or Direct or Announcement;
}

/// <summary>History visibility for members who join later.</summary>
internal static class HistoryVisibilities
{
    /// <summary>New members can page through the whole history.</summary>
    public const string Full = "full";
    /// <summary>New members see events from their join on.</summary>
    public const string Joined = "joined";

    public static bool IsValid(string v) => v is Full or Joined;
}

/// <summary>Who may invite to a room.</summary>
internal static class InvitePolicies
{
    public const string Members = "members";
    public const string Moderators = "moderators";

    public static bool IsValid(string v) => v is Members or Moderators;
}

/// <summary>The head of a room's log: its last event.</summary>
internal readonly record struct RoomHead(long Seq, EventId Id, long Pos, long MessageCount, long Timestamp)
{
    public static RoomHead Empty => default;
}

/// <summary>State and head, published together.</summary>
internal sealed record RoomView(RoomState State, RoomHead Head);
