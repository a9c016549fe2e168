using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Frames;

namespace TeamComms.Client;

/// <summary>
/// The workplace features of the protocol (docs/protocol.md §15): threads, reactions, edits, polls, pins, posting
/// roles, redaction and reports, content rules and attachments. Every relation uses the one shape
/// <c>"rel": {"type", "event"}</c> (<see cref="Relations"/>).
/// </summary>
public static class WorkplaceApi
{
    /// <summary>Replies in the thread whose root is <paramref name="root"/>.</summary>
    public static Task<AckFrame> SendReplyAsync(this TeamCommsConnection c, string roomId, EventId root, string body, CancellationToken ct = default) =>
        c.SendAsync(roomId, EventTypes.Message, new Dictionary<string, object?> { ["body"] = body, [Relations.Field] = Relations.Build(Relations.Thread, root) }, ct: ct);

    /// <summary>Replaces the text of one's own message (within the company's edit window).</summary>
    public static Task<AckFrame> SendEditAsync(this TeamCommsConnection c, string roomId, EventId original, string body, CancellationToken ct = default) =>
        c.SendAsync(roomId, EventTypes.Message, new Dictionary<string, object?> { ["body"] = body, [Relations.Field] = Relations.Build(Relations.Edit, original) }, ct: ct);

    /// <summary>Reacts to an event with <paramref name="key"/> (an emoji or a short text). Remove it with <see cref="RedactAsync"/>.</summary>
    public static Task<AckFrame> ReactAsync(this TeamCommsConnection c, string roomId, EventId target, string key, CancellationToken ct = default) =>
        c.SendAsync(roomId, WorkplaceEventTypes.Reaction, new Dictionary<string, object?> { ["key"] = key, [Relations.Field] = Relations.Build(Relations.Reaction, target) }, ct: ct);

    /// <summary>Posts a poll. <paramref name="options"/> are (id, text) pairs; <paramref name="closesAt"/> is Unix ms.</summary>
    public static Task<AckFrame> SendPollAsync(this TeamCommsConnection c, string roomId, string question, IEnumerable<(string Id, string Text)> options,
        bool multiple = false, bool anonymous = false, long? closesAt = null, CancellationToken ct = default)
    {
        var content = new Dictionary<string, object?>
        {
            ["question"] = question,
            ["options"] = options.Select(o => (object?)new Dictionary<string, object?> { ["id"] = o.Id, ["text"] = o.Text }).ToList(),
            ["multiple"] = multiple,
            ["anonymous"] = anonymous,
        };
        if (closesAt is { } at)
        {
            content["closes_at"] = at;
        }
        return c.SendAsync(roomId, WorkplaceEventTypes.Poll, content, ct: ct);
    }

    /// <summary>Votes in a poll (an empty list withdraws the vote). Returns the seq of the results event.</summary>
    public static Task<Dictionary<string, object?>> VoteAsync(this TeamCommsConnection c, string roomId, EventId poll, IEnumerable<string> options, CancellationToken ct = default) =>
        CallMapAsync(c, "polls.vote", new() { ["room"] = roomId, ["poll"] = poll.ToArray(), ["options"] = options.Cast<object?>().ToList() }, ct);

    /// <summary>Closes a poll early (its sender or a moderator).</summary>
    public static Task<Dictionary<string, object?>> ClosePollAsync(this TeamCommsConnection c, string roomId, EventId poll, CancellationToken ct = default) =>
        CallMapAsync(c, "polls.close", new() { ["room"] = roomId, ["poll"] = poll.ToArray() }, ct);

    /// <summary>A poll's current results: <c>{counts, voters, closed, closes_at, multiple, anonymous, mine}</c>.</summary>
    public static Task<Dictionary<string, object?>> PollResultsAsync(this TeamCommsConnection c, string roomId, EventId poll, CancellationToken ct = default) =>
        CallMapAsync(c, "polls.results", new() { ["room"] = roomId, ["poll"] = poll.ToArray() }, ct);

    /// <summary>Removes the content of an event: one's own (within the delete window), or any as a moderator.</summary>
    public static Task<Dictionary<string, object?>> RedactAsync(this TeamCommsConnection c, string roomId, EventId target, string? reason = null, CancellationToken ct = default) =>
        CallMapAsync(c, "rooms.redact", new() { ["room"] = roomId, ["event"] = target.ToArray(), ["reason"] = reason }, ct);

    /// <summary>Pins an event (moderators and owners; posters too in announcement rooms).</summary>
    public static Task<Dictionary<string, object?>> PinAsync(this TeamCommsConnection c, string roomId, EventId target, CancellationToken ct = default) =>
        CallMapAsync(c, "rooms.pin", new() { ["room"] = roomId, ["event"] = target.ToArray() }, ct);

    /// <summary>Unpins an event.</summary>
    public static Task<Dictionary<string, object?>> UnpinAsync(this TeamCommsConnection c, string roomId, EventId target, CancellationToken ct = default) =>
        CallMapAsync(c, "rooms.unpin", new() { ["room"] = roomId, ["event"] = target.ToArray() }, ct);

