using System.Diagnostics;
using System.Globalization;
using HdrHistogram;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;

// Capacity of the cluster log's publish side (docs/benchmarks.md, "Cluster mode": "One stream or K shard streams").
// Publishes entries the way JetStreamRoomLog does — one publish in flight per publisher, each carrying a batch of
// proposals, each with a message id — into K streams of 3 replicas (file storage), and reports how many entries and
// proposals per second the NATS cluster acknowledges, with the acknowledgement latency. No TeamComms node runs: this
// isolates the engine, to show whether one stream or K shards limit the cluster's write path on this machine.
//
//   TeamComms.LogBench --url nats://u:p@127.0.0.1:4222 --streams 1 --publishers 1 --batch 256 --bytes 160 --seconds 10
var options = Options.Parse(args);
await using var nats = new NatsConnection(NatsOpts.Default with { Url = options.Url, RequestTimeout = TimeSpan.FromSeconds(10) });
await nats.ConnectAsync();
var js = nats.CreateJetStreamContext();
var run = Guid.NewGuid().ToString("N")[..8];
var streams = new List<string>();
for (var k = 0; k < options.Streams; k++)
{
    var name = $"LOGBENCH_{run}_{k}";
    await js.CreateStreamAsync(new StreamConfig(name, [$"logbench.{run}.{k}.>"])
    {
        Storage = StreamConfigStorage.File,
        NumReplicas = options.Replicas,
        DuplicateWindow = TimeSpan.FromMinutes(2),
    });
    streams.Add(name);
}

// An entry of `batch` proposals of `bytes` bytes each (random: sealed entries do not compress).
var entry = new byte[options.Batch * (options.Bytes + 2)];
Random.Shared.NextBytes(entry);
var histogram = new LongHistogram(TimeSpan.FromSeconds(30).Ticks, 3);
long entries = 0;
long failures = 0;
var measuring = false;
var stop = new CancellationTokenSource();

async Task PublishLoop(int publisher)
{
    var stream = publisher % options.Streams;
    var subject = $"logbench.{run}.{stream}.p{publisher}";
    var counter = 0L;
    while (!stop.IsCancellationRequested)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var ack = await js.PublishAsync(subject, entry, opts: new NatsJSPubOpts { MsgId = $"{run}-{publisher}-{++counter}" });
            ack.EnsureSuccess();
        }
        catch (Exception) when (!stop.IsCancellationRequested)
        {
            Interlocked.Increment(ref failures);
            continue;
        }
        if (Volatile.Read(ref measuring))
        {
            var ticks = Stopwatch.GetElapsedTime(started).Ticks;
            lock (histogram)
            {
                histogram.RecordValue(ticks);
            }
            Interlocked.Increment(ref entries);
        }
    }
}

var loops = Enumerable.Range(0, options.Publishers).Select(p => Task.Run(() => PublishLoop(p))).ToArray();
await Task.Delay(TimeSpan.FromSeconds(options.Warmup));
Volatile.Write(ref measuring, true);
var clock = Stopwatch.StartNew();
await Task.Delay(TimeSpan.FromSeconds(options.Seconds));
Volatile.Write(ref measuring, false);
var elapsed = clock.Elapsed.TotalSeconds;
await stop.CancelAsync();
await Task.WhenAll(loops.Select(l => l.ContinueWith(_ => { }, TaskScheduler.Default)));
foreach (var s in streams)
{
    await js.DeleteStreamAsync(s);
}

double Ms(double percentile) => histogram.GetValueAtPercentile(percentile) / (double)TimeSpan.TicksPerMillisecond;
var inv = CultureInfo.InvariantCulture;
Console.WriteLine(string.Create(inv,
    $"{{\"streams\":{options.Streams},\"publishers\":{options.Publishers},\"batch\":{options.Batch},\"bytes\":{options.Bytes},\"replicas\":{options.Replicas}," +
    $"\"entries_per_s\":{entries / elapsed:F0},\"proposals_per_s\":{entries * options.Batch / elapsed:F0},\"mb_per_s\":{entries * entry.Length / elapsed / 1e6:F1}," +
    $"\"ack_p50_ms\":{Ms(50):F2},\"ack_p99_ms\":{Ms(99):F2},\"failures\":{failures},\"seconds\":{elapsed:F1}}}"));

internal sealed record Options(string Url, int Streams, int Publishers, int Batch, int Bytes, int Replicas, int Seconds, int Warmup)
{
    public static Options Parse(string[] args)
    {
        string Get(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        int Int(string name, int fallback) => int.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        var streams = Int("--streams", 1);
        return new Options(Get("--url", "nats://127.0.0.1:4222"), streams, Int("--publishers", streams), Int("--batch", 256),
            Int("--bytes", 160), Int("--replicas", 3), Int("--seconds", 10), Int("--warmup", 2));
    }
}
