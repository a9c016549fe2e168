using TeamComms.Load.Targets;

namespace TeamComms.Load;

/// <summary>
/// One client reconnecting to --resume-rooms rooms with --resume-missed missed events each, timed from reconnect to
/// its last missed event. TeamComms only: NATS core and a ws broadcaster keep nothing to resume from.
/// </summary>
internal static class ResumeScenario
{
    public static async Task<Report> RunAsync(LoadOptions o, ILoadTarget target, CancellationToken ct)
    {
        if (target is not TeamCommsTarget teamcomms)
        {
            throw new InvalidOperationException($"--resume-rooms needs a server that stores events; {target.Name} keeps nothing to resume from");
        }
        var (ms, events, members, run) = await teamcomms.ResumeAsync(o, o.ResumeRooms, o.ResumeMissed, ct).ConfigureAwait(false);
        var report = new Report(o, target.Name) { ResumeMs = ms, ResumeEvents = events, Connections = o.ResumeRooms + 1 };
        report.FillResume(run, members, target);
        foreach (var m in members)
        {
            await m.Connection.DisposeAsync().ConfigureAwait(false);
        }
        return report;
    }
}