    /// <summary>Sets the lowest role that may post (owners).</summary>
    public static Task<Dictionary<string, object?>> SetPostingRoleAsync(this TeamCommsConnection c, string roomId, string role, CancellationToken ct = default) =>
        CallMapAsync(c, "rooms.set_posting", new() { ["room"] = roomId, ["role"] = role }, ct);

    /// <summary>Sets the room's content rules: attachment size and types, link policy and domains (moderators and owners).</summary>
    public static Task<Dictionary<string, object?>> SetContentRulesAsync(this TeamCommsConnection c, string roomId, long? maxAttachmentBytes = null,
        IEnumerable<string>? attachmentTypes = null, string? linkPolicy = null, IEnumerable<string>? linkDomains = null, CancellationToken ct = default)
    {
        var p = new Dictionary<string, object?> { ["room"] = roomId };
        if (maxAttachmentBytes is not null || attachmentTypes is not null)
        {
            p["attachments"] = new Dictionary<string, object?> { ["max_bytes"] = maxAttachmentBytes, ["types"] = attachmentTypes?.Cast<object?>().ToList() };
        }
        if (linkPolicy is not null || linkDomains is not null)
        {
            p["links"] = new Dictionary<string, object?> { ["policy"] = linkPolicy, ["domains"] = linkDomains?.Cast<object?>().ToList() };
        }
        return CallMapAsync(c, "rooms.set_content_rules", p, ct);
    }

    /// <summary>The room's posting role, pins, content rules, retention and the company's edit and delete windows.</summary>
    public static Task<Dictionary<string, object?>> RoomSettingsAsync(this TeamCommsConnection c, string roomId, CancellationToken ct = default) =>
        CallMapAsync(c, "rooms.settings", new() { ["room"] = roomId }, ct);

    /// <summary>The events relating to <paramref name="target"/> (of <paramref name="type"/> when given), in order.</summary>
    public static async Task<IReadOnlyList<RoomEvent>> RelationsAsync(this TeamCommsConnection c, string roomId, EventId target, string? type = null, int limit = 100, CancellationToken ct = default)
    {
        var result = await CallMapAsync(c, "rooms.relations", new() { ["room"] = roomId, ["event"] = target.ToArray(), ["type"] = type, ["limit"] = (long)limit }, ct).ConfigureAwait(false);
        return [.. ((List<object?>)result["events"]!).Select(e => EventCodec.Read(MsgPackValue.ToBytes(e)))];
    }

    /// <summary>Reports a message to the moderators with a reason. Returns the report id.</summary>
    public static async Task<long> ReportAsync(this TeamCommsConnection c, string roomId, EventId target, string reason, CancellationToken ct = default) =>
        (long)(await CallMapAsync(c, "moderation.report", new() { ["room"] = roomId, ["event"] = target.ToArray(), ["reason"] = reason }, ct).ConfigureAwait(false))["report_id"]!;

    /// <summary>The moderation queue the caller may work on (<c>open</c> or <c>resolved</c> reports).</summary>
    public static async Task<IReadOnlyList<Dictionary<string, object?>>> ModerationQueueAsync(this TeamCommsConnection c, string status = "open", string? roomId = null, CancellationToken ct = default)
    {
        var result = await CallMapAsync(c, "moderation.queue", new() { ["status"] = status, ["room"] = roomId }, ct).ConfigureAwait(false);
        return [.. ((List<object?>)result["reports"]!).Cast<Dictionary<string, object?>>()];
    }

    /// <summary>Resolves a report: <c>dismiss</c> or <c>redact</c>.</summary>
    public static Task<Dictionary<string, object?>> ResolveReportAsync(this TeamCommsConnection c, long reportId, string action, string? note = null, CancellationToken ct = default) =>
        CallMapAsync(c, "moderation.resolve", new() { ["report"] = reportId, ["action"] = action, ["note"] = note }, ct);

    /// <summary>A short-lived signed download link (a path relative to the server) for an attachment.</summary>
    public static async Task<(string Url, long ExpiresAt)> AttachmentLinkAsync(this TeamCommsConnection c, string attachmentId, CancellationToken ct = default)
    {
        var r = await CallMapAsync(c, "attachments.link", new() { ["attachment"] = attachmentId }, ct).ConfigureAwait(false);
        return ((string)r["url"]!, (long)r["expires_at"]!);
    }

    /// <summary>Sends a message carrying an uploaded attachment (<see cref="UploadAttachmentAsync"/>).</summary>
    public static Task<AckFrame> SendAttachmentAsync(this TeamCommsConnection c, string roomId, UploadedAttachment a, string name, string body = "", CancellationToken ct = default) =>
        c.SendAsync(roomId, EventTypes.Message, new Dictionary<string, object?>
        {
            ["body"] = body,
            ["attachments"] = new List<object?> { new Dictionary<string, object?> { ["id"] = a.Id, ["name"] = name, ["type"] = a.ContentType, ["size"] = a.Size } },
        }, ct: ct);

