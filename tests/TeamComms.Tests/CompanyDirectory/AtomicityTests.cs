using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Server.Audit;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.CompanyDirectory;

public class AtomicityTests
{
    [Fact]
    public async Task FailedCommit_LeavesNoUserNoProfileNoIndexNoAuditEntry()
    {
        // The data volume is "full" for the room log (1 PiB must stay free), so every directory commit fails.
        await using var server = await TestServer.StartAsync(new() { ["TeamComms:Storage:MinFreeBytes"] = (1L << 50).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        using var admin = await server.AdminAsync();
        var auditBefore = server.Services.GetRequiredService<AuditLog>().LastSeq;
        var usersBefore = server.Services.GetRequiredService<DirectoryService>().Snapshot.Users.Count;

        var refused = await Assert.ThrowsAsync<TeamCommsException>(() => admin.PostAsync("/v1/admin/users",
            new JsonObject { ["username"] = "ghost", ["display_name"] = "Ghost Writer", ["department"] = "Nowhere" }));
        Assert.Equal((ErrorCode.StorageFull, 507), (refused.Code, refused.HttpStatus));

        var token = (await admin.PostAsync("/v1/admin/scim/tokens", new JsonObject { ["name"] = "full-disk" }))!["token"]!.GetValue<string>();
        using var scim = new ScimClient(server.BaseUrl, token);
        var (status, body) = await scim.PostAsync("Users", """{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ghost2@idp.example"}""");
        Assert.Equal((503, "503"), (status, body!["status"]!.GetValue<string>()));

        Assert.Null(server.Services.GetAccountStore().FindUser("ghost@test.local"));
        Assert.Null(server.Services.GetAccountStore().FindUser("ghost2@test.local"));
        Assert.Equal(usersBefore, server.Services.GetRequiredService<DirectoryService>().Snapshot.Users.Count);
        Assert.Empty((await admin.GetAsync("/v1/directory/search?q=ghost"))!["users"]!.AsArray());
        Assert.Empty((await admin.GetAsync("/v1/directory/search?q=nowhere&field=department"))!["users"]!.AsArray());
        // Only the token creation (which needs no room event) was recorded; the refused changes left no entry.
        Assert.Equal(auditBefore + 1, server.Services.GetRequiredService<AuditLog>().LastSeq);
        Assert.True((await admin.GetAsync("/v1/admin/audit/verify"))!["ok"]!.GetValue<bool>());
    }
}
