namespace TeamComms.Server.Connections;

/// <summary>A per-connection token bucket on an injected clock. Not thread-safe: one reader loop owns it.</summary>
internal sealed class TokenBucket
{
    private readonly double _rate;
    private readonly double _burst;
    private readonly TimeProvider _time;
    private double _tokens;
    private long _last;

    public TokenBucket(double ratePerSecond, double burst, TimeProvider time)
    {
        _rate = ratePerSecond;
        _burst = burst;
        _time = time;
        _tokens = burst;
        _last = time.GetTimestamp();
    }

    public bool TryTake()
    {
        var now = _time.GetTimestamp();
        _tokens = Math.Min(_burst, _tokens + (_time.GetElapsedTime(_last, now).TotalSeconds * _rate));
        _last = now;
        if (_tokens < 1)
        {
            return false;
        }
        _tokens -= 1;
        return true;
    }

    /// <summary>Seconds until one token is available.</summary>
    public double SecondsUntilNext => _tokens >= 1 ? 0 : (1 - _tokens) / _rate;
}
