using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using HdrHistogram;

namespace TeamComms.Load;

/// <summary>What a run measured: a table for people, or one JSON object (<c>--json</c>).</summary>
internal sealed class Report(LoadOptions o, string target)
{
    public string Target { get; } = target;
    public double SetupSeconds { get; set; }
    public double DrainSeconds { get; set; }
    public int Connections { get; set; }
    public int SlowMembers { get; set; }
    public double? DeliveriesPerSecond { get; set; }
    public double? MessagesPerSecond { get; set; }
    public double? OfferedPerSecond { get; set; }
    public double? P50Ms { get; set; }
    public double? P99Ms { get; set; }
    public double? P999Ms { get; set; }
    public double? MaxMs { get; set; }
    public long Lost { get; set; }
    public long Duplicated { get; set; }
    public long OutOfOrder { get; set; }
    public long Evicted { get; set; }
    public long Reconnects { get; set; }
    public long Foreign { get; set; }
    public long SendErrors { get; set; }
    public string? ErrorNames { get; set; }
    public double? ServerCpuSeconds { get; set; }
    public double? ServerCpuMicrosPerDelivery { get; set; }
    public double? ClientCpuSeconds { get; set; }
    public double? ServerRssMiB { get; set; }
    public double? ServerPeakRssMiB { get; set; }
    public double? RssPerConnectionKiB { get; set; }
    public double? ResumeMs { get; set; }
    public long? ResumeEvents { get; set; }

    private double _clientCpuStart = Environment.ProcessorCount > 0 ? System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds : 0;

    public void Fill(Run run, List<Member> members, LongHistogram latency, CpuWindow cpu, ILoadTarget target)
    {
        var seconds = o.Seconds;
        var windowDeliveries = members.Sum(m => m.ReceivedInWindow);
        DeliveriesPerSecond = windowDeliveries / seconds;
        // Achieved: messages that came back to their own sender inside the window (through the server and, for
        // TeamComms, durable). Offered: what was sent in the window (the schedule with --rate).
        MessagesPerSecond = run.Rooms.Sum(r => Interlocked.Read(ref r.DoneInWindow)) / seconds;
        OfferedPerSecond = o.Rate > 0 ? o.Rate : run.Rooms.Sum(r => r.SentInWindow) / seconds;
        if (latency.TotalCount > 0)
        {
            P50Ms = latency.GetValueAtPercentile(50) / 1000.0;
            P99Ms = latency.GetValueAtPercentile(99) / 1000.0;
            P999Ms = latency.GetValueAtPercentile(99.9) / 1000.0;
            MaxMs = latency.GetMaxValue() / 1000.0;
        }
        foreach (var room in run.Rooms)
        {
            var sent = room.Sent;
            var expected = sent - room.FailedCount;
            SendErrors += room.FailedCount;
            foreach (var m in room.Members)
            {
                Lost += Math.Max(0, expected - m.DistinctBelow(sent));
            }
        }
        Duplicated = members.Sum(m => m.Duplicated);
        OutOfOrder = members.Sum(m => m.OutOfOrder);
        Evicted = members.Sum(m => (long)m.Evictions);
        Reconnects = members.Sum(m => (long)m.Reconnects);
        Foreign = members.Sum(m => m.Foreign);
        if (target.Errors.Count > 0)
        {
            ErrorNames = string.Join(", ", target.Errors.Select(e => $"{e.Key}×{e.Value}"));
        }
        ServerCpuSeconds = cpu.Seconds;
        if (cpu.Seconds is { } c && windowDeliveries > 0)
        {
            ServerCpuMicrosPerDelivery = c * 1e6 / windowDeliveries;
        }
        ClientCpuSeconds = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - _clientCpuStart;
        if (target.Server is { } server)
        {
            var (rss, peak) = server.Memory();
            ServerRssMiB = rss / 1024.0;
            ServerPeakRssMiB = peak / 1024.0;
        }
    }

    /// <summary>Correctness of the resume scenario: every missed event exactly once and in order, at the client.</summary>
    public void FillResume(Run run, List<Member> members, ILoadTarget target)
    {
        foreach (var room in run.Rooms)
        {
            var m = room.Members[0];
            Lost += Math.Max(0, room.Sent - room.FailedCount - m.DistinctBelow(room.Sent));
            SendErrors += room.FailedCount;
        }
        var clients = run.Rooms.Select(r => r.Members[0]).ToList();
        Duplicated = clients.Sum(m => m.Duplicated);
        OutOfOrder = clients.Sum(m => m.OutOfOrder);
        if (target.Server is { } server)
        {
            var (rss, peak) = server.Memory();
            ServerRssMiB = rss / 1024.0;
            ServerPeakRssMiB = peak / 1024.0;
            ServerCpuSeconds = server.CpuSeconds();
        }
        _ = members;
    }

    public double? AvgCommitBatch { get; set; }
    public double? AvgCommitMs { get; set; }
    public double? FramesPerWrite { get; set; }

    /// <summary>Averages over the whole run from the server's /metrics (TeamComms only).</summary>
    public void SetServerMetrics(Dictionary<string, double> m)
    {
        double Get(string name) => m.GetValueOrDefault(name);
        if (Get("teamcomms_commit_batch_size_count") > 0)
        {
            AvgCommitBatch = Get("teamcomms_commit_batch_size_sum") / Get("teamcomms_commit_batch_size_count");
            AvgCommitMs = Get("teamcomms_commit_duration_milliseconds_sum") / Get("teamcomms_commit_duration_milliseconds_count");
        }
        // The server counts its evictions itself; a client often cannot see the 4003 close frame (an evicted
        // consumer is, by definition, not reading, so the server gives up on the close handshake and aborts).
        if (m.ContainsKey("teamcomms_evictions_total"))
        {
            Evicted = Math.Max(Evicted, (long)Get("teamcomms_evictions_total"));
        }
        if (Get("teamcomms_socket_writes_total") > 0)
        {
            FramesPerWrite = Get("teamcomms_deliveries_total") / Get("teamcomms_socket_writes_total");
        }
    }

