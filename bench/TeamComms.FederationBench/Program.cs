using System.Diagnostics;
using System.Globalization;
using TeamComms.Client;
using TeamComms.FederationBench;

// Cross-server delivery for one room of N members split over two federating servers (a.bench hosts the room,
// b.bench follows), next to the same room on a single server. Each server is its own process on loopback; this
// process runs every client. See docs/benchmarks.md.
var options = Options.Parse(args);
var results = new List<Result>();
foreach (var mode in options.Modes)
{
    results.AddRange(await Scenario.RunAsync(mode, options));
}
Console.WriteLine();
Console.WriteLine($"| setup | offered msg/s | deliveries/s (of offered) | complete | p50 / p99 ms: hub→hub | hub→follower | follower→hub | follower→follower | servers' CPU | clients' CPU |");
Console.WriteLine("| --- | ---: | ---: | --- | --- | --- | --- | --- | ---: | ---: |");
foreach (var r in results)
{
    Console.WriteLine(r.ToMarkdown());
}

internal sealed record Options(string[] Modes, int Members, int Seconds, int[] Rates, int Senders, int Probes, bool SyncWrites)
{
    public static Options Parse(string[] args)
    {
        string Get(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        return new Options(
            Get("--modes", "single,federated").Split(','),
            int.Parse(Get("--members", "1000"), CultureInfo.InvariantCulture),
            int.Parse(Get("--seconds", "10"), CultureInfo.InvariantCulture),
            Get("--rates", "50,100,200,400").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(),
            int.Parse(Get("--senders", "10"), CultureInfo.InvariantCulture),
            int.Parse(Get("--probes", "20"), CultureInfo.InvariantCulture),
            Get("--sync", "true") == "true");
    }
}

internal sealed record Result(string Mode, int Rate, double DeliveriesPerSecond, double Expected, bool Complete,
    Dictionary<string, (double P50, double P99, int N)> Latency, double CpuPercent, double ClientCpuPercent)
{
    public string ToMarkdown()
    {
        string L(string key) => Latency.TryGetValue(key, out var l) ? $"{l.P50:0.0} / {l.P99:0.0}" : "–";
        return $"| {Mode} | {Rate} | {DeliveriesPerSecond:N0} ({DeliveriesPerSecond / Expected:P0}) | {(Complete ? "yes" : "NO")} | {L("a→a")} | {L("a→b")} | {L("b→a")} | {L("b→b")} | {CpuPercent:0}% | {ClientCpuPercent:0}% |";
    }
}

internal static class Scenario
{
    private static int s_run;

    public static async Task<List<Result>> RunAsync(string mode, Options o)
    {
        var federated = mode == "federated";
        Console.WriteLine($"== {mode}: {o.Members} members, {o.Senders} senders, rates {string.Join(",", o.Rates)} msg/s, {o.Seconds} s each");
        var nodes = new List<ServerNode> { await ServerNode.StartAsync(federated ? "a.bench" : "single.bench", federated, o.SyncWrites) };
        if (federated)
        {
            nodes.Add(await ServerNode.StartAsync("b.bench", true, o.SyncWrites));
        }
        try
        {
            var admins = new List<TeamCommsHttpClient>();
            foreach (var n in nodes)
            {
                var admin = new TeamCommsHttpClient(new Uri(n.BaseUrl));
                await admin.LoginAsync("admin", ServerNode.AdminPassword);
                admins.Add(admin);
            }
            if (federated)
            {
                await admins[0].AddPartnerAsync(nodes[1].Name, nodes[1].BaseUrl);
                await admins[1].AddPartnerAsync(nodes[0].Name, nodes[0].BaseUrl);
            }
            // Members: split evenly over the servers.
            var members = new List<(ServerNode Node, string UserId, string Token)>();
            for (var s = 0; s < nodes.Count; s++)
            {
                var count = o.Members / nodes.Count;
                var names = Enumerable.Range(0, count).Select(i => ($"m{i}", $"Member {i}")).ToList();
                await admins[s].CreateUsersBulkAsync(names, "member-password");
                var tokens = new string[count];
                await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
                {
                    using var http = new TeamCommsHttpClient(new Uri(nodes[s].BaseUrl));
                    tokens[i] = (await http.LoginAsync($"m{i}", "member-password", null, ct)).AccessToken;
                });
                members.AddRange(tokens.Select((t, i) => (nodes[s], $"m{i}@{nodes[s].Name}", t)));
            }
            var ws = (ServerNode n) => new TeamCommsHttpClient(new Uri(n.BaseUrl)).WebSocketUrl;
            var receivers = members.Select((m, i) => new Receiver(m.Node.Name, m.Token, ws(m.Node), probe: (i % (o.Members / o.Probes)) == 0)).ToList();
            foreach (var r in receivers)
            {
                await r.ConnectAsync();
            }
            using var stop = new CancellationTokenSource();
            var loops = receivers.Select(r => Task.Run(() => r.RunAsync(stop.Token))).ToList();

            // The room: created on the first server with everyone invited; everyone joins.
            await using var owner = await TeamCommsConnection.ConnectAsync(ws(members[0].Node), members[0].Token);
            var room = await owner.CreateRoomAsync("bench", invite: members.Skip(1).Select(m => m.UserId));
            var setup = Stopwatch.StartNew();
            await Parallel.ForEachAsync(members.Skip(1), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (m, ct) =>
            {
                await using var c = await TeamCommsConnection.ConnectAsync(ws(m.Node), m.Token, new ClientOptions { AutoReconnect = false }, ct);
                for (var attempt = 0; ; attempt++)
                {
                    try
                    {
                        await c.JoinAsync(room, ct);
                        return;
                    }
                    catch (TeamCommsException ex) when (attempt < 600 && ex.CodeName is "not_invited" or "unknown_room")
                    {
                        await Task.Delay(100, ct); // the invitation is still on its way to the member's server
                    }
                }
            });
            Console.WriteLine($"   room {room}: {o.Members} members joined in {setup.Elapsed.TotalSeconds:0.0} s");

            // Senders: members spread over the servers, each sending its share of the rate.
            var senderMembers = Enumerable.Range(0, o.Senders).Select(i => members[(i * members.Count / o.Senders) + 1]).ToList();
            var senders = new List<(string Server, TeamCommsConnection Connection)>();
            foreach (var m in senderMembers)
            {
                senders.Add((m.Node.Name[..1], await TeamCommsConnection.ConnectAsync(ws(m.Node), m.Token)));
            }
            var results = new List<Result>();
            long totalSent = 0;
            // Unmeasured warm-up: the servers' JIT (tiered, with PGO) settles before the first figure.
            Console.WriteLine("   warm-up (not measured)");
            await MeasureAsync(mode + " warm-up", o.Rates.Max() / 2, o with { Seconds = 5 }, senders, receivers, nodes, room, () => totalSent, n => totalSent += n);
            foreach (var rate in o.Rates)
            {
                results.Add(await MeasureAsync(mode, rate, o, senders, receivers, nodes, room, () => totalSent, n => totalSent += n));
            }
            foreach (var (_, c) in senders)
            {
                await c.DisposeAsync();
            }
            await stop.CancelAsync();
            foreach (var r in receivers)
            {
                r.Abort();
            }
            await Task.WhenAll(loops);
            foreach (var a in admins)
            {
                a.Dispose();
            }
            return results;
        }
        finally
        {
            foreach (var n in nodes)
            {
                await n.DisposeAsync();
            }
        }
    }

