namespace TeamComms.Server.Rooms;

/// <summary>
/// A room known to this server. <see cref="View"/> is what readers see: the state and head as of the last
/// durable batch. <see cref="Working"/> belongs to the sequencer thread alone and runs ahead of it during a batch.
/// </summary>
internal sealed class Room(long key, string roomId, RoomView view)
{
    private volatile RoomView _view = view;

    public long Key { get; } = key;
    public string RoomId { get; } = roomId;

    /// <summary>The committed state and head.</summary>
    public RoomView View => _view;

    /// <summary>Sequencer-only: the state and head including not-yet-durable events of the current batch.</summary>
    internal RoomView Working { get; set; } = view;

    /// <summary>Sequencer-only: makes the working view visible after its batch is durable.</summary>
    internal void Publish() => _view = Working;

    /// <summary>Sequencer-only: drops the working view after a failed batch.</summary>
    internal void Rollback() => Working = _view;
}
