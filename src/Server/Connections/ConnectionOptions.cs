using TeamComms.Protocol;

namespace TeamComms.Server.Connections;

/// <summary>WebSocket connection limits, section <c>TeamComms:Connections</c>.</summary>
public sealed class ConnectionOptions
{
    /// <summary>Largest WebSocket message a client may send. Default 64 KiB.</summary>
    public int MaxFrameBytes { get; set; } = Limits.DefaultMaxFrameBytes;

    /// <summary>Largest canonical content map. Default 48 KiB.</summary>
    public int MaxContentBytes { get; set; } = Limits.DefaultMaxContentBytes;

    /// <summary>Outbound queue limit per connection. A connection whose unsent frames pass it is closed with 4003 (resync). Default 4 MiB.</summary>
    public long QueueByteLimit { get; set; } = 4L * 1024 * 1024;

    /// <summary>Largest coalesced socket write. Default 64 KiB.</summary>
    public int WriteBufferBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// Run Kestrel's socket continuations inline (Kestrel's <c>UnsafePreferInlineScheduling</c>): a connection
    /// writer's flush performs the send syscall on its own thread instead of handing it to Kestrel's I/O queue.
    /// Off by default: the measured gain was within noise (docs/benchmarks.md), and with it on, any request handler
    /// that works synchronously (a large CSV import, a RocksDB scan) would run on a socket thread and stall I/O for
    /// other connections.
    /// </summary>
    public bool InlineSocketScheduling { get; set; }

    /// <summary>
    /// Start an idle connection's writer on the fan-out dispatcher thread itself instead of handing it to the thread
    /// pool. Off by default: measured here it cost 2 to 4 times more server CPU per delivery, because every send on
    /// loopback wakes the receiving client and one thread then pays all those wake-ups in series (docs/benchmarks.md).
    /// </summary>
    public bool WriteFromDispatcher { get; set; }

    /// <summary>Sends and calls a connection may have awaiting the log at once; further frames wait (backpressure on that connection only).</summary>
    public int MaxInflight { get; set; } = 256;

    /// <summary>Sustained frames per second a connection may send.</summary>
    public double FramesPerSecond { get; set; } = 200;

    /// <summary>Burst of frames above the sustained rate.</summary>
    public double FrameBurst { get; set; } = 1000;

    /// <summary>Rate-limited frames after which the connection is closed with 4005.</summary>
    public int MaxRateLimitedFrames { get; set; } = 1000;

    /// <summary>Malformed frames after which the connection is closed with 4000.</summary>
    public int MaxProtocolErrors { get; set; } = 100;

    /// <summary>Time allowed between the WebSocket opening and Hello. Default 10 s.</summary>
    public TimeSpan HelloTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>WebSocket ping interval. Default 30 s.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Close a connection whose peer has not answered a ping for this long. Default 60 s.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(60);
}