    private static async Task<Result> MeasureAsync(string mode, int rate, Options o, List<(string Server, TeamCommsConnection Connection)> senders,
        List<Receiver> receivers, List<ServerNode> nodes, string room, Func<long> sentSoFar, Action<long> addSent)
    {
        // Open loop: each sender fires its share of the rate on a fixed schedule, without waiting for acks.
        var run = Interlocked.Increment(ref s_run);
        var perSender = (double)rate / senders.Count;
        var interval = TimeSpan.FromSeconds(1 / perSender);
        var warmup = TimeSpan.FromSeconds(2);
        var total = warmup + TimeSpan.FromSeconds(o.Seconds);
        var clock = Stopwatch.StartNew();
        var acks = new List<Task>();
        var sentInWindow = 0L;
        long windowStart = 0, windowEnd = 0;
        long eventsAtStart = 0;
        double cpuAtStart = 0;
        double clientCpuAtStart = 0;
        var started = false;
        var tasks = senders.Select((s, si) => Task.Run(async () =>
        {
            var n = 0;
            var next = TimeSpan.FromSeconds(si * interval.TotalSeconds / senders.Count);
            var local = new List<Task>();
            while (next < total)
            {
                var wait = next - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }
                var body = string.Create(CultureInfo.InvariantCulture, $"{s.Server}|{si}.{run}|{n}|{Stopwatch.GetTimestamp()}");
                local.Add(s.Connection.SendTextAsync(room, body));
                if (next >= warmup)
                {
                    Interlocked.Increment(ref sentInWindow);
                }
                n++;
                next += interval;
            }
            await Task.WhenAll(local);
            return n;
        })).ToList();
        await Task.Delay(warmup);
        windowStart = Stopwatch.GetTimestamp();
        eventsAtStart = receivers.Sum(r => r.Events);
        cpuAtStart = nodes.Sum(n => n.CpuSeconds);
        clientCpuAtStart = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        started = true;
        await Task.Delay(TimeSpan.FromSeconds(o.Seconds));
        windowEnd = Stopwatch.GetTimestamp();
        var eventsInWindow = receivers.Sum(r => r.Events) - eventsAtStart;
        var cpu = nodes.Sum(n => n.CpuSeconds) - cpuAtStart;
        var clientCpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - clientCpuAtStart;
        var sent = (await Task.WhenAll(tasks)).Sum();
        addSent(sent);
        // Drain: every member should end up with every message exactly once.
        var expectedTotal = sentSoFar() * receivers.Count;
        var drain = Stopwatch.StartNew();
        while (receivers.Sum(r => r.Events) < expectedTotal && drain.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(100);
        }
        var complete = receivers.Sum(r => r.Events) == expectedTotal && receivers.All(r => r.Duplicates == 0);
        var seconds = Stopwatch.GetElapsedTime(windowStart, windowEnd).TotalSeconds;
        var latency = new Dictionary<string, (double, double, int)>();
        foreach (var group in receivers.Where(r => r.Probe).SelectMany(r =>
        {
            lock (r.Latencies)
            {
                return r.Latencies.Where(l => l.Sent >= windowStart && l.Sent <= windowEnd).Select(l => (Key: $"{l.From}→{r.Server[..1]}", l.Micros)).ToList();
            }
        }).GroupBy(x => x.Key.Replace("s→s", "a→a", StringComparison.Ordinal)))
        {
            var sorted = group.Select(x => x.Micros / 1000).Order().ToList();
            latency[group.Key] = (sorted[sorted.Count / 2], sorted[(int)(sorted.Count * 0.99)], sorted.Count);
        }
        var result = new Result(mode, rate, eventsInWindow / seconds, rate * (double)receivers.Count, complete, latency,
            100 * cpu / seconds / Environment.ProcessorCount, 100 * clientCpu / seconds / Environment.ProcessorCount);
        _ = started;
        Console.WriteLine("   " + result.ToMarkdown());
        return result;
    }
}
