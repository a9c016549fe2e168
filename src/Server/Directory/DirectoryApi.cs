using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.Api;
using TeamComms.Server.Audit;
using TeamComms.Server.Provisioning;
using TeamComms.Server.Provisioning.Csv;
using TeamComms.Server.Provisioning.Scim;

namespace TeamComms.Server.CompanyDirectory;

/// <summary>Maps every HTTP endpoint of the directory, provisioning, policies, compliance and the audit log.</summary>
internal static class DirectoryApi
{
    public static void Map(IEndpointRouteBuilder app)
    {
        DirectoryEndpoints.Map(app);
        AdminDirectoryEndpoints.Map(app);
        CsvImportEndpoints.Map(app);
        ScimEndpoints.Map(app);
        AuditEndpoints.Map(app);
        ComplianceEndpoints.Map(app);
    }
}

/// <summary>Role checks for the directory's HTTP endpoints: docs/security.md has the table of who may do what.</summary>
internal static class Access
{
    public static (AuthenticatedSession Session, Principal By) Require(HttpContext context, AccountService accounts, params string[] roles)
    {
        var session = Bearer.Require(context, accounts);
        if (roles.Length > 0 && !roles.Any(session.Roles.Contains))
        {
            throw new ApiException(ErrorCode.Forbidden, $"this needs the role {string.Join(" or ", roles)}");
        }
        return (session, new Principal(session.UserId, Bearer.Address(context)));
    }

    public static string[] Admin => [CompanyRoles.Admin];

    /// <summary>People management: admins and HR.</summary>
    public static string[] People => [CompanyRoles.Admin, CompanyRoles.Hr];

    /// <summary>Reading the audit log: admins, security and compliance officers.</summary>
    public static string[] Auditors => [CompanyRoles.Admin, CompanyRoles.SecurityOfficer, CompanyRoles.ComplianceOfficer];

    /// <summary>Wiping a lost device: admins and security officers.</summary>
    public static string[] Security => [CompanyRoles.Admin, CompanyRoles.SecurityOfficer];
}
