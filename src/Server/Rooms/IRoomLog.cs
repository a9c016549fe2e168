namespace TeamComms.Server.Rooms;

/// <summary>
/// The seam around room logs. Everything that orders events goes through it: today <see cref="LocalRoomLog"/>
/// (one sequencer thread and a RocksDB group commit); later a JetStream-backed log that publishes proposals and
/// applies them in stream order. Readers of stored history use the storage layer directly; live consumers receive
/// committed batches through <see cref="ICommitSink"/>, in position order.
/// </summary>
internal interface IRoomLog
{
    /// <summary>Identity of this log's lineage; resume tokens carry it.</summary>
    ulong Epoch { get; }

    /// <summary>Position of the last event that is durable and handed to the commit sink.</summary>
    long LastPosition { get; }

    /// <summary>Authorizes, sequences and durably appends a proposal; completes after the commit (or with the reason it was refused).</summary>
    Task<AppendOutcome> AppendAsync(Proposal proposal);

    /// <summary>
    /// Runs <paramref name="action"/> at a point in the log's order between two batches, passing the last committed
    /// position. Everything at or below it is durable and already handed to the commit sink; nothing above it is.
    /// Live subscribers register here so that "replay up to P, then live after P" has no gap and no overlap.
    /// </summary>
    Task<T> BarrierAsync<T>(Func<long, T> action);
}

/// <summary>Receives committed batches, in order, on the log's thread. Must not block.</summary>
internal interface ICommitSink
{
    void OnCommitted(IReadOnlyList<CommittedEvent> batch);

    /// <summary>Read markers that moved in a committed batch, <c>(userKey, roomKey) → seq</c>. The map is reused: copy what you keep.</summary>
    void OnReadMarkers(IReadOnlyDictionary<(long User, long Room), long> markers)
    {
    }
}
