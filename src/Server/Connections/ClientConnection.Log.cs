using Microsoft.Extensions.Logging;

namespace TeamComms.Server.Connections;

internal sealed partial class ClientConnection
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Connection {Id} of {UserId} evicted: outbound queue over its limit")]
    private static partial void LogEvicted(ILogger logger, long id, string userId);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "Unexpected error handling a frame on connection {Id}")]
    private static partial void LogHandlerFault(ILogger logger, Exception ex, long id);
}
