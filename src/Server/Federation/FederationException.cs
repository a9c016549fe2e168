using TeamComms.Protocol;

namespace TeamComms.Server.Federation;

/// <summary>
/// An outgoing federation request failed. <see cref="Code"/> is the peer's error code when it answered with one,
/// <see cref="ErrorCode.Unavailable"/> when it could not be reached, or <see cref="ErrorCode.FederationRefused"/>
/// when this server refused to send (the destination is not a partner).
/// </summary>
internal sealed class FederationException(ErrorCode code, string message, Exception? inner = null) : Exception(message, inner)
{
    public ErrorCode Code { get; } = code;
}
