using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using TeamComms.Protocol;
using TeamComms.Protocol.Federation;

namespace TeamComms.Server.Federation;

/// <summary>
/// Checks an incoming server-to-server request before anything else reads it: TLS (or the loopback test mode),
/// the signature header, the destination, the partner allowlist, the time window, the origin's key and signature
/// over method, path, body digest, origin, destination and timestamp, and replays. Every refusal is audited.
/// </summary>
internal sealed class RequestVerifier(PartnerTable partners, KeyCache keys, IFederationAudit audit, TimeProvider time, IOptions<FederationOptions> options)
{
    private readonly FederationOptions _options = options.Value;
    private readonly ReplayCache _replays = new();

    /// <summary>Returns the verified origin server, or throws <see cref="ApiException"/>.</summary>
    public async Task<string> VerifyAsync(HttpContext context, byte[] body)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var header = context.Request.Headers.Authorization.ToString();
        var sig = RequestSignature.TryParse(header, out var parsed) ? parsed : null;
        var claimed = sig?.Origin ?? "unknown";
        if (!partners.Enabled)
        {
            Refuse(now, FederationAuditKinds.UnlistedOrigin, claimed, "federation is off on this server");
            throw new ApiException(ErrorCode.FederationRefused, "federation is off on this server");
        }
        if (!context.Request.IsHttps && !_options.TrustProxyTls
            && !(_options.AllowInsecureLoopback && context.Connection.RemoteIpAddress is { } ip && IPAddress.IsLoopback(ip)))
        {
            Refuse(now, FederationAuditKinds.UnlistedOrigin, claimed, "plain HTTP; federation requires TLS");
            throw new ApiException(ErrorCode.FederationRefused, "federation requires TLS");
        }
        if (sig is null)
        {
            Refuse(now, FederationAuditKinds.BadSignature, claimed, "missing or malformed Authorization: TeamComms-Signature header");
            throw new ApiException(ErrorCode.Unauthenticated, "send 'Authorization: TeamComms-Signature origin=…,destination=…,key=…,ts=…,sig=…'");
        }
        if (sig.Destination != partners.ServerName)
        {
            Refuse(now, FederationAuditKinds.WrongDestination, sig.Origin, $"request addressed to {sig.Destination}");
            throw new ApiException(ErrorCode.FederationRefused, $"this server is {partners.ServerName}, not {sig.Destination}");
        }
        if (!partners.IsPartner(sig.Origin))
        {
            Refuse(now, FederationAuditKinds.UnlistedOrigin, sig.Origin, $"{context.Request.Method} {context.Request.Path} from a server that is not a partner");
            throw new ApiException(ErrorCode.FederationRefused, $"{sig.Origin} is not a federation partner of this server");
        }
        var window = (long)_options.RequestWindow.TotalMilliseconds;
        if (Math.Abs(now - sig.Timestamp) > window)
        {
            Refuse(now, FederationAuditKinds.Replay, sig.Origin, $"request timestamp {sig.Timestamp} is {(now - sig.Timestamp) / 1000} s from now, outside the ±{window / 1000} s window");
            throw new ApiException(ErrorCode.RequestReplayed, "the request's timestamp is outside the accepted window");
        }
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw ? raw : context.Request.Path + context.Request.QueryString;
        var input = RequestSignature.SigningInput(context.Request.Method, target, RequestSignature.BodyDigest(body), sig.Origin, sig.Destination, sig.Timestamp);
        if (!await keys.VerifyAsync(sig.Origin, sig.KeyId, sig.Timestamp, input, sig.Signature, ct: context.RequestAborted).ConfigureAwait(false))
        {
            Refuse(now, FederationAuditKinds.BadSignature, sig.Origin, $"request signature by {sig.KeyId} does not verify");
            throw new ApiException(ErrorCode.SignatureInvalid, "the request signature does not verify");
        }
        if (!_replays.TryAdd(sig.Origin, sig.Signature, now, sig.Timestamp + window))
        {
            Refuse(now, FederationAuditKinds.Replay, sig.Origin, $"request {context.Request.Method} {context.Request.Path} was already received");
            throw new ApiException(ErrorCode.RequestReplayed, "this signed request was already received");
        }
        return sig.Origin;
    }

    private void Refuse(long now, string kind, string server, string detail) =>
        audit.Record(new FederationAuditEntry(now, kind, server, detail));
}
