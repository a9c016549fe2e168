using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Accounts;
using TeamComms.Server.Moderation;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;
using TeamComms.Server.Workplace;

namespace TeamComms.Server.Attachments;

/// <summary>
/// Who may upload and download attachments, within which limits, and short-lived signed download links. An upload
/// needs posting rights in a room hosted here and passes the room's content rules (type, checked against the file's
/// first bytes for common formats, and size). A download needs read access to the message that carries the file (or
/// being its uploader, before it is posted). Links are HMAC-SHA256 over (id, user, session, expiry) with the storage's
/// link key (<see cref="IAttachmentStorage.LinkKey"/>: on one node it lives only in this process's memory, so links also
/// stop working at restart; in cluster mode every node derives the same one, so a link works on any node): they stop
/// working at expiry and as soon as the session that asked for them is revoked or wiped (or its user deactivated);
/// access to the message is re-checked when they are used. The attachment id is 16 random bytes chosen by the
/// uploading node, never a counter, so ids chosen on different nodes cannot collide.
/// </summary>
internal sealed class AttachmentService(IAttachmentStorage files, WorkplaceStore store, RoomRegistry rooms, ContentPolicy policy,
    IOptions<WorkplaceOptions> options, Hosting.ServerIdentity identity, AccountService accounts, TimeProvider time)
{
    public async Task<AttachmentRecord> UploadAsync(AuthenticatedSession session, string roomId, string? contentType, long? declaredLength, Stream body, CancellationToken ct)
    {
        var room = rooms.Find(roomId) ?? throw new ApiException(ErrorCode.UnknownRoom, "no such room");
        var state = room.View.State;
        if (!state.IsJoined(session.UserId))
        {
            throw new ApiException(ErrorCode.NotMember, "you are not a member of this room");
        }
        if (Identifiers.ServerOf(roomId) != identity.ServerName)
        {
            throw new ApiException(ErrorCode.FederationRefused, "attachments are stored by the server of the room's hub and cannot be shared between servers yet");
        }
        if (state.Archived)
        {
            throw new ApiException(ErrorCode.RoomArchived, "the room is archived and read-only");
        }
        if (RoomRoles.Rank(state.RoleOf(session.UserId)) < RoomRoles.Rank(state.Workplace.EffectivePostingRole(state.Kind)))
        {
            throw new ApiException(ErrorCode.Forbidden, "you do not post in this room");
        }
        if (contentType is null || !AttachmentRules.IsValidPattern(AttachmentRules.MediaType(contentType)) || AttachmentRules.MediaType(contentType).Contains('*', StringComparison.Ordinal))
        {
            throw new ApiException(ErrorCode.BadRequest, "send the file's media type in Content-Type, for example image/png");
        }
        var type = AttachmentRules.MediaType(contentType);
        var rules = AttachmentRules.Merge(state.Workplace.Rules, policy.Current.Defaults);
        var max = Math.Min(rules.MaxAttachmentBytes ?? long.MaxValue, options.Value.MaxAttachmentBytes);
        if (AttachmentRules.Refuse(rules with { MaxAttachmentBytes = max }, type, declaredLength ?? 0) is { } refusal)
        {
            throw new ApiException(refusal.Code, refusal.Message);
        }
        var id = RandomNumberGenerator.GetBytes(KeyCodec.AttachmentIdSize);
        var hex = Convert.ToHexStringLower(id);
        var stored = await files.WriteAsync(id, room.Key, body, max, ct).ConfigureAwait(false);
        if (!Sniff.Matches(type, stored.Head))
        {
            await files.DeleteAsync(hex, CancellationToken.None).ConfigureAwait(false);
            throw new ApiException(ErrorCode.AttachmentTypeNotAllowed, $"the file does not look like {type}");
        }
        var record = new AttachmentRecord
        {
            Id = hex,
            RoomKey = room.Key,
            RoomId = room.RoomId,
            Uploader = session.UserId,
            ContentType = type,
            Size = stored.Size,
            CreatedAt = time.GetUtcNow().ToUnixTimeMilliseconds(),
            KeyVersion = stored.KeyVersion,
            KeyId = stored.KeyId,
            WrappedKey = stored.WrappedKey,
        };
        try
        {
            await files.WriteRecordsAsync([WorkplaceStore.PutAttachment(record)]).ConfigureAwait(false);
        }
        catch
        {
            await files.DeleteAsync(hex, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        return record;
    }

    /// <summary>The attachment, if <paramref name="userId"/> may read it now.</summary>
    public AttachmentRecord Authorize(string userId, string idHex)
    {
        if (idHex.Length != 32 || !idHex.All(Uri.IsHexDigit))
        {
            throw new ApiException(ErrorCode.UnknownAttachment, "no such attachment");
        }
        var record = store.GetAttachment(Convert.FromHexString(idHex));
        if (record is null || record.Removed || record.FileDeleted || rooms.Get(record.RoomKey) is not { } room)
        {
            throw new ApiException(ErrorCode.UnknownAttachment, "no such attachment, or it was removed");
        }
        var allowed = record.Seq == 0
            ? record.Uploader == userId && room.View.State.IsJoined(userId)
            : WorkplaceCallHelpers.CanRead(room.View.State, userId, record.Seq);
        return allowed ? record : throw new ApiException(ErrorCode.UnknownAttachment, "no such attachment, or it was removed");
    }

    /// <summary>A signed link to download <paramref name="record"/> for <paramref name="session"/>, valid for the configured lifetime.</summary>
    public (string Url, long ExpiresAt) Link(AuthenticatedSession session, AttachmentRecord record)
    {
        var expires = time.GetUtcNow().Add(options.Value.LinkLifetime).ToUnixTimeSeconds();
        var sig = Sign(record.Id, session.UserId, session.SessionKey, expires);
        return ($"/v1/attachments/{record.Id}?u={Uri.EscapeDataString(session.UserId)}&d={session.SessionKey}&e={expires}&s={sig}", expires * 1000);
    }

    /// <summary>The user a signed link was made for, when it is genuine, not expired, and its session is still valid.</summary>
    public string VerifyLink(string idHex, string? user, long? device, long? expires, string? sig)
    {
        if (user is null || device is not { } d || expires is not { } e || sig is null)
        {
            throw new ApiException(ErrorCode.Unauthenticated, "send 'Authorization: Bearer <access token>' or use a signed link");
        }
        var expected = Encoding.ASCII.GetBytes(Sign(idHex, user, d, e));
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(sig)))
        {
            throw new ApiException(ErrorCode.LinkExpired, "the download link is not valid");
        }
        if (time.GetUtcNow().ToUnixTimeSeconds() > e)
        {
            throw new ApiException(ErrorCode.LinkExpired, "the download link has expired; ask for a new one");
        }
        // A wiped or revoked device's links die with its session (only the session key is read here).
        if (accounts.CheckStillValid(new AuthenticatedSession(d, 0, user, "", [], 0)) is not null)
        {
            throw new ApiException(ErrorCode.LinkExpired, "the session that made this link was signed out or wiped");
        }
        return user;
    }

    private string Sign(string idHex, string userId, long sessionKey, long expires) =>
        Convert.ToBase64String(HMACSHA256.HashData(files.LinkKey, Encoding.UTF8.GetBytes($"tcdl2|{idHex}|{userId}|{sessionKey}|{expires}")))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>Checks the first bytes of common formats, so a file cannot pass a type rule under another format's name.</summary>
internal static class Sniff
{
    public static bool Matches(string mediaType, ReadOnlySpan<byte> head) => mediaType switch
    {
        "image/png" => head.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
        "image/jpeg" => head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]),
        "image/gif" => head.StartsWith("GIF87a"u8) || head.StartsWith("GIF89a"u8),
        "image/webp" => head.Length >= 12 && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8),
        "application/pdf" => head.StartsWith("%PDF-"u8),
        "application/zip" => head.StartsWith("PK"u8),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            or "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            or "application/vnd.openxmlformats-officedocument.presentationml.presentation" => head.StartsWith("PK\u0003\u0004"u8),
        _ => true,
    };
}
