using System.Globalization;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Storage;

namespace TeamComms.Server.AdminConsole;

/// <summary>The filters of <c>GET /v1/admin/users</c>. Null means "any".</summary>
internal sealed record UserQuery(string? Search, bool? Active, bool NeverLoggedIn, long? LastLoginBefore, long After, int Limit);

/// <summary>One page of users, and where the next page starts (null at the end).</summary>
internal sealed record UserPage(List<(UserRecord User, DirectoryEntry? Entry)> Users, long? Next, int Scanned);

/// <summary>
/// The admin console's user list: search, status filters, last login, paging in creation order. It walks the user
/// rows in key order and filters them in memory. A page stops after <see cref="MaxScan"/> rows even when it holds
/// fewer than <c>limit</c> matches, and then says where to continue, so a rare filter over 100,000 users costs
/// several bounded requests instead of one unbounded one.
/// </summary>
internal static class UserListing
{
    /// <summary>Most rows one request reads (about 20 ms of JSON decoding here).</summary>
    public const int MaxScan = 20_000;

    private const int Batch = 500;

    public static UserQuery Parse(string? q, string? status, bool? neverLoggedIn, string? lastLoginBefore, long? after, int? limit)
    {
        bool? active = status switch
        {
            null or "" or "all" => null,
            "active" => true,
            "deactivated" => false,
            _ => throw new ApiException(ErrorCode.BadRequest, "status is all, active or deactivated"),
        };
        long? before = null;
        if (!string.IsNullOrEmpty(lastLoginBefore))
        {
            if (long.TryParse(lastLoginBefore, NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
            {
                before = ms;
            }
            else if (DateTimeOffset.TryParse(lastLoginBefore, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t))
            {
                before = t.ToUnixTimeMilliseconds();
            }
            else
            {
                throw new ApiException(ErrorCode.BadRequest, "last_login_before is unix milliseconds or an ISO 8601 time");
            }
        }
        if (after is < 0)
        {
            throw new ApiException(ErrorCode.BadRequest, "after is a user cursor from a previous page");
        }
        return new UserQuery(string.IsNullOrWhiteSpace(q) ? null : q.Trim(), active, neverLoggedIn ?? false, before, after ?? 0,
            Math.Clamp(limit ?? 100, 1, 1000));
    }

    public static UserPage Page(AccountService accounts, DirectorySnapshot snapshot, UserQuery query)
    {
        var result = new List<(UserRecord, DirectoryEntry?)>();
        var cursor = query.After;
        var scanned = 0;
        while (true)
        {
            var batch = accounts.ListUsers(cursor, Batch);
            foreach (var user in batch)
            {
                scanned++;
                cursor = user.Key;
                var entry = snapshot.Users.GetValueOrDefault(user.Key);
                if (Matches(query, user, entry))
                {
                    result.Add((user, entry));
                    if (result.Count == query.Limit)
                    {
                        return new UserPage(result, accounts.ListUsers(cursor, 1).Count > 0 ? cursor : null, scanned);
                    }
                }
                if (scanned >= MaxScan)
                {
                    return new UserPage(result, accounts.ListUsers(cursor, 1).Count > 0 ? cursor : null, scanned);
                }
            }
            if (batch.Count < Batch)
            {
                return new UserPage(result, null, scanned);
            }
        }
    }

    private static bool Matches(UserQuery query, UserRecord user, DirectoryEntry? entry)
    {
        if (query.Active is { } active && user.Active != active)
        {
            return false;
        }
        if (query.NeverLoggedIn && user.LastLoginAt is not null)
        {
            return false;
        }
        if (query.LastLoginBefore is { } before && user.LastLoginAt is { } last && last >= before)
        {
            return false;
        }
        if (query.Search is not { } search)
        {
            return true;
        }
        return Contains(user.Username, search) || Contains(user.UserId, search) || Contains(user.DisplayName, search)
            || Contains(user.Email, search) || Contains(entry?.Profile.DisplayName, search) || Contains(entry?.Profile.Email, search)
            || Contains(entry?.Profile.Department, search) || Contains(entry?.Profile.Title, search) || Contains(entry?.Profile.Team, search)
            || Contains(entry?.Profile.EmployeeNumber, search);
    }

    private static bool Contains(string? value, string search) =>
        value is not null && value.Contains(search, StringComparison.OrdinalIgnoreCase);

    /// <summary>A user row for the console: the account, and the directory profile's name, e-mail and placement.</summary>
    public static Dictionary<string, object?> Json(UserRecord u, DirectoryEntry? entry) => new()
    {
        ["user_id"] = u.UserId,
        ["username"] = u.Username,
        ["display_name"] = entry?.Profile.DisplayName ?? u.DisplayName,
        ["email"] = entry?.Profile.Email ?? u.Email,
        ["title"] = entry?.Profile.Title,
        ["department"] = entry?.Profile.Department,
        ["roles"] = u.Roles,
        ["active"] = u.Active,
        ["created_at"] = u.CreatedAt,
        ["deactivated_at"] = u.DeactivatedAt,
        ["last_login_at"] = u.LastLoginAt,
        ["has_password"] = u.PasswordHash is not null,
    };
}