    /// <summary>Uploads a file to a room (the Authorization header carries the token).</summary>
    public static async Task<UploadedAttachment> UploadAttachmentAsync(this TeamCommsHttpClient http, string roomId, Stream content, string contentType, CancellationToken ct = default)
    {
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(http.BaseUrl, $"/v1/rooms/{Uri.EscapeDataString(roomId)}/attachments"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", http.AccessToken);
        request.Content = new StreamContent(content);
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var response = await client.SendAsync(request, ct).ConfigureAwait(false);
        var json = await ReadAsync(response, ct).ConfigureAwait(false);
        return new UploadedAttachment(json["attachment_id"]!.GetValue<string>(), json["content_type"]!.GetValue<string>(), json["size"]!.GetValue<long>());
    }

    /// <summary>Downloads an attachment with the Authorization header.</summary>
    public static Task<byte[]> DownloadAttachmentAsync(this TeamCommsHttpClient http, string attachmentId, CancellationToken ct = default) =>
        DownloadAsync(http.BaseUrl, "/v1/attachments/" + attachmentId, http.AccessToken, ct);

    /// <summary>Downloads through a signed link (no token needed).</summary>
    public static Task<byte[]> DownloadLinkAsync(Uri baseUrl, string link, CancellationToken ct = default) => DownloadAsync(baseUrl, link, null, ct);

    /// <summary>Admin: the company's content policy (edit and delete windows, retention, default content rules).</summary>
    public static Task<JsonObject?> ContentPolicyAsync(this TeamCommsHttpClient http, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Get, "/v1/admin/policies/content", null, ct);

    /// <summary>Admin: changes the content policy; only the fields given change.</summary>
    public static Task<JsonObject?> UpdateContentPolicyAsync(this TeamCommsHttpClient http, JsonObject changes, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Put, "/v1/admin/policies/content", changes, ct);

    /// <summary>Admin or compliance officer: a room's own retention in days (0: the company default).</summary>
    public static Task<JsonObject?> SetRoomRetentionAsync(this TeamCommsHttpClient http, string roomId, int days, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Put, $"/v1/admin/rooms/{Uri.EscapeDataString(roomId)}/retention", new JsonObject { ["days"] = days }, ct);

    /// <summary>Admin or compliance officer: places a legal hold on a <c>user</c> or a <c>room</c>.</summary>
    public static Task<JsonObject?> CreateLegalHoldAsync(this TeamCommsHttpClient http, string kind, string target, string reason, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Post, "/v1/admin/legal-holds", new JsonObject { ["kind"] = kind, ["target"] = target, ["reason"] = reason }, ct);

    /// <summary>Admin or compliance officer: releases a legal hold.</summary>
    public static Task<JsonObject?> ReleaseLegalHoldAsync(this TeamCommsHttpClient http, long id, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Delete, $"/v1/admin/legal-holds/{id}", null, ct);

    /// <summary>Admin or compliance officer: every legal hold, active and released.</summary>
    public static Task<JsonObject?> ListLegalHoldsAsync(this TeamCommsHttpClient http, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Get, "/v1/admin/legal-holds", null, ct);

    /// <summary>Company admin or moderator: the moderation queue.</summary>
    public static Task<JsonObject?> ListReportsAsync(this TeamCommsHttpClient http, string status = "open", CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Get, $"/v1/admin/moderation/reports?status={Uri.EscapeDataString(status)}", null, ct);

    /// <summary>Company admin or moderator: resolves a report (<c>dismiss</c> or <c>redact</c>).</summary>
    public static Task<JsonObject?> ResolveReportAsync(this TeamCommsHttpClient http, long id, string action, string? note = null, CancellationToken ct = default) =>
        http.SendAsync(HttpMethod.Post, $"/v1/admin/moderation/reports/{id}/resolve", new JsonObject { ["action"] = action, ["note"] = note }, ct);

    private static async Task<Dictionary<string, object?>> CallMapAsync(TeamCommsConnection c, string method, Dictionary<string, object?> p, CancellationToken ct) =>
        (Dictionary<string, object?>)(await c.CallAsync(method, p.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value), ct).ConfigureAwait(false))!;

    private static async Task<byte[]> DownloadAsync(Uri baseUrl, string path, string? token, CancellationToken ct)
    {
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUrl, path));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        using var response = await client.SendAsync(request, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            await ReadAsync(response, ct).ConfigureAwait(false);
        }
        return await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
    }

    private static async Task<JsonObject> ReadAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        JsonNode? json = null;
        try
        {
            json = text.Length > 0 ? JsonNode.Parse(text) : null;
        }
        catch (JsonException)
        {
        }
        if (!response.IsSuccessStatusCode)
        {
            var error = json?["error"];
            var name = error?["code"]?.GetValue<string>() ?? "http_" + (int)response.StatusCode;
            throw new TeamCommsException(ErrorCodes.TryParse(name, out var code) ? code : ErrorCode.Internal, name,
                error?["message"]?.GetValue<string>() ?? text, (int)response.StatusCode);
        }
        return json as JsonObject ?? [];
    }
}

/// <summary>An uploaded attachment: its id (32 hex digits), media type and size, to put in a message.</summary>
public sealed record UploadedAttachment(string Id, string ContentType, long Size);