    public string ToJson()
    {
        var json = new JsonObject
        {
            ["target"] = Target,
            ["room_size"] = o.RoomSize,
            ["rooms"] = o.Rooms,
            ["payload"] = o.Payload,
            ["seconds"] = o.Seconds,
            ["rate"] = o.Rate > 0 ? o.Rate : null,
            ["sync"] = Target == "teamcomms" ? o.Sync : null,
            ["connections"] = Connections,
            ["slow_members"] = SlowMembers,
            ["offered_messages_per_s"] = Round(OfferedPerSecond),
            ["messages_per_s"] = Round(MessagesPerSecond),
            ["deliveries_per_s"] = Round(DeliveriesPerSecond),
            ["p50_ms"] = Round(P50Ms, 3),
            ["p99_ms"] = Round(P99Ms, 3),
            ["p999_ms"] = Round(P999Ms, 3),
            ["max_ms"] = Round(MaxMs, 3),
            ["lost"] = Lost,
            ["duplicated"] = Duplicated,
            ["out_of_order"] = OutOfOrder,
            ["evicted"] = Evicted,
            ["reconnects"] = Reconnects,
            ["send_errors"] = SendErrors,
            ["errors"] = ErrorNames,
            ["server_cpu_s"] = Round(ServerCpuSeconds, 3),
            ["server_cpu_us_per_delivery"] = Round(ServerCpuMicrosPerDelivery, 3),
            ["client_cpu_s"] = Round(ClientCpuSeconds, 3),
            ["server_rss_mib"] = Round(ServerRssMiB, 1),
            ["server_peak_rss_mib"] = Round(ServerPeakRssMiB, 1),
            ["avg_commit_batch"] = Round(AvgCommitBatch, 1),
            ["avg_commit_ms"] = Round(AvgCommitMs, 3),
            ["frames_per_write"] = Round(FramesPerWrite, 2),
            ["setup_s"] = Round(SetupSeconds, 2),
            ["drain_s"] = Round(DrainSeconds, 2),
        };
        if (o.Idle > 0)
        {
            json["rss_per_connection_kib"] = Round(RssPerConnectionKiB, 2);
        }
        if (o.ResumeRooms > 0)
        {
            json["resume_ms"] = Round(ResumeMs, 1);
            json["resume_events"] = ResumeEvents;
        }
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    }

    public string ToTable()
    {
        var sb = new StringBuilder();
        void Row(string name, object? value)
        {
            if (value is not null)
            {
                sb.Append(CultureInfo.InvariantCulture, $"  {name,-28} {value}\n");
            }
        }
        sb.Append(CultureInfo.InvariantCulture, $"{Target}: {o.Rooms} room(s) of {o.RoomSize}, {o.Payload} B, {(o.Rate > 0 ? $"offered {o.Rate:0} msg/s" : "maximum rate")}, {o.Seconds:0.#} s{(Target == "teamcomms" ? $", sync {(o.Sync ? "on" : "off")}" : "")}\n");
        Row("connections", Connections);
        if (o.Idle > 0)
        {
            Row("server RSS (MiB)", Fmt(ServerRssMiB));
            Row("RSS per connection (KiB)", Fmt(RssPerConnectionKiB));
            return sb.ToString();
        }
        if (o.ResumeRooms > 0)
        {
            Row("resume to last event (ms)", Fmt(ResumeMs));
            Row("events replayed", ResumeEvents);
            Row("lost / duplicated / out of order", $"{Lost} / {Duplicated} / {OutOfOrder}");
            return sb.ToString();
        }
        Row("messages/s (offered)", Fmt(OfferedPerSecond, "N0"));
        Row("messages/s (achieved)", Fmt(MessagesPerSecond, "N0"));
        Row("deliveries/s", Fmt(DeliveriesPerSecond, "N0"));
        Row("latency p50 / p99 / p99.9 / max (ms)", $"{Fmt(P50Ms)} / {Fmt(P99Ms)} / {Fmt(P999Ms)} / {Fmt(MaxMs)}");
        Row("lost / duplicated / out of order", $"{Lost} / {Duplicated} / {OutOfOrder}");
        Row("evicted (slow members)", $"{Evicted} ({SlowMembers})");
        Row("send errors", SendErrors > 0 ? $"{SendErrors} ({ErrorNames})" : "0");
        Row("server CPU (s, µs/delivery)", $"{Fmt(ServerCpuSeconds)} , {Fmt(ServerCpuMicrosPerDelivery)}");
        Row("client CPU (s)", Fmt(ClientCpuSeconds));
        Row("server RSS / peak (MiB)", $"{Fmt(ServerRssMiB)} / {Fmt(ServerPeakRssMiB)}");
        Row("commit: events/batch, ms", AvgCommitBatch is null ? null : $"{Fmt(AvgCommitBatch)} , {Fmt(AvgCommitMs)}");
        Row("event frames per write", FramesPerWrite is null ? null : Fmt(FramesPerWrite));
        return sb.ToString();
    }

    private static string Fmt(double? v, string format = "0.###") => v?.ToString(format, CultureInfo.InvariantCulture) ?? "n/a";

    private static double? Round(double? v, int digits = 0) => v is { } x ? Math.Round(x, digits) : null;
}
