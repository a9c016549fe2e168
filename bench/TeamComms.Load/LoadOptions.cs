using System.Globalization;

namespace TeamComms.Load;

/// <summary>The command line. Every option has one meaning for every target, so runs compare.</summary>
internal sealed class LoadOptions
{
    public string Target { get; set; } = "teamcomms";
    public int RoomSize { get; set; } = 1000;
    public int Rooms { get; set; } = 1;
    public int Payload { get; set; } = 64;
    public double Seconds { get; set; } = 10;
    public double WarmupSeconds { get; set; } = 1;
    /// <summary>Offered messages per second across all rooms; 0 = the maximum (a window of 64 in flight per room).</summary>
    public double Rate { get; set; }
    public int Window { get; set; } = 64;
    /// <summary>Members per room that send, in turn (32: each stays far below the per-connection frame rate limit).</summary>
    public int Senders { get; set; } = 32;
    public bool Json { get; set; }
    public bool Sync { get; set; } = true;
    public int Idle { get; set; }
    public string? Url { get; set; }
    /// <summary>With --url: processes whose CPU counts as the server's (cluster nodes and nats-servers).</summary>
    public List<int> CpuPids { get; } = [];
    public double SlowPercent { get; set; }
    public int ResumeRooms { get; set; }
    public int ResumeMissed { get; set; } = 100;
    public string? ServerCpus { get; set; }
    public string? ServerDll { get; set; }
    public Dictionary<string, string> ServerSettings { get; } = new(StringComparer.Ordinal);
    public double DrainSeconds { get; set; } = 30;

    public const int MinPayload = TeamComms.Load.Payload.HeaderLength;

    public static string Usage => """
        TeamComms load generator: the same workload against TeamComms, NATS core or a Node `ws` broadcaster.

          --target teamcomms|nats|ws   what to load (default teamcomms)
          --room-size N                members per room (default 1000)
          --rooms N                    rooms (default 1)
          --payload BYTES              message body size, at least 32 (default 64)
          --seconds S                  measured sending time (default 10), after --warmup S (default 1)
          --rate N                     offered messages/s across all rooms, open loop; 0 or absent = maximum
                                       (at most --window 64 messages in flight per room)
          --senders N                  members per room that send, in turn (default 32)
          --sync on|off                TeamComms group commit with WAL sync (default on)
          --slow PERCENT               this share of members reads at a tenth of the rate (e.g. 1)
          --idle N                     hold N idle authenticated connections; report server RSS per connection
          --resume-rooms N             one client misses --resume-missed M events in each of N rooms, then resumes
          --url URL[,URL...]           use running servers instead of starting one (server CPU/RSS not measured);
                                       several URLs = cluster nodes: provisioning on the first, connections
                                       spread round-robin over all of them
          --cpu-pids PID,PID...        with --url: count these processes' CPU as the server's (cluster nodes, nats-servers)
          --server-cpus LIST           start the server under `taskset -c LIST`
          --server-setting K=V         pass a setting to the started TeamComms server (e.g. TeamComms:Connections:QueueByteLimit=262144)
          --server-dll PATH            TeamComms.Server.dll to start (default: next to this program)
          --json                       print one JSON object instead of the table
        """;

    public static LoadOptions Parse(string[] args)
    {
        var o = new LoadOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
            int Int() => int.Parse(Next(), CultureInfo.InvariantCulture);
            double Dbl() => double.Parse(Next(), CultureInfo.InvariantCulture);
            switch (a)
            {
                case "--target": o.Target = Next(); break;
                case "--room-size": o.RoomSize = Int(); break;
                case "--rooms": o.Rooms = Int(); break;
                case "--payload": o.Payload = Int(); break;
                case "--seconds": o.Seconds = Dbl(); break;
                case "--warmup": o.WarmupSeconds = Dbl(); break;
                case "--rate": o.Rate = Dbl(); break;
                case "--window": o.Window = Int(); break;
                case "--senders": o.Senders = Int(); break;
                case "--json": o.Json = true; break;
                case "--sync":
                    o.Sync = Next() switch
                    {
                        "on" or "true" => true,
                        "off" or "false" => false,
                        var v => throw new ArgumentException($"--sync on|off, not {v}"),
                    };
                    break;
                case "--idle": o.Idle = Int(); break;
                case "--url": o.Url = Next(); break;
                case "--cpu-pids": o.CpuPids.AddRange(Next().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse)); break;
                case "--slow": o.SlowPercent = Dbl(); break;
                case "--resume-rooms": o.ResumeRooms = Int(); break;
                case "--resume-missed": o.ResumeMissed = Int(); break;
                case "--server-cpus": o.ServerCpus = Next(); break;
                case "--server-dll": o.ServerDll = Next(); break;
                case "--drain": o.DrainSeconds = Dbl(); break;
                case "--server-setting":
                    var kv = Next();
                    var eq = kv.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0)
                    {
                        throw new ArgumentException("--server-setting Key=Value");
                    }
                    o.ServerSettings[kv[..eq]] = kv[(eq + 1)..];
                    break;
                case "-h" or "--help":
                    throw new ArgumentException("");
                default:
                    throw new ArgumentException($"unknown option {a}");
            }
        }
        if (o.Target is not ("teamcomms" or "nats" or "ws"))
        {
            throw new ArgumentException("--target is teamcomms, nats or ws");
        }
        if (o.Payload < MinPayload)
        {
            throw new ArgumentException($"--payload is at least {MinPayload} bytes (the header carrying room, index and send time)");
        }
        if (o.RoomSize < 1 || o.Rooms < 1 || o.Seconds <= 0 || o.Rate < 0 || o.Window < 1)
        {
            throw new ArgumentException("--room-size, --rooms, --seconds and --window must be positive");
        }
        return o;
    }
}
