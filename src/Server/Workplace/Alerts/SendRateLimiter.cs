namespace TeamComms.Server.Workplace.Alerts;

/// <summary>A sliding window per sender: at most N sends per window, on the injected clock.</summary>
internal sealed class SendRateLimiter(TimeProvider time, int limit, TimeSpan window)
{
    private readonly Dictionary<long, Queue<long>> _sends = [];
    private readonly Lock _lock = new();

    /// <summary>Takes one send for <paramref name="senderKey"/>; false with the seconds until one is free when the window is full.</summary>
    public bool TryTake(long senderKey, out int retryAfterSeconds)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var windowMs = (long)window.TotalMilliseconds;
        lock (_lock)
        {
            if (!_sends.TryGetValue(senderKey, out var sends))
            {
                _sends[senderKey] = sends = new Queue<long>();
            }
            while (sends.Count > 0 && sends.Peek() <= now - windowMs)
            {
                sends.Dequeue();
            }
            if (sends.Count >= limit)
            {
                retryAfterSeconds = (int)Math.Max(1, (sends.Peek() + windowMs - now + 999) / 1000);
                return false;
            }
            sends.Enqueue(now);
            retryAfterSeconds = 0;
            return true;
        }
    }
}
