using System.Collections.Concurrent;
using System.Diagnostics;
using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Server;

[Collection("processes")]
public class DurabilityTests
{
    private static readonly Dictionary<string, string> s_env = new() { ["TEAMCOMMS__ACCOUNTS__BOOTSTRAPPASSWORD"] = "admin-password-1" };

    [Fact]
    public async Task KillDashNine_DuringLoad_LosesNoAcknowledgedEvent()
    {
        var data = TempDirectory.Create("tc-kill");
        try
        {
            string room;
            string[] tokens;
            var acked = new ConcurrentDictionary<string, long>();
            await using (var server = await ServerProcess.StartAsync(data, s_env))
            {
                using var admin = new TeamCommsHttpClient(server.BaseUrl);
                await admin.LoginAsync("admin", "admin-password-1");
                var names = Enumerable.Range(0, 4).Select(i => $"writer{i}").ToList();
                await admin.CreateUsersBulkAsync(names.Select(n => (n, n)), "writer-password");
                tokens = new string[names.Count];
                for (var i = 0; i < names.Count; i++)
                {
                    using var http = new TeamCommsHttpClient(server.BaseUrl);
                    tokens[i] = (await http.LoginAsync(names[i], "writer-password")).AccessToken;
                }
                var ws = new TeamCommsHttpClient(server.BaseUrl).WebSocketUrl;
                await using (var owner = await TeamCommsConnection.ConnectAsync(ws, tokens[0]))
                {
                    room = await owner.CreateRoomAsync("durable", invite: names.Skip(1).Select(n => $"{n}@proc.test"));
                }
                var writers = new List<Task>();
                using var stop = new CancellationTokenSource();
                for (var w = 0; w < tokens.Length; w++)
                {
                    var token = tokens[w];
                    var id = w;
                    writers.Add(Task.Run(async () =>
                    {
                        try
                        {
                            await using var conn = await TeamCommsConnection.ConnectAsync(ws, token, new ClientOptions { AutoReconnect = false });
                            if (id > 0)
                            {
                                await conn.JoinAsync(room);
                            }
                            // Pipeline several sends at a time, like a busy client.
                            var inflight = new List<Task>();
                            for (var i = 0; !stop.IsCancellationRequested; i++)
                            {
                                var txn = $"w{id}-{i}";
                                inflight.Add(conn.SendTextAsync(room, txn, txn).ContinueWith(t =>
                                {
                                    if (t.IsCompletedSuccessfully)
                                    {
                                        acked[txn] = t.Result.Seq;
                                    }
                                }, TaskScheduler.Default));
                                if (inflight.Count >= 8)
                                {
                                    await Task.WhenAny(inflight);
                                    inflight.RemoveAll(t => t.IsCompleted);
                                }
                            }
                        }
                        catch (Exception ex) when (ex is ConnectionLostException or TeamCommsException or System.Net.WebSockets.WebSocketException or OperationCanceledException or TimeoutException)
                        {
                        }
                    }));
                }
                var sw = Stopwatch.StartNew();
                while (acked.Count < 500 && sw.Elapsed < TimeSpan.FromSeconds(60))
                {
                    await Task.Delay(20);
                }
                await server.KillAsync(); // SIGKILL mid-load
                await stop.CancelAsync();
                await Task.WhenAll(writers);
            }
            Assert.True(acked.Count >= 500, $"only {acked.Count} sends were acknowledged before the kill");

            await using var restarted = await ServerProcess.StartAsync(data, s_env);
            using var reader = new TeamCommsHttpClient(restarted.BaseUrl);
            await reader.LoginAsync("writer0", "writer-password");
            await using var conn2 = await TeamCommsConnection.ConnectAsync(reader.WebSocketUrl, reader.AccessToken!);
            var events = new List<RoomEvent>();
            long? from = 1;
            while (from is not null)
            {
                var page = await conn2.HistoryAsync(room, from, forward: true, limit: 500);
                events.AddRange(page.Events);
                from = page.Next;
            }
            Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Seq)); // dense
            Assert.Equal(-1, EventCodec.VerifyChain(events, null, 0)); // chain intact
            var bodies = events.Where(e => e.Type == EventTypes.Message).Select(e => (string)e.ContentMap["body"]!).ToList();
            Assert.Equal(bodies.Count, bodies.Distinct().Count()); // exactly once
            var stored = bodies.ToHashSet();
            var lost = acked.Keys.Where(k => !stored.Contains(k)).ToList();
            Assert.True(lost.Count == 0, $"{lost.Count} acknowledged events lost, e.g. {string.Join(", ", lost.Take(5))}");
            foreach (var (txn, seq) in acked)
            {
                Assert.Equal(txn, events[(int)seq - 1].ContentMap["body"]);
            }
        }
        finally
        {
            TempDirectory.Delete(data);
        }
    }

    [Fact]
    public async Task FirstStart_PrintsGeneratedAdminCredentialsOnce()
    {
        var data = TempDirectory.Create("tc-boot");
        try
        {
            string password;
            await using (var first = await ServerProcess.StartAsync(data))
            {
                var line = await WaitForLineAsync(first, "password:");
                password = line.Split("password:")[1].Trim();
                using var http = new TeamCommsHttpClient(first.BaseUrl);
                await http.LoginAsync("admin", password);
            }
            await using var second = await ServerProcess.StartAsync(data);
            Assert.DoesNotContain(second.Output, l => l.Contains("password:", StringComparison.Ordinal));
            using var again = new TeamCommsHttpClient(second.BaseUrl);
            await again.LoginAsync("admin", password);
        }
        finally
        {
            TempDirectory.Delete(data);
        }
    }

    private static async Task<string> WaitForLineAsync(ServerProcess process, string fragment)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (process.Output.FirstOrDefault(l => l.Contains(fragment, StringComparison.Ordinal)) is { } line)
            {
                return line;
            }
            await Task.Delay(20);
        }
        throw new TimeoutException($"no line containing '{fragment}'");
    }
}

[CollectionDefinition("processes", DisableParallelization = true)]
public class ProcessCollection;

public class UnsyncedWritesTests
{
    [Fact]
    public async Task SyncWritesOff_StillCommitsAndSurvivesACleanRestart()
    {
        var server = await TestServer.StartAsync(new() { ["TeamComms:Storage:SyncWrites"] = "false" });
        var alice = await server.CreateUserAsync();
        string room;
        await using (var a = await alice.ConnectAsync())
        {
            room = await a.CreateRoomAsync("fast");
            for (var i = 0; i < 50; i++)
            {
                await a.SendTextAsync(room, $"m{i}");
            }
        }
        server = await server.RestartAsync(new() { ["TeamComms:Storage:SyncWrites"] = "false" });
        await using (server)
        {
            await using var a2 = await TeamCommsConnection.ConnectAsync(server.WebSocketUrl, alice.Token);
            var page = await a2.HistoryAsync(room, forward: true, limit: 100);
            Assert.Equal(50, page.Events.Count(e => e.Type == EventTypes.Message));
        }
    }
}
