using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using TeamComms.Client;
using TeamComms.Crypto.Age;
using TeamComms.Protocol;
using TeamComms.Server.Storage;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Compliance;

/// <summary>Security officer, compliance officer and admin are distinct; nobody reads exports and decides who receives them.</summary>
public class RoleSeparationTests
{
    private static async Task<ErrorCode> RefusedAsync(Func<Task> call) => (await Assert.ThrowsAsync<TeamCommsException>(call)).Code;

    [Fact]
    public async Task OneAccount_CannotHoldBothOfficerRoles_ByAnyAssignment_AndNothingChanges()
    {
        await using var server = await TestServer.StartAsync();
        using var admin = await server.AdminAsync();
        var user = await server.CreateUserAsync("dual");
        await admin.PutAsync($"/v1/admin/users/{user.UserId}/roles", new JsonObject { ["roles"] = new JsonArray("security_officer") });
        var auditBefore = (await ComplianceTestKit.AuditAsync(server, "user.roles")).Count;

        var ex = await Assert.ThrowsAsync<TeamCommsException>(() =>
            admin.PutAsync($"/v1/admin/users/{user.UserId}/roles", new JsonObject { ["roles"] = new JsonArray("security_officer", "compliance_officer") }));
        Assert.Equal(ErrorCode.RoleConflict, ex.Code);
        Assert.Equal(409, ex.HttpStatus);
        Assert.Contains("cannot be both security_officer and compliance_officer", ex.ServerMessage, StringComparison.Ordinal);
        var roles = (await admin.GetAsync($"/v1/admin/users/{user.UserId}"))!["roles"]!.AsArray().Select(r => r!.GetValue<string>());
        Assert.Equal(["security_officer"], roles);
        Assert.Equal(auditBefore, (await ComplianceTestKit.AuditAsync(server, "user.roles")).Count);

        // At creation, and through an HR import: the same rule.
        Assert.Equal(ErrorCode.RoleConflict, await RefusedAsync(() => admin.PostAsync("/v1/admin/users", new JsonObject
        {
            ["username"] = "dual2",
            ["display_name"] = "Dual",
            ["roles"] = new JsonArray("compliance_officer", "security_officer"),
        })));
        Assert.Null(await FindUserAsync(admin, "dual2@test.local"));
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseUrl, "/v1/admin/import/csv"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", admin.AccessToken);
        request.Content = new StringContent("username,display_name,roles\ndual3,Dual Three,security_officer;compliance_officer\n", Encoding.UTF8, "text/csv");
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.False(response.IsSuccessStatusCode, body);
        Assert.Contains("cannot be both security_officer and compliance_officer", body, StringComparison.Ordinal);
        Assert.Null(await FindUserAsync(admin, "dual3@test.local"));
    }

    [Fact]
    public async Task NobodyGivesThemselvesAnOfficerRole()
    {
        await using var server = await TestServer.StartAsync();
        using var admin = await server.AdminAsync();
        var me = (await admin.MeAsync())!["user_id"]!.GetValue<string>();
        foreach (var role in new[] { "security_officer", "compliance_officer" })
        {
            var ex = await Assert.ThrowsAsync<TeamCommsException>(() =>
                admin.PutAsync($"/v1/admin/users/{me}/roles", new JsonObject { ["roles"] = new JsonArray("admin", role) }));
            Assert.Equal(ErrorCode.Forbidden, ex.Code);
            Assert.Contains("nobody gives themselves the role " + role, ex.ServerMessage, StringComparison.Ordinal);
        }
        Assert.Equal(["admin"], (await admin.GetAsync($"/v1/admin/users/{me}"))!["roles"]!.AsArray().Select(r => r!.GetValue<string>()));
        // Giving it to someone else is an admin's job.
        var other = await server.CreateUserAsync("sec-other");
        await admin.PutAsync($"/v1/admin/users/{other.UserId}/roles", new JsonObject { ["roles"] = new JsonArray("security_officer") });
    }

    [Fact]
    public async Task KeyAndBackupEndpoints_NeedTheSecurityOfficer_NotTheAdmin()
    {
        using var escrow = AgeIdentity.Generate();
        var root = TempDirectory.Create("tc-roles");
        try
        {
            await using var server = await TestServer.StartAsync(ComplianceTestKit.Settings(escrow, root));
            var (user, room) = await Keys.KeyTestKit.SeedAsync(server, "roles", 1);
            using var admin = await server.AdminAsync();
            using var compliance = await server.ComplianceOfficerAsync();
            using var plain = user.Http();
            using var newEscrow = AgeIdentity.Generate();
            foreach (var client in new[] { admin, compliance, plain })
            {
                Assert.Equal(ErrorCode.Forbidden, await RefusedAsync(() => client.KeyStatusAsync()));
                Assert.Equal(ErrorCode.Forbidden, await RefusedAsync(() => client.CreateBackupAsync()));
                Assert.Equal(ErrorCode.Forbidden, await RefusedAsync(() => client.RotateKekAsync()));
                Assert.Equal(ErrorCode.Forbidden, await RefusedAsync(() => client.RotateRoomKeyAsync(room)));
                Assert.Equal(ErrorCode.Forbidden, await RefusedAsync(() => client.RequestCompanyRecipientsAsync(newEscrow.Recipient.ToString())));
            }
            Assert.Empty(Directory.Exists(Path.Combine(root, "backups")) ? Directory.GetFiles(Path.Combine(root, "backups")) : []);
            using var officer = await server.SecurityOfficerAsync();
            Assert.Equal(escrow.Recipient.KeyId, (await officer.KeyStatusAsync())!["company_recipients"]![0]!["key_id"]!.GetValue<string>());
            Assert.NotNull((await officer.CreateBackupAsync())!["path"]);
            Assert.Equal(2, (await officer.RotateRoomKeyAsync(room))!["version"]!.GetValue<int>());
        }
        finally
        {
            TempDirectory.Delete(root);
        }
    }

