using System.Diagnostics;
using TeamComms.Load.Targets;

namespace TeamComms.Load;

/// <summary>Runs one scenario against one target and measures it.</summary>
internal static class LoadRunner
{
    public static async Task<Report> RunAsync(LoadOptions o)
    {
        await using ILoadTarget target = o.Target switch
        {
            "nats" => new NatsTarget(o),
            "ws" => new WsTarget(o),
            _ => new TeamCommsTarget(o),
        };
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(30));
        await target.StartAsync(cts.Token).ConfigureAwait(false);
        if (o.Idle > 0)
        {
            return await IdleAsync(o, target, cts.Token).ConfigureAwait(false);
        }
        if (o.ResumeRooms > 0)
        {
            return await ResumeScenario.RunAsync(o, target, cts.Token).ConfigureAwait(false);
        }
        return await DeliveryAsync(o, target, cts.Token).ConfigureAwait(false);
    }

    private static async Task<Report> DeliveryAsync(LoadOptions o, ILoadTarget target, CancellationToken ct)
    {
        var report = new Report(o, target.Name);
        var setup = Stopwatch.StartNew();
        await target.ProvisionAsync(o.Rooms, o.RoomSize, ct).ConfigureAwait(false);
        var run = new Run(o, o.Rooms, o.RoomSize);
        target.Attach(run);
        var members = new List<Member>(o.Rooms * o.RoomSize);
        var slowEvery = o.SlowPercent > 0 ? (int)Math.Round(100 / o.SlowPercent) : 0;
        foreach (var room in run.Rooms)
        {
            room.Members = Enumerable.Range(0, o.RoomSize)
                .Select(i => new Member(run, room.Index, i, slowEvery > 0 && o.RoomSize > 1 && (i % slowEvery) == slowEvery - 1))
                .ToArray();
            room.Senders = room.Members.Where(m => !m.Slow).Take(o.Senders).ToArray();
            members.AddRange(room.Members);
        }
        await ConnectAllAsync(members, target, ct).ConfigureAwait(false);
        report.SetupSeconds = setup.Elapsed.TotalSeconds;
        report.Connections = members.Count;
        report.SlowMembers = members.Count(m => m.Slow);

        var freq = Stopwatch.Frequency;
        var t0 = Stopwatch.GetTimestamp();
        var measureStart = t0 + (long)(o.WarmupSeconds * freq);
        var measureEnd = measureStart + (long)(o.Seconds * freq);
        if (o.Rate > 0)
        {
            run.SlowRatePerSecond = o.Rate / o.Rooms / 10;
        }
        run.Begin(measureStart, measureEnd);
        var cpu = new CpuWindow(target.Server, o.CpuPids);
        var cpuTask = cpu.SampleAsync(measureStart, measureEnd);
        if (run.MaxRate)
        {
            var senders = run.Rooms.Select(r => Task.Run(() => SendWindowedAsync(run, r))).ToArray();
            if (o.SlowPercent > 0)
            {
                _ = Task.Run(() => TrackSlowRateAsync(run), CancellationToken.None);
            }
            await WaitUntilAsync(measureEnd).ConfigureAwait(false);
            run.StopSending();
            await Task.WhenAll(senders).ConfigureAwait(false);
        }
        else
        {
            var scheduler = new Thread(() => SendOpenLoop(run, t0)) { Name = "load-scheduler", IsBackground = true, Priority = ThreadPriority.AboveNormal };
            scheduler.Start();
            await WaitUntilAsync(measureEnd).ConfigureAwait(false);
            scheduler.Join();
            run.StopSending();
        }
        await cpuTask.ConfigureAwait(false);

        // Drain: wait until every member has every message that was accepted, or nothing moves for 15 s (an evicted member may take a few seconds to be closed by the server and resume).
        var drain = Stopwatch.StartNew();
        long expected = run.Rooms.Sum(r => (long)(r.Sent - r.FailedCount) * r.Members.Length);
        long last = -1;
        var lastChange = Stopwatch.StartNew();
        while (drain.Elapsed.TotalSeconds < o.DrainSeconds)
        {
            var got = members.Sum(m => m.Received);
            if (got >= expected)
            {
                break;
            }
            if (got != last)
            {
                last = got;
                lastChange.Restart();
            }
            else if (lastChange.Elapsed.TotalSeconds > 15)
            {
                break;
            }
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
        report.DrainSeconds = drain.Elapsed.TotalSeconds;

        var latency = run.Latency();
        report.Fill(run, members, latency, cpu, target);
        if (target is TeamCommsTarget teamcomms)
        {
            report.SetServerMetrics(await teamcomms.ServerMetricsAsync(ct).ConfigureAwait(false));
        }
        await Parallel.ForEachAsync(members, new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (m, _) => await m.Connection.DisposeAsync().ConfigureAwait(false)).ConfigureAwait(false);
        return report;
    }

    /// <summary>At the maximum rate, slow members read at a tenth of what their room sends, measured every 0.5 s.</summary>
    private static async Task TrackSlowRateAsync(Run run)
    {
        long last = run.Rooms.Sum(r => (long)r.Sent);
        var clock = Stopwatch.StartNew();
        while (run.Sending)
        {
            await Task.Delay(500).ConfigureAwait(false);
            var now = run.Rooms.Sum(r => (long)r.Sent);
            var perRoom = (now - last) / clock.Elapsed.TotalSeconds / run.RoomCount;
            run.SlowRatePerSecond = Math.Max(1, perRoom / 10);
            last = now;
            clock.Restart();
        }
    }

    private static async Task ConnectAllAsync(List<Member> members, ILoadTarget target, CancellationToken ct) =>
        await Parallel.ForEachAsync(members, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct },
            async (m, token) => m.Connection = await target.ConnectAsync(m, token).ConfigureAwait(false)).ConfigureAwait(false);

    /// <summary>Maximum rate: each room keeps up to --window messages in flight (sent, not yet back at its sender).</summary>
    private static async Task SendWindowedAsync(Run run, RoomState room)
    {
        while (true)
        {
            await room.Window.WaitAsync().ConfigureAwait(false);
            if (!run.Sending)
            {
                return;
            }
            var k = room.NextIndex();
            var now = Stopwatch.GetTimestamp();
            if (now >= run.MeasureStart && now < run.MeasureEnd)
            {
                room.SentInWindow++;
            }
            room.SenderOf(k).Connection.Send(k, now);
        }
    }

    /// <summary>
    /// Offered rate, open loop: message j is due at t0 + j/rate whatever happened to earlier ones, goes to room
    /// j mod rooms, and carries its due time, so latency is measured from when it should have been sent.
    /// </summary>
    private static void SendOpenLoop(Run run, long t0)
    {
        var rate = run.Options.Rate;
        var freq = (double)Stopwatch.Frequency;
        long j = 0;
        while (true)
        {
            var now = Stopwatch.GetTimestamp();
            if (now >= run.MeasureEnd)
            {
                return;
            }
            var due = (long)((now - t0) / freq * rate);
            for (; j <= due; j++)
            {
                var intended = t0 + (long)(j / rate * freq);
                if (intended >= run.MeasureEnd)
                {
                    return;
                }
                var room = run.Rooms[j % run.RoomCount];
                var k = room.NextIndex();
                if (intended >= run.MeasureStart)
                {
                    room.SentInWindow++;
                }
                room.SenderOf(k).Connection.Send(k, intended);
            }
            var next = t0 + (long)(j / rate * freq);
            var wait = (next - Stopwatch.GetTimestamp()) / freq;
            if (wait > 0.002)
            {
                Thread.Sleep(1);
            }
            else if (wait > 0)
            {
                Thread.Yield();
            }
        }
    }

    private static async Task WaitUntilAsync(long timestamp)
    {
        var left = timestamp - Stopwatch.GetTimestamp();
        if (left > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(left / (double)Stopwatch.Frequency)).ConfigureAwait(false);
        }
    }

    private static async Task<Report> IdleAsync(LoadOptions o, ILoadTarget target, CancellationToken ct)
    {
        var report = new Report(o, target.Name);
        await target.ProvisionIdleAsync(o.Idle, ct).ConfigureAwait(false);
        // Settle, then take the baseline after one warm connection so that one-off start-up costs are not counted.
        var first = await target.ConnectIdleAsync(0, ct).ConfigureAwait(false);
        await Task.Delay(1000, ct).ConfigureAwait(false);
        var before = target.Server?.Memory().RssKiB ?? 0;
        var connections = new IAsyncDisposable[o.Idle];
        connections[0] = first;
        await Parallel.ForEachAsync(Enumerable.Range(1, o.Idle - 1), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct },
            async (n, token) => connections[n] = await target.ConnectIdleAsync(n, token).ConfigureAwait(false)).ConfigureAwait(false);
        await Task.Delay(TimeSpan.FromSeconds(Math.Max(2, o.Seconds)), ct).ConfigureAwait(false);
        if (target.Server is { } server)
        {
            var (rss, peak) = server.Memory();
            report.ServerRssMiB = rss / 1024.0;
            report.ServerPeakRssMiB = peak / 1024.0;
            report.RssPerConnectionKiB = (rss - before) / (double)(o.Idle - 1);
            report.ServerCpuSeconds = server.CpuSeconds();
        }
        report.Connections = o.Idle;
        await Parallel.ForEachAsync(connections, new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (c, _) => await c.DisposeAsync().ConfigureAwait(false)).ConfigureAwait(false);
        return report;
    }
}

/// <summary>The server's CPU seconds over the measurement window.</summary>
internal sealed class CpuWindow(ServerProcess? server, IReadOnlyList<int> pids)
{
    public double? Seconds { get; private set; }

    public async Task SampleAsync(long start, long end)
    {
        if (server is null && pids.Count == 0)
        {
            return;
        }
        await Task.Delay(TimeSpan.FromSeconds(Math.Max(0, (start - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency))).ConfigureAwait(false);
        var a = Sample();
        await Task.Delay(TimeSpan.FromSeconds(Math.Max(0, (end - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency))).ConfigureAwait(false);
        Seconds = Sample() - a;
    }

    /// <summary>The started server's CPU, or the sum over --cpu-pids (cluster nodes and nats-servers) from /proc.</summary>
    private double Sample() => server?.CpuSeconds() ?? pids.Sum(ProcCpuSeconds);

    private static double ProcCpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // Fields after the name start at field 3 (state): utime is field 14, stime 15, in clock ticks (100 per second on Linux).
        return (long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture)) / 100.0;
    }
}
