using System.Buffers;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using MessagePack;
using Microsoft.Extensions.DependencyInjection;
using TeamComms.Crypto;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Federation;
using TeamComms.Server.Federation;

namespace TeamComms.Tests.Infrastructure;

/// <summary>
/// Plays a federation peer by hand: signs requests with a server's real key (or a wrong one), forges events and
/// batches, and sends them over real HTTP, so tests can feed a server tampered, reordered or replayed input.
/// </summary>
internal static class FederationProbe
{
    private static readonly HttpClient s_http = new();

    /// <summary>Signs and sends a request as <paramref name="origin"/> to <paramref name="destination"/>.</summary>
    public static async Task<(int Status, byte[] Body)> SendAsync(FederatedServer origin, FederatedServer destination, HttpMethod method, string pathAndQuery,
        byte[]? body = null, long? timestamp = null, SigningKey? wrongKey = null, string? claimedDestination = null, string? originName = null)
    {
        var request = Build(origin, destination, method, pathAndQuery, body, timestamp, wrongKey, claimedDestination, originName);
        return await SendRawAsync(request);
    }

    public static HttpRequestMessage Build(FederatedServer origin, FederatedServer destination, HttpMethod method, string pathAndQuery,
        byte[]? body = null, long? timestamp = null, SigningKey? wrongKey = null, string? claimedDestination = null, string? originName = null)
    {
        var ring = origin.Services.GetRequiredService<ServerKeyRing>();
        var ts = timestamp ?? origin.Services.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();
        var uri = new Uri(new Uri(destination.BaseUrl), pathAndQuery);
        var dest = claimedDestination ?? destination.Name;
        var from = originName ?? origin.Name;
        var input = RequestSignature.SigningInput(method.Method, uri.PathAndQuery, RequestSignature.BodyDigest(body ?? []), from, dest, ts);
        var (keyId, sig) = wrongKey is null ? ring.Sign(input) : (ring.KeyId, wrongKey.Sign(input));
        var request = new HttpRequestMessage(method, uri);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/msgpack");
        }
        request.Headers.TryAddWithoutValidation("Authorization", new RequestSignature(from, dest, keyId, ts, sig).ToHeader());
        return request;
    }

    public static async Task<(int Status, byte[] Body)> SendRawAsync(HttpRequestMessage request)
    {
        using (request)
        {
            using var response = await s_http.SendAsync(request);
            return ((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync());
        }
    }

    /// <summary>The error code name of a JSON error body.</summary>
    public static string ErrorCodeOf(byte[] body) =>
        System.Text.Json.Nodes.JsonNode.Parse(body)!["error"]!["code"]!.GetValue<string>();

    /// <summary>Sends a transaction with the given room batches as <paramref name="origin"/>.</summary>
    public static async Task<(int Status, TransactionResult? Result, byte[] Body)> SendTransactionAsync(FederatedServer origin, FederatedServer destination,
        IReadOnlyList<RoomBatch> rooms, IReadOnlyList<ProposalItem>? proposals = null, string? id = null, SigningKey? wrongKey = null)
    {
        id ??= "probe-" + Guid.NewGuid().ToString("N");
        var txn = new FederationTransaction(id, origin.Name, destination.Name, Now(origin), proposals ?? [], rooms);
        var (status, body) = await SendAsync(origin, destination, HttpMethod.Put, "/v1/federation/send/" + id, txn.ToBytes(), wrongKey: wrongKey);
        return (status, status == 200 ? TransactionResult.Read(body) : null, body);
    }

    public static long Now(FederatedServer server) => server.Services.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>A new event after (<paramref name="prevSeq"/>, <paramref name="prev"/>), with a correct id.</summary>
    public static RoomEvent Forge(string roomId, long prevSeq, EventId? prev, string sender, string body, long ts, OriginSignature? origin = null)
    {
        var content = MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["body"] = body });
        var hash = SHA256.HashData(content);
        var id = EventCodec.ComputeId(1, roomId, prevSeq + 1, prev, sender, EventTypes.Message, ts, hash);
        return new RoomEvent
        {
            Version = 1,
            Id = id,
            RoomId = roomId,
            Seq = prevSeq + 1,
            Prev = prev,
            Sender = sender,
            Type = EventTypes.Message,
            Timestamp = ts,
            ContentHash = hash,
            Content = content,
            Origin = origin,
        };
    }

    /// <summary>A room batch of <paramref name="events"/> with a checkpoint over the last one, signed by <paramref name="hub"/> (or a wrong key).</summary>
    public static RoomBatch Batch(FederatedServer hub, string roomId, IReadOnlyList<RoomEvent> events, SigningKey? wrongKey = null, IReadOnlyList<byte[]>? wires = null)
    {
        var last = events[^1];
        var ring = hub.Services.GetRequiredService<ServerKeyRing>();
        var ts = Now(hub);
        var input = Checkpoint.SigningInput(roomId, last.Seq, last.Id, ts);
        var (keyId, sig) = wrongKey is null ? ring.Sign(input) : (ring.KeyId, wrongKey.Sign(input));
        var bytes = wires ?? events.Select(EventCodec.ToBytes).ToList();
        return new RoomBatch(roomId, bytes.Select(b => (ReadOnlyMemory<byte>)b).ToList(), new Checkpoint(roomId, last.Seq, last.Id, ts, keyId, sig));
    }

    /// <summary>The wire form of <paramref name="e"/> with its content replaced (id and hash left as they were: a tampered event).</summary>
    public static byte[] WithContent(RoomEvent e, string body)
    {
        var content = MsgPackValue.ToCanonicalMap(new Dictionary<string, object?> { ["body"] = body });
        var buffer = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(buffer);
        EventCodec.Write(ref w, e.Version, e.Id, e.RoomId, e.Seq, e.Prev, e.Sender, e.Type, e.Timestamp, e.ContentHash, content, false,
            e.Origin is { } o ? o.ToBytes() : default);
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
