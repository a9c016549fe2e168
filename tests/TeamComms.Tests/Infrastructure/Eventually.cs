namespace TeamComms.Tests.Infrastructure;

/// <summary>
/// Waits for a condition on state that changes in the background without a signal to wait on (for example a row a
/// server's room log removes). It re-checks every 20 ms of real time; it never waits for a product timer.
/// </summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, int timeoutSeconds = 20, string? what = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("condition not met: " + (what ?? "(unnamed)"));
            }
            await Task.Delay(20);
        }
    }
}
