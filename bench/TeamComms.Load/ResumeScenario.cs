namespace TeamComms.Load;

/// <summary>Placeholder replaced below.</summary>
internal static class ResumeScenario
{
    public static Task<Report> RunAsync(LoadOptions o, ILoadTarget target, CancellationToken ct) =>
        throw new InvalidOperationException("not yet");
}
