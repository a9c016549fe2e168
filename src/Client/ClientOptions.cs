namespace TeamComms.Client;

/// <summary>Options for <see cref="TeamCommsConnection"/>.</summary>
public sealed class ClientOptions
{
    /// <summary>A name for this client, shown in session lists and logs.</summary>
    public string? ClientName { get; set; } = "teamcomms-dotnet";

    /// <summary>Receive only these rooms' events; null for all of the user's rooms.</summary>
    public IReadOnlyList<string>? Rooms { get; set; }

    /// <summary>A resume token from an earlier connection; the server replays what was missed.</summary>
    public byte[]? ResumeToken { get; set; }

    /// <summary>Reconnect and resume automatically after a dropped connection, a resync or a server restart. Default true.</summary>
    public bool AutoReconnect { get; set; } = true;

    /// <summary>Longest wait between reconnect attempts. Default 5 s.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Give up reconnecting after this long without success. Default 5 minutes.</summary>
    public TimeSpan ReconnectTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Confirm receipt (send Received) at most this often. Default 200 ms.</summary>
    public TimeSpan ReceiptInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a request waits for its answer. Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
