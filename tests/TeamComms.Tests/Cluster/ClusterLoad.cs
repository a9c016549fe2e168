using System.Collections.Concurrent;
using System.Diagnostics;
using TeamComms.Client;
using TeamComms.Protocol.Frames;

namespace TeamComms.Tests.Cluster;

/// <summary>
/// Writers that keep sending to rooms through the nodes while a test breaks things. Each send has a unique
/// transaction id; a send that fails (error, closed connection, timeout) is retried with the same id on the next
/// node, as a client would. Every acknowledgement is recorded with its seq and event id, and the time it arrived, so
/// a test can check that no acknowledged event is lost or duplicated and measure the write outage.
/// </summary>
internal sealed class ClusterLoad : IAsyncDisposable
{
    private readonly ClusterHarness _cluster;
    private readonly List<Task> _writers = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private ClusterLoad(ClusterHarness cluster, IReadOnlyList<string> rooms, IReadOnlyList<string> tokens)
    {
        _cluster = cluster;
        Rooms = rooms;
        Tokens = tokens;
    }

    public IReadOnlyList<string> Rooms { get; }

    public IReadOnlyList<string> Tokens { get; }

    public ConcurrentBag<(string Room, string Body, long Seq, string EventId, double AtSeconds)> Acks { get; } = [];

    public ConcurrentBag<string> Failures { get; } = [];

    public double Now => _clock.Elapsed.TotalSeconds;

    /// <summary>Creates three users and <paramref name="roomCount"/> rooms they all belong to, and starts <paramref name="writers"/> writers spread over the nodes.</summary>
    public static async Task<ClusterLoad> StartAsync(ClusterHarness cluster, TeamCommsHttpClient admin, int roomCount = 3, int writers = 6, string users = "writer")
    {
        var tokens = new List<string>();
        for (var u = 0; u < 3; u++)
        {
            await admin.CreateUserAsync($"{users}{u}", $"Writer {u}", password: $"writer-password-{u}");
            using var http = new TeamCommsHttpClient(cluster.Url(u));
            tokens.Add((await http.LoginAsync($"{users}{u}", $"writer-password-{u}")).AccessToken);
        }
        var rooms = new List<string>();
        await using (var owner = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(0), tokens[0]))
        {
            for (var r = 0; r < roomCount; r++)
            {
                rooms.Add(await owner.CreateRoomAsync($"load{r}", invite: [$"{users}1@proc.test", $"{users}2@proc.test"]));
            }
        }
        for (var u = 1; u < 3; u++)
        {
            await using var member = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(u), tokens[u]);
            foreach (var room in rooms)
            {
                await member.JoinAsync(room);
            }
        }
        var load = new ClusterLoad(cluster, rooms, tokens);
        for (var w = 0; w < writers; w++)
        {
            var writer = w;
            load._writers.Add(Task.Run(() => load.WriteAsync(writer, writer % 3, load._stop.Token)));
        }
        return load;
    }

    /// <summary>Adds writers that start on <paramref name="node"/> (writers move to the next node only when a send fails, so a restarted node gets no traffic otherwise).</summary>
    public void AddWriters(int node, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var writer = _writers.Count;
            _writers.Add(Task.Run(() => WriteAsync(writer, node, _stop.Token)));
        }
    }

    private async Task WriteAsync(int writer, int startNode, CancellationToken ct)
    {
        var node = startNode;
        var token = Tokens[startNode];
        TeamCommsConnection? connection = null;
        for (var n = 0; !ct.IsCancellationRequested; n++)
        {
            var room = Rooms[(writer + n) % Rooms.Count];
            var body = $"w{writer}-{n}";
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
            while (true)
            {
                try
                {
                    connection ??= await ConnectAsync(node, token);
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                    AckFrame ack = await connection.SendTextAsync(room, body, transactionId: body, ct: timeout.Token);
                    Acks.Add((room, body, ack.Seq, ack.EventId.ToString(), Now));
                    break;
                }
                catch (Exception ex) when (DateTime.UtcNow < deadline)
                {
                    // Retry the same transaction on the next node.
                    Failures.Add($"{Now:F2}s node{node + 1} {body}: {ex.GetType().Name} {ex.Message}");
                    if (connection is not null)
                    {
                        await connection.DisposeAsync();
                        connection = null;
                    }
                    node = (node + 1) % 3;
                    if (ct.IsCancellationRequested && n > 0)
                    {
                        // Stopping: this send is abandoned unacknowledged, which the pass condition allows.
                        return;
                    }
                    await Task.Delay(100, CancellationToken.None);
                }
            }
        }
        if (connection is not null)
        {
            await connection.DisposeAsync();
        }
    }

    private async Task<TeamCommsConnection> ConnectAsync(int node, string token)
    {
        if (_cluster.Nodes[node] is not { } process)
        {
            throw new InvalidOperationException($"node{node + 1} is down");
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        return await TeamCommsConnection.ConnectAsync(new TeamCommsHttpClient(process.BaseUrl).WebSocketUrl, token, ct: timeout.Token);
    }

    /// <summary>The longest time without any acknowledgement between <paramref name="from"/> and <paramref name="to"/> (seconds on this load's clock).</summary>
    public double LongestGap(double from, double to)
    {
        var times = Acks.Select(a => a.AtSeconds).Where(t => t >= from && t <= to).Order().ToList();
        times.Insert(0, from);
        times.Add(to);
        return times.Zip(times.Skip(1), (a, b) => b - a).Max();
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_writers).WaitAsync(TimeSpan.FromSeconds(150));
    }

    /// <summary>
    /// The pass condition: on every live node each room's log is dense and identical (<see cref="ClusterAssert"/>);
    /// every acknowledged event is in it at its acknowledged seq with its acknowledged id; no body appears twice.
    /// </summary>
    public async Task AssertConsistentAsync(TeamCommsHttpClient admin)
    {
        await ClusterAssert.IdenticalLogsAsync(_cluster, admin, Rooms, Tokens);
        var live = Array.FindIndex(_cluster.Nodes, n => n is not null);
        await using var reader = await ClusterBasicsTests.ConnectEventuallyAsync(_cluster.Url(live), Tokens[0]);
        var bodies = new HashSet<string>(StringComparer.Ordinal);
        var byRoom = new Dictionary<string, Dictionary<long, TeamComms.Protocol.Events.RoomEvent>>();
        foreach (var room in Rooms)
        {
            var events = await ClusterAssert.FullHistoryAsync(reader, room);
            byRoom[room] = events.ToDictionary(e => e.Seq);
            foreach (var e in events.Where(e => e.Type == "message"))
            {
                var text = TeamComms.Protocol.MsgPackValue.ReadMap(e.Content!.Value)["body"] as string;
                Assert.True(bodies.Add(text!), $"duplicate event for transaction {text}");
            }
        }
        foreach (var ack in Acks)
        {
            Assert.True(byRoom[ack.Room].TryGetValue(ack.Seq, out var stored), $"acknowledged {ack.Body} at seq {ack.Seq} is missing");
            Assert.Equal(ack.EventId, stored!.Id.ToString());
        }
        Assert.NotEmpty(Acks);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }
        _stop.Dispose();
    }
}
