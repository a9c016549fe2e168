using TeamComms.Protocol.Events;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Rooms;

/// <summary>A membership change carried by an event, for the fan-out's subscription index.</summary>
internal sealed record MembershipChange(string UserId, string Membership);

/// <summary>
/// A durable event, ready for fan-out: <see cref="Frame"/> is the Event frame serialized once, which every
/// recipient's queue references without copying.
/// </summary>
internal sealed class CommittedEvent
{
    public required long RoomKey { get; init; }
    public required string RoomId { get; init; }
    public required long Seq { get; init; }
    public required long Pos { get; init; }
    public required EventId Id { get; init; }
    public required long Timestamp { get; init; }
    public required string Type { get; init; }
    public required string Sender { get; init; }
    public required byte[] Stored { get; init; }
    public required int FrameLength { get; init; }
    public MembershipChange? Membership { get; init; }

    /// <summary>Whom the fan-out acknowledges with this event (a new event from a live connection's Send), or null.</summary>
    public IAckTarget? AckTarget { get; set; }

    public ulong AckRequestId { get; set; }

    /// <summary>An urgent alert: every recipient's devices are told to notify, whatever their quiet hours (set by the sequencer).</summary>
    public bool Urgent { get; set; }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> when the event's batch became durable; 0 for replayed events.</summary>
    public long DurableTimestamp { get; set; }

    public ReadOnlyMemory<byte> Frame => Stored.AsMemory(0, FrameLength);

    public static CommittedEvent FromStored(string roomId, long roomKey, StoredEvent stored)
    {
        var ev = EventCodec.Read(stored.Wire);
        return new CommittedEvent
        {
            RoomKey = roomKey,
            RoomId = roomId,
            Seq = stored.Seq,
            Pos = stored.Pos,
            Id = ev.Id,
            Timestamp = ev.Timestamp,
            Type = ev.Type,
            Sender = ev.Sender,
            Stored = stored.Value,
            FrameLength = stored.FrameLength,
        };
    }
}