    [Fact]
    public async Task OrdinaryUsersAdminsAndSecurityOfficers_CannotExportOrRegisterAnExportRecipient()
    {
        using var escrow = AgeIdentity.Generate();
        var root = TempDirectory.Create("tc-roles");
        try
        {
            await using var server = await TestServer.StartAsync(ComplianceTestKit.Settings(escrow, root));
            var (user, room) = await Keys.KeyTestKit.SeedAsync(server, "no export", 2);
            using var admin = await server.AdminAsync();
            using var security = await server.SecurityOfficerAsync();
            using var plain = user.Http();
            using var key = AgeIdentity.Generate();
            foreach (var client in new[] { admin, security, plain })
            {
                var ex = await Assert.ThrowsAsync<TeamCommsException>(() => client.CreateExportAsync(room: room));
                Assert.Equal((ErrorCode.Forbidden, 403), (ex.Code, ex.HttpStatus));
                Assert.Equal(ErrorCode.Forbidden, await RefusedAsync(() => client.SetExportRecipientAsync(key.Recipient.ToString())));
                Assert.Equal(ErrorCode.Forbidden, await RefusedAsync(() => client.ListExportsAsync()));
            }
            Assert.False(Directory.Exists(Path.Combine(root, "exports")) && Directory.EnumerateFileSystemEntries(Path.Combine(root, "exports")).Any());
            Assert.Empty(await ComplianceTestKit.AuditAsync(server, "compliance.export"));
            Assert.Empty(await security.ListApprovalsAsync());
        }
        finally
        {
            TempDirectory.Delete(root);
        }
    }

    [Fact]
    public async Task AnAccountThatAlreadyHoldsBothRoles_IsRefusedExportsRecipientsAndApprovals()
    {
        using var escrow = AgeIdentity.Generate();
        var root = TempDirectory.Create("tc-roles");
        try
        {
            await using var server = await TestServer.StartAsync(ComplianceTestKit.Settings(escrow, root));
            var (_, room) = await Keys.KeyTestKit.SeedAsync(server, "both", 1);
            using var compliance = await server.ComplianceOfficerAsync("both");
            using var requester = await server.ComplianceOfficerAsync();
            using var key = AgeIdentity.Generate();
            var pending = (await requester.SetExportRecipientAsync(key.Recipient.ToString()))!["id"]!.GetValue<long>();
            // Roles given before the rule existed: written straight into the account row, as an old data directory has them.
            var accounts = server.Services.GetRequiredService<AccountStore>();
            var row = accounts.FindUser("both@test.local")!;
            accounts.UpdateUser(row with { Roles = ["compliance_officer", "security_officer"] });

            foreach (var call in new Func<Task>[]
            {
                () => compliance.CreateExportAsync(room: room),
                () => compliance.SetExportRecipientAsync(key.Recipient.ToString()),
                () => compliance.ApproveAsync(pending),
                () => compliance.KeyStatusAsync(),
                () => compliance.CreateBackupAsync(),
            })
            {
                var ex = await Assert.ThrowsAsync<TeamCommsException>(call);
                Assert.Equal(ErrorCode.RoleConflict, ex.Code);
                Assert.Contains("holds both security_officer and compliance_officer", ex.ServerMessage, StringComparison.Ordinal);
            }
            using var security = await server.SecurityOfficerAsync();
            Assert.Equal("pending", (await security.GetApprovalAsync(pending))!["status"]!.GetValue<string>());
            // The admin must remove one; then the account works again for its one role.
            using var admin = await server.AdminAsync();
            await admin.PutAsync("/v1/admin/users/both@test.local/roles", new JsonObject { ["roles"] = new JsonArray("security_officer") });
            await compliance.ApproveAsync(pending);
        }
        finally
        {
            TempDirectory.Delete(root);
        }
    }

    private static async Task<JsonObject?> FindUserAsync(TeamCommsHttpClient admin, string userId)
    {
        try
        {
            return await admin.GetAsync($"/v1/admin/users/{userId}");
        }
        catch (TeamCommsException ex) when (ex.Code is ErrorCode.UnknownUser or ErrorCode.NotFound)
        {
            return null;
        }
    }
}
