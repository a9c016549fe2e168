using System.Text.Json;
using System.Text.Json.Serialization;

namespace TeamComms.Server.Storage;

/// <summary>A room's current non-member state, a cached view of its state events (rewritten with each one).</summary>
internal sealed record RoomRecord
{
    public required long Key { get; init; }
    public required string RoomId { get; init; }
    public required string Creator { get; init; }
    public required long CreatedAt { get; init; }
    public string Name { get; init; } = "";
    public string Topic { get; init; } = "";
    public string Kind { get; init; } = "group";
    public string HistoryVisibility { get; init; } = "full";
    public string InvitePolicy { get; init; } = "moderators";
    public bool Archived { get; init; }
}

/// <summary>A member row of a room: <c>room_members[roomKey ‖ userId]</c>.</summary>
/// <param name="Managed">The join came from a directory rule (not an invitation or a manual add).</param>
internal sealed record MemberRecord(string Membership, string Role, long Pos, long Seq, long JoinSeq, bool Managed = false);

/// <summary>A user's membership index row: <c>user_rooms[userKey ‖ roomKey]</c>.</summary>
internal sealed record UserRoomRecord(string Membership, long Pos, long Seq);

/// <summary>A stored user account.</summary>
internal sealed record UserRecord
{
    public required long Key { get; init; }
    public required string UserId { get; init; }
    public required string Username { get; init; }
    public required string DisplayName { get; init; }
    public string? Email { get; init; }
    public string? PasswordHash { get; init; }
    public IReadOnlyList<string> Roles { get; init; } = [];
    public bool Active { get; init; } = true;
    public long CreatedAt { get; init; }
    public long? DeactivatedAt { get; init; }
    public long? LastLoginAt { get; init; }
}

/// <summary>A device session; the token itself is never stored, only its SHA-256 (the session_tokens key).</summary>
internal sealed record SessionRecord
{
    public required long Key { get; init; }
    public required long UserKey { get; init; }
    public required string UserId { get; init; }
    public required string DeviceName { get; init; }
    public required byte[] TokenHash { get; init; }
    public required long CreatedAt { get; init; }
    public required long ExpiresAt { get; init; }
    public long LastSeenAt { get; init; }
    public string? LastAddress { get; init; }
    public bool Revoked { get; init; }
    public long? RevokedAt { get; init; }

    /// <summary>Set when the device was told to wipe company data: a later connection with this token gets Wipe.</summary>
    public string? WipeReason { get; init; }
}

/// <summary>A one-time setup link: its hash is the key.</summary>
internal sealed record SetupTokenRecord(long UserKey, long ExpiresAt);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RoomRecord))]
[JsonSerializable(typeof(MemberRecord))]
[JsonSerializable(typeof(UserRoomRecord))]
[JsonSerializable(typeof(UserRecord))]
[JsonSerializable(typeof(SessionRecord))]
[JsonSerializable(typeof(SetupTokenRecord))]
internal sealed partial class RecordJson : JsonSerializerContext
{
    public static byte[] Encode<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, typeof(T), Default);

    public static T Decode<T>(ReadOnlySpan<byte> bytes) =>
        (T)(JsonSerializer.Deserialize(bytes, typeof(T), Default) ?? throw new InvalidDataException($"null {typeof(T).Name} record"));
}
