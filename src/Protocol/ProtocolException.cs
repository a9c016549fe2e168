using System.Diagnostics.CodeAnalysis;

namespace TeamComms.Protocol;

/// <summary>Malformed input: the bytes do not form what the protocol allows. Carries the stable error code.</summary>
public sealed class ProtocolException : Exception
{
    /// <summary>Creates an exception with a stable code and a message for humans.</summary>
    public ProtocolException(ErrorCode code, string message) : base(message) => Code = code;

    /// <summary>Creates an exception wrapping a lower-level decoder error.</summary>
    public ProtocolException(ErrorCode code, string message, Exception inner) : base(message, inner) => Code = code;

    /// <summary>The stable code sent to the client.</summary>
    public ErrorCode Code { get; }

    /// <summary>The request id of the frame that failed, when it could be read; 0 otherwise.</summary>
    public ulong RequestId { get; init; }

    /// <summary>Throws a <see cref="ProtocolException"/>; kept out of line so callers stay small.</summary>
    [DoesNotReturn]
    public static void Throw(ErrorCode code, string message) => throw new ProtocolException(code, message);

    /// <summary>Throws a <see cref="ProtocolException"/> while returning a value, for expression contexts.</summary>
    [DoesNotReturn]
    public static T Throw<T>(ErrorCode code, string message) => throw new ProtocolException(code, message);
}
