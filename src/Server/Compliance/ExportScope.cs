using System.Globalization;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;

namespace TeamComms.Server.Compliance;

/// <summary>
/// What an export covers: one room or every room, one sender or every sender, and a time range
/// [<see cref="Since"/>, <see cref="Until"/>) in Unix milliseconds. At least one of them must be given.
/// </summary>
internal sealed record ExportScope(string? Room, string? User, long? Since, long? Until, string? Reason)
{
    /// <summary>The audit entry's target: the room, else the user, else <c>*</c> (a time range over every room).</summary>
    public string Target => Room ?? User ?? "*";

    public bool Matches(RoomEvent e) =>
        (User is null || e.Sender == User)
        && (Since is null || e.Timestamp >= Since)
        && (Until is null || e.Timestamp < Until);

    public void Validate()
    {
        if (Room is null && User is null && Since is null && Until is null)
        {
            throw new ApiException(ErrorCode.BadRequest, "say what to export: a room, a user, a time range (since, until), or a combination");
        }
        if (Since is { } s && Until is { } u && s >= u)
        {
            throw new ApiException(ErrorCode.BadRequest, "since must be before until");
        }
    }

    /// <summary>Builds a scope from the API's fields; times are Unix milliseconds or ISO 8601 (UTC unless an offset is given).</summary>
    public static ExportScope From(string? room, string? user, string? since, string? until, string? reason) =>
        new(Empty(room), Empty(user), Time(since, "since"), Time(until, "until"), Empty(reason) is { } r ? (r.Length > 500 ? r[..500] : r) : null);

    private static string? Empty(string? value) => value?.Trim() is { Length: > 0 } v ? v : null;

    private static long? Time(string? value, string name)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
        {
            return ms;
        }
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t))
        {
            return t.ToUnixTimeMilliseconds();
        }
        throw new ApiException(ErrorCode.BadRequest, $"{name} '{value}' is not a time: give Unix milliseconds or ISO 8601 (2026-01-31T17:00:00Z)");
    }
}
