using TeamComms.Protocol.Events;

namespace TeamComms.Protocol.Frames;

/// <summary>A frame a server sends.</summary>
public abstract record ServerFrame;

/// <summary>The connection is authenticated.</summary>
public sealed record WelcomeFrame(int Version, string UserId, string SessionId, byte[] Resume, long ServerTime, IReadOnlyDictionary<string, object?> Limits) : ServerFrame;

/// <summary>An error, tied to a request when <see cref="RequestId"/> is not 0.</summary>
public sealed record ErrorFrame(ulong RequestId, ErrorCode Code, string Name, string Message) : ServerFrame;

/// <summary>Answer to Ping.</summary>
public sealed record PongFrame(ulong RequestId, long ServerTime) : ServerFrame;

/// <summary>A send is durable.</summary>
public sealed record AckFrame(ulong RequestId, string RoomId, long Seq, EventId EventId, long Timestamp) : ServerFrame;

/// <summary>An event, with the stream position it was delivered at.</summary>
public sealed record EventFrame(long Position, RoomEvent Event) : ServerFrame;

/// <summary>The resume token now covers everything received.</summary>
public sealed record PositionFrame(byte[] Resume) : ServerFrame;

/// <summary>The result of a Call.</summary>
public sealed record ResultFrame(ulong RequestId, object? Result) : ServerFrame;

/// <summary>Erase local company data and sign out.</summary>
public sealed record WipeFrame(string Reason) : ServerFrame;

/// <summary>Whether to notify for an event on this device.</summary>
public sealed record NotifyFrame(string RoomId, long Seq, bool Notify, string Reason) : ServerFrame
{
    /// <summary>For a <c>summary</c>: how many messages the room received while notifications were quiet; otherwise null.</summary>
    public long? Count { get; init; }
}

/// <summary>A send waits for the room's hub on another server; its Ack follows once the hub has ordered it.</summary>
public sealed record PendingFrame(ulong RequestId, string RoomId, string TransactionId) : ServerFrame;

/// <summary>A frame type this library does not know (newer server); skipped intact.</summary>
public sealed record UnknownServerFrame(int Type) : ServerFrame;
