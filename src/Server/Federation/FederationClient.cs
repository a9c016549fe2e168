using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Options;
using TeamComms.Protocol;
using TeamComms.Protocol.Federation;

namespace TeamComms.Server.Federation;

/// <summary>
/// Outgoing server-to-server requests: resolves the destination, refuses (and audits) destinations that are not
/// partners, signs every request (<see cref="RequestSignature"/>) and maps failures to <see cref="FederationException"/>.
/// </summary>
internal sealed class FederationClient(FederationHttp http, ServerDirectory directory, PartnerTable partners, ServerKeyRing keys,
    IFederationAudit audit, TimeProvider time, IOptions<FederationOptions> options)
{
    public const string ContentType = "application/msgpack";
    private readonly FederationOptions _options = options.Value;

    /// <summary><c>PUT /v1/federation/send/{txn}</c>.</summary>
    public async Task<TransactionResult> SendTransactionAsync(string destination, FederationTransaction txn, CancellationToken ct)
    {
        var body = await SendAsync(destination, HttpMethod.Put, "/v1/federation/send/" + Uri.EscapeDataString(txn.Id), txn.ToBytes(), ct).ConfigureAwait(false);
        var result = Parse(() => TransactionResult.Read(body));
        return result.Id == txn.Id ? result : throw new FederationException(ErrorCode.BadField, $"{destination} answered for transaction {result.Id}, not {txn.Id}");
    }

    /// <summary><c>GET /v1/federation/rooms/{room}/events?from=&amp;limit=</c> from the room's hub.</summary>
    public async Task<EventPage> GetEventsAsync(string hub, string roomId, long from, int limit, CancellationToken ct)
    {
        var path = $"/v1/federation/rooms/{Uri.EscapeDataString(roomId)}/events?from={from}&limit={limit}";
        var body = await SendAsync(hub, HttpMethod.Get, path, null, ct).ConfigureAwait(false);
        return Parse(() => EventPage.Read(body));
    }

    /// <summary><c>GET /v1/federation/keys</c> on the server itself (unsigned: the document signs itself).</summary>
    public Task<byte[]> GetKeyDocumentAsync(string server, CancellationToken ct) =>
        SendAsync(server, HttpMethod.Get, "/v1/federation/keys", null, ct, signed: false);

    /// <summary><c>GET /v1/federation/keys/{server}</c> on <paramref name="via"/>: a server's document as another partner cached it.</summary>
    public Task<byte[]> QueryKeyDocumentAsync(string via, string server, CancellationToken ct) =>
        SendAsync(via, HttpMethod.Get, "/v1/federation/keys/" + Uri.EscapeDataString(server), null, ct);

    /// <summary>Sends one request and returns the body of a 2xx answer.</summary>
    public async Task<byte[]> SendAsync(string destination, HttpMethod method, string pathAndQuery, byte[]? body, CancellationToken ct, bool signed = true)
    {
        if (!partners.IsPartner(destination))
        {
            audit.Record(new FederationAuditEntry(time.GetUtcNow().ToUnixTimeMilliseconds(), FederationAuditKinds.UnlistedDestination, destination,
                $"refused to send {method} {pathAndQuery.Split('?')[0]}: {(partners.Enabled ? "not a partner" : "federation is off")}"));
            throw new FederationException(ErrorCode.FederationRefused, $"{destination} is not a federation partner of this server");
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.RequestTimeout);
        try
        {
            var baseUrl = await directory.ResolveAsync(destination, timeout.Token).ConfigureAwait(false);
            var uri = new Uri(baseUrl, pathAndQuery);
            using var request = new HttpRequestMessage(method, uri);
            if (body is not null)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(ContentType);
            }
            if (signed)
            {
                var ts = time.GetUtcNow().ToUnixTimeMilliseconds();
                var input = RequestSignature.SigningInput(method.Method, uri.PathAndQuery, RequestSignature.BodyDigest(body ?? []),
                    keys.ServerName, destination, ts);
                var (keyId, sig) = keys.Sign(input);
                request.Headers.TryAddWithoutValidation("Authorization", new RequestSignature(keys.ServerName, destination, keyId, ts, sig).ToHeader());
            }
            using var response = await http.Client.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
            var bytes = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return bytes;
            }
            throw ErrorFrom(destination, (int)response.StatusCode, bytes);
        }
        catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
        {
            throw new FederationException(ErrorCode.Unavailable, $"{destination} did not answer within {_options.RequestTimeout.TotalSeconds:0.#} s", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new FederationException(ErrorCode.Unavailable, $"{destination} cannot be reached: {ex.Message}", ex);
        }
    }

    private static FederationException ErrorFrom(string destination, int status, byte[] body)
    {
        var code = status >= 500 ? ErrorCode.Unavailable : ErrorCode.BadRequest;
        var message = $"HTTP {status}";
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.TryGetProperty("error", out var error))
            {
                if (error.TryGetProperty("code", out var c) && c.GetString() is { } name && ErrorCodes.TryParse(name, out var parsed))
                {
                    code = parsed;
                }
                if (error.TryGetProperty("message", out var m))
                {
                    message = m.GetString() ?? message;
                }
            }
        }
        catch (JsonException)
        {
        }
        return new FederationException(code, $"{destination} refused: {ErrorCodes.Name(code)}: {message}");
    }

    private static T Parse<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (ProtocolException ex)
        {
            throw new FederationException(ErrorCode.BadField, "malformed answer: " + ex.Message, ex);
        }
    }
}
