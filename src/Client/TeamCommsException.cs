using TeamComms.Protocol;

namespace TeamComms.Client;

/// <summary>The server refused a request. <see cref="Code"/> is the stable error code from docs/protocol.md.</summary>
public sealed class TeamCommsException : Exception
{
    /// <summary>Creates an exception for a server error.</summary>
    public TeamCommsException(ErrorCode code, string codeName, string message, int? httpStatus = null)
        : base($"{codeName}: {message}")
    {
        Code = code;
        CodeName = codeName;
        ServerMessage = message;
        HttpStatus = httpStatus;
    }

    /// <summary>The stable error code.</summary>
    public ErrorCode Code { get; }
    /// <summary>The code's snake_case name as the server sent it.</summary>
    public string CodeName { get; }
    /// <summary>The server's message for humans.</summary>
    public string ServerMessage { get; }
    /// <summary>The HTTP status, for HTTP API calls.</summary>
    public int? HttpStatus { get; }
}

/// <summary>The connection was lost before the server answered. A send may or may not have been committed; retry it with the same transaction id.</summary>
public sealed class ConnectionLostException(string message) : Exception(message);
