using TeamComms.Protocol;

namespace TeamComms.Server;

/// <summary>A refused request: carries the stable code clients see on the WebSocket and over HTTP.</summary>
public sealed class ApiException(ErrorCode code, string message) : Exception(message)
{
    public ErrorCode Code { get; } = code;

    /// <summary>Seconds the client should wait before retrying, for <see cref="ErrorCode.RateLimited"/>.</summary>
    public int? RetryAfterSeconds { get; init; }
}
