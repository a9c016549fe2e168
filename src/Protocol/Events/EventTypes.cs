namespace TeamComms.Protocol.Events;

/// <summary>
/// Event types the server knows. Types in the <c>room.</c> namespace are state events that change the room's
/// state and are produced through room calls, never through Send. Clients may Send <see cref="Message"/> and any
/// type beginning with <c>x.</c> (application-defined).
/// </summary>
public static class EventTypes
{
    /// <summary>First event of every room: <c>{creator, hub, kind, history}</c>.</summary>
    public const string Create = "room.create";
    /// <summary>Membership change: <c>{user, membership, by?, reason?}</c>.</summary>
    public const string Member = "room.member";
    /// <summary>Room name: <c>{name}</c>.</summary>
    public const string Name = "room.name";
    /// <summary>Room topic: <c>{topic}</c>.</summary>
    public const string Topic = "room.topic";
    /// <summary>The room was archived (read-only, hidden from the active list) or unarchived: <c>{archived:bool}</c>.</summary>
    public const string Archived = "room.archived";
    /// <summary>A chat message: <c>{body, format?}</c> or any map for richer kinds.</summary>
    public const string Message = "message";

    /// <summary>Prefix of application-defined types that clients may send freely.</summary>
    public const string CustomPrefix = "x.";

    /// <summary>Longest accepted event type.</summary>
    public const int MaxLength = 64;

    /// <summary>True when a client may propose <paramref name="type"/> with a Send frame.</summary>
    public static bool IsClientSendable(string type) =>
        type == Message || WorkplaceEventTypes.IsClientSendable(type) || (type.StartsWith(CustomPrefix, StringComparison.Ordinal) && type.Length > 2 && type.Length <= MaxLength && IsTypeChars(type));

    /// <summary>True for the message-like types that count towards unread counts.</summary>
    public static bool CountsAsUnread(string type) => type == Message || AttentionEventTypes.CountsAsUnread(type);

    private static bool IsTypeChars(string type)
    {
        foreach (var c in type)
        {
            if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '_' or '-'))
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>Membership values carried in <see cref="EventTypes.Member"/> events.</summary>
public static class Membership
{
    /// <summary>Invited, not yet joined.</summary>
    public const string Invite = "invite";
    /// <summary>A full member.</summary>
    public const string Join = "join";
    /// <summary>Left or was removed.</summary>
    public const string Leave = "leave";
}
