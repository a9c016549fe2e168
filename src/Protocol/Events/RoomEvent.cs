namespace TeamComms.Protocol.Events;

/// <summary>
/// One event of a room's log, as a client or peer server sees it.
/// <para>
/// Proposed by the sender's server: <see cref="RoomId"/>, <see cref="Sender"/>, <see cref="Type"/>,
/// <see cref="Timestamp"/> and the content. Assigned by the room's sequencer: <see cref="Seq"/> and
/// <see cref="Prev"/>. <see cref="Id"/> is derived from all of them (see <see cref="EventCodec.ComputeId(RoomEvent)"/>).
/// </para>
/// </summary>
public sealed class RoomEvent
{
    /// <summary>Event format version; 1 today.</summary>
    public required int Version { get; init; }
    /// <summary>SHA-256 of the canonical id input.</summary>
    public required EventId Id { get; init; }
    /// <summary>Room id, <c>!…@hub</c>.</summary>
    public required string RoomId { get; init; }
    /// <summary>Dense per-room sequence number, starting at 1.</summary>
    public required long Seq { get; init; }
    /// <summary>Id of the event at <c>Seq - 1</c>; null only for <c>Seq == 1</c>.</summary>
    public required EventId? Prev { get; init; }
    /// <summary>Server-qualified sender user id.</summary>
    public required string Sender { get; init; }
    /// <summary>Event type, for example <c>message</c> or <c>room.member</c>.</summary>
    public required string Type { get; init; }
    /// <summary>Server timestamp, Unix milliseconds.</summary>
    public required long Timestamp { get; init; }
    /// <summary>SHA-256 of the canonical content; kept when content is redacted.</summary>
    public required byte[] ContentHash { get; init; }
    /// <summary>Canonical MessagePack content map, or null when the content was redacted or removed by retention.</summary>
    public required ReadOnlyMemory<byte>? Content { get; init; }

    /// <summary>
    /// The origin server's signature, present on events whose sender belongs to a server other than the room's hub
    /// (federation). Not part of the id.
    /// </summary>
    public OriginSignature? Origin { get; init; }

    /// <summary>True when the content was removed (redaction or retention); the id and chain still verify.</summary>
    public bool IsRedacted => Content is null;

    /// <summary>Decodes <see cref="Content"/> into plain .NET values (see <see cref="MsgPackValue"/>).</summary>
    public IReadOnlyDictionary<string, object?> ContentMap =>
        Content is { } c ? MsgPackValue.ReadMap(c) : new Dictionary<string, object?>();
}
