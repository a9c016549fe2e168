namespace TeamComms.Protocol;

/// <summary>Protocol limits and their defaults. The server announces the values in force in Welcome.</summary>
public static class Limits
{
    /// <summary>Default largest WebSocket message a client may send: 64 KiB.</summary>
    public const int DefaultMaxFrameBytes = 64 * 1024;
    /// <summary>Default largest canonical content map: 48 KiB, so that an event frame always fits in 64 KiB.</summary>
    public const int DefaultMaxContentBytes = 48 * 1024;
    /// <summary>Longest transaction id.</summary>
    public const int MaxTransactionIdLength = 128;
    /// <summary>Largest history page.</summary>
    public const int MaxHistoryPage = 500;
}

/// <summary>Protocol versions.</summary>
public static class ProtocolVersions
{
    /// <summary>The version this library speaks.</summary>
    public const int Current = 1;
    /// <summary>All versions this library can speak, newest first.</summary>
    public static readonly IReadOnlyList<int> Supported = [1];
}
