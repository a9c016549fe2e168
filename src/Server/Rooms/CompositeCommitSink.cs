namespace TeamComms.Server.Rooms;

/// <summary>Hands each committed batch to several sinks in order (fan-out first, then federation).</summary>
internal sealed class CompositeCommitSink(IReadOnlyList<ICommitSink> sinks) : ICommitSink
{
    public void OnCommitted(IReadOnlyList<CommittedEvent> batch)
    {
        foreach (var sink in sinks)
        {
            sink.OnCommitted(batch);
        }
    }

    public void OnReadMarkers(IReadOnlyDictionary<(long User, long Room), long> markers)
    {
        foreach (var sink in sinks)
        {
            sink.OnReadMarkers(markers);
        }
    }
}
