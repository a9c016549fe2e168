using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TeamComms.Protocol;

namespace TeamComms.Server.Api;

/// <summary>
/// Turns refused requests into the HTTP API's error body, <c>{"error": {"code": "snake_case", "message": "..."}}</c>,
/// with the status that matches the code. Malformed JSON becomes <c>bad_request</c>; anything unexpected becomes
/// <c>internal</c> and is logged, never a stack trace to the client.
/// </summary>
internal sealed partial class HttpErrors(RequestDelegate next, ILogger<HttpErrors> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (ApiException ex)
        {
            if (ex.RetryAfterSeconds is { } retry)
            {
                context.Response.Headers.RetryAfter = retry.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            await WriteAsync(context, ex.Code, ex.Message).ConfigureAwait(false);
        }
        catch (ProtocolException ex)
        {
            await WriteAsync(context, ex.Code, ex.Message).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex)
        {
            await WriteAsync(context, ErrorCode.BadRequest, ex.InnerException is JsonException ? "the body is not valid JSON for this request" : ex.Message).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            await WriteAsync(context, ErrorCode.BadRequest, "the body is not valid JSON for this request").ConfigureAwait(false);
        }
        catch (Exception ex) when (!context.Response.HasStarted && ex is not OperationCanceledException)
        {
            LogUnhandled(logger, ex, context.Request.Path);
            await WriteAsync(context, ErrorCode.Internal, "internal error").ConfigureAwait(false);
        }
    }

    public static Task WriteAsync(HttpContext context, ErrorCode code, string message)
    {
        if (context.Response.HasStarted)
        {
            return Task.CompletedTask;
        }
        context.Response.StatusCode = ErrorCodes.HttpStatus(code);
        return context.Response.WriteAsJsonAsync(new ErrorBody(new ErrorDetail(ErrorCodes.Name(code), message)));
    }

    internal sealed record ErrorBody(ErrorDetail Error);

    internal sealed record ErrorDetail(string Code, string Message);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Error, Message = "Unhandled error on {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception ex, string path);
}
