namespace TeamComms.Server.Accounts;

/// <summary>A verified device session.</summary>
internal sealed record AuthenticatedSession(long SessionKey, long UserKey, string UserId, string DeviceName, IReadOnlyList<string> Roles, long ExpiresAt)
{
    public string SessionId => SessionIds.Format(SessionKey);

    public bool IsAdmin => Roles.Contains(CompanyRoles.Admin);

    public Rooms.Actor Actor => new(UserId, UserKey, SessionKey);
}

/// <summary>Session ids as clients see them: <c>s</c> followed by the decimal key.</summary>
internal static class SessionIds
{
    public static string Format(long key) => "s" + key.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static bool TryParse(string id, out long key)
    {
        key = 0;
        return id.Length > 1 && id[0] == 's' && long.TryParse(id.AsSpan(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out key);
    }
}

/// <summary>Company-wide roles.</summary>
internal static class CompanyRoles
{
    public const string Admin = "admin";
    public const string SecurityOfficer = "security_officer";
    public const string ComplianceOfficer = "compliance_officer";
    public const string Hr = "hr";
    public const string Moderator = "moderator";
}
