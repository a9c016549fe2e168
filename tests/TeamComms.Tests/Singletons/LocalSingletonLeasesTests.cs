using TeamComms.Server.Singletons;

namespace TeamComms.Tests.Singletons;

public sealed class LocalSingletonLeasesTests
{
    [Fact]
    public async Task OneNode_WorkRunsUntilStopping_LeaseHeld()
    {
        var leases = new LocalSingletonLeases();
        using var stopping = new CancellationTokenSource();
        var started = new TaskCompletionSource();
        var observedCancel = false;
        var run = leases.RunAsync("reminders", async ct =>
        {
            started.SetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                observedCancel = true;
                throw;
            }
        }, stopping.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(leases.IsHeld("reminders"));
        Assert.False(run.IsCompleted);
        await stopping.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(observedCancel);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Reminders")]
    [InlineData("a.b")]
    [InlineData("a*")]
    public async Task BadName_Refused(string name)
    {
        var leases = new LocalSingletonLeases();
        await Assert.ThrowsAsync<ArgumentException>(() => leases.RunAsync(name, _ => Task.CompletedTask, CancellationToken.None));
    }
}
