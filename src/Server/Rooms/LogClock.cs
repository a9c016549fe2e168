namespace TeamComms.Server.Rooms;

/// <summary>
/// The sequencer's clock in cluster mode. While a stamped proposal is sequenced, "now" is the replicated log entry's
/// timestamp, so that every node assigns the same event timestamps (and so the same event ids and chain hashes);
/// every other use (elapsed time, timers) goes to the real clock. Only the sequencer thread sets it.
/// </summary>
internal sealed class LogClock(TimeProvider inner) : TimeProvider
{
    private long _stampMs = long.MinValue;

    public void Set(long? unixMs) => Volatile.Write(ref _stampMs, unixMs ?? long.MinValue);

    public override DateTimeOffset GetUtcNow()
    {
        var stamp = Volatile.Read(ref _stampMs);
        return stamp == long.MinValue ? inner.GetUtcNow() : DateTimeOffset.FromUnixTimeMilliseconds(stamp);
    }

    public override long GetTimestamp() => inner.GetTimestamp();

    public override long TimestampFrequency => inner.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        inner.CreateTimer(callback, state, dueTime, period);
}
