using TeamComms.Server.Accounts;
using TeamComms.Server.CompanyDirectory;

namespace TeamComms.Server.AdminConsole;

/// <summary>
/// Which admin-console sections each company role may use. The endpoints enforce the same role lists (most through
/// <see cref="Access"/>); <c>GET /v1/admin/console</c> hands this table to the console so that it shows a signed-in
/// user only the screens the server will serve them.
/// </summary>
internal static class ConsoleAccess
{
    /// <summary>Reading the user list and a user's details: people management, and security officers who wipe devices.</summary>
    public static string[] UserReaders => [CompanyRoles.Admin, CompanyRoles.Hr, CompanyRoles.SecurityOfficer];

    /// <summary>Server figures, backup and escrow status: admins and security officers (never a secret).</summary>
    public static string[] Operators => [CompanyRoles.Admin, CompanyRoles.SecurityOfficer];

    /// <summary>Section name → the roles that may use it. Order is the console's menu order.</summary>
    public static IReadOnlyList<(string Section, string[] Roles)> Sections { get; } =
    [
        ("users", UserReaders),
        ("users.edit", Access.People),
        ("users.roles", Access.Admin),
        ("users.devices", Access.Security),
        ("users.import", Access.People),
        ("rooms", Access.Admin),
        ("roles", Access.People),
        ("roles.edit", Access.Admin),
        ("rules", Access.Admin),
        ("policies", Access.Admin),
        ("partners", Access.Admin),
        ("scim", Access.Admin),
        ("audit", Access.Auditors),
        // Issue 7a (RetentionEndpoints, ModerationEndpoints): the same role lists those endpoints check.
        ("retention", [CompanyRoles.Admin, CompanyRoles.ComplianceOfficer]),
        ("retention.policy", Access.Admin),
        ("moderation", [CompanyRoles.Admin, CompanyRoles.Moderator]),
        // Issue 5b (ApprovalEndpoints, ExportEndpoints): two-person approvals and compliance exports.
        ("approvals", [CompanyRoles.SecurityOfficer, CompanyRoles.ComplianceOfficer]),
        ("exports", [CompanyRoles.ComplianceOfficer]),
        // Issue 7b: acknowledgement dashboards (GET /v1/admin/alerts), unsealing an anonymous incident reporter. The
        // incident inbox itself follows the workplace policy's incident roles (added by ConsoleEndpoints).
        ("acks", Access.Admin),
        ("incidents.unseal", Access.Security),
        ("figures", Operators),
    ];

    /// <summary>The sections a user with <paramref name="roles"/> may use.</summary>
    public static List<string> For(IReadOnlyCollection<string> roles) =>
        Sections.Where(s => s.Roles.Any(roles.Contains)).Select(s => s.Section).ToList();
}
