namespace TeamComms.Protocol;

/// <summary>
/// WebSocket close codes the server uses. 1000–1011 are the RFC 6455 codes; 4000–4099 are TeamComms'.
/// A client that sees <see cref="Resync"/> or <see cref="GoingAway"/> reconnects and resumes from its token.
/// </summary>
public static class CloseCode
{
    /// <summary>Normal closure (client asked, or logout).</summary>
    public const int Normal = 1000;
    /// <summary>The server is shutting down; reconnect with backoff and resume.</summary>
    public const int GoingAway = 1001;
    /// <summary>A WebSocket message exceeded the frame limit.</summary>
    public const int MessageTooBig = 1009;
    /// <summary>Unexpected server error.</summary>
    public const int InternalError = 1011;
    /// <summary>The client broke the protocol (malformed frames repeatedly, text messages, frames before Hello).</summary>
    public const int ProtocolError = 4000;
    /// <summary>Authentication failed: bad, expired or revoked token in Hello. Do not retry with the same token.</summary>
    public const int AuthFailed = 4001;
    /// <summary>No common protocol version. The preceding Error frame names the server's versions.</summary>
    public const int UnsupportedVersion = 4002;
    /// <summary>The connection fell too far behind (its outbound queue passed the byte limit). Reconnect and resume.</summary>
    public const int Resync = 4003;
    /// <summary>The session was revoked while connected.</summary>
    public const int SessionRevoked = 4004;
    /// <summary>The client kept sending over its rate limit.</summary>
    public const int RateLimited = 4005;
    /// <summary>The server told the device to wipe company data (a Wipe frame precedes it). Do not reconnect with this token.</summary>
    public const int Wiped = 4006;
    /// <summary>No Hello arrived within the handshake timeout.</summary>
    public const int HelloTimeout = 4007;
}
