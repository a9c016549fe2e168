using System.Text.Json.Nodes;
using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.CompanyDirectory;

/// <summary>
/// SCIM 2.0 over real HTTP, with requests shaped like the examples in Okta's SCIM 2.0 reference and Microsoft Entra
/// ID's SCIM provisioning guide.
/// </summary>
public class ScimTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private TestServer Server => shared.Server;

    [Fact]
    public async Task Okta_UserLifecycle_CreateFindReplaceDeactivate()
    {
        using var scim = new ScimClient(Server.BaseUrl, await Server.CreateScimTokenAsync("okta"));
        var (status, empty) = await scim.GetAsync("Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100");
        Assert.Equal(200, status);
        Assert.Equal(0, empty!["totalResults"]!.GetValue<int>());
        Assert.Equal("urn:ietf:params:scim:api:messages:2.0:ListResponse", empty["schemas"]![0]!.GetValue<string>());

        var (created, user) = await scim.PostAsync("Users", """
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"test.user@okta.local",
             "name":{"givenName":"Test","familyName":"User"},
             "emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],
             "displayName":"Test User","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7","groups":[],
             "password":"1mz050nq","active":true}
            """);
        Assert.Equal(201, created);
        var id = user!["id"]!.GetValue<string>();
        Assert.Equal("test.user@test.local", id);
        Assert.Equal(("test.user@okta.local", "Test User", true, "00ujl29u0le5T6Aj10h7"),
            (user["userName"]!.GetValue<string>(), user["displayName"]!.GetValue<string>(), user["active"]!.GetValue<bool>(), user["externalId"]!.GetValue<string>()));

        var (_, found) = await scim.GetAsync("Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100");
        Assert.Equal(1, found!["totalResults"]!.GetValue<int>());
        Assert.Equal(id, found["Resources"]![0]!["id"]!.GetValue<string>());
        var (_, byExternal) = await scim.GetAsync("Users?filter=externalId%20eq%20%2200ujl29u0le5T6Aj10h7%22");
        Assert.Equal(1, byExternal!["totalResults"]!.GetValue<int>());

        // Okta updates profiles with PUT of the whole user.
        var (replaced, after) = await scim.PutAsync($"Users/{Uri.EscapeDataString(id)}", $$$"""
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
             "id":"{{{id}}}","userName":"test.user@okta.local","name":{"givenName":"Another","familyName":"User"},
             "emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],"displayName":"Another User",
             "title":"Account Executive","active":true,
             "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"}}
            """);
        Assert.Equal(200, replaced);
        Assert.Equal(("Another User", "Account Executive"), (after!["displayName"]!.GetValue<string>(), after["title"]!.GetValue<string>()));
        var profile = await (await Server.AdminAsync()).GetAsync($"/v1/directory/users/{Uri.EscapeDataString(id)}");
        Assert.Equal("Sales", profile!["department"]!.GetValue<string>());

        var (patched, deactivated) = await scim.PatchAsync($"Users/{Uri.EscapeDataString(id)}", """
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}
            """);
        Assert.Equal(200, patched);
        Assert.False(deactivated!["active"]!.GetValue<bool>());

        using var admin = await Server.AdminAsync();
        var audit = await admin.GetAsync("/v1/admin/audit?actor=scim%3Aokta");
        var actions = audit!["entries"]!.AsArray().Select(e => e!["action"]!.GetValue<string>()).ToList();
        Assert.Contains("user.create", actions);
        Assert.Contains("scim.user.update", actions);
        Assert.Contains("user.deactivate", actions);
    }

    [Fact]
    public async Task Entra_UserLifecycle_CreateQueryPatchDisableDelete()
    {
        using var scim = new ScimClient(Server.BaseUrl, await Server.CreateScimTokenAsync("entra"));
        var (created, user) = await scim.PostAsync("Users", """
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
             "externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
             "userName":"Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1","active":true,
             "emails":[{"primary":true,"type":"work","value":"Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
             "meta":{"resourceType":"User"},
             "name":{"formatted":"givenName familyName","familyName":"familyName","givenName":"givenName"},
             "roles":[]}
            """);
        Assert.Equal(201, created);
        var id = user!["id"]!.GetValue<string>();
        Assert.Equal("test_user_ab6490ee-1e48-479e-a20b-2d77186b5dd1@test.local", id);
        Assert.Equal("givenName familyName", user["displayName"]!.GetValue<string>());

        var (_, query) = await scim.GetAsync("Users?filter=userName eq \"Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1\"");
        Assert.Equal(1, query!["totalResults"]!.GetValue<int>());
        var (_, none) = await scim.GetAsync("Users?filter=userName eq \"non-existent user\"");
        Assert.Equal((0, 0), (none!["totalResults"]!.GetValue<int>(), none["Resources"]!.AsArray().Count));

        var path = $"Users/{Uri.EscapeDataString(id)}";
        var (patched, updated) = await scim.PatchAsync(path, """
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
              {"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"},
              {"op":"Replace","path":"name.familyName","value":"updatedFamilyName"},
              {"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Engineering"},
              {"op":"Add","path":"phoneNumbers[type eq \"work\"].value","value":"+49 30 1234567"},
              {"op":"Add","path":"addresses[type eq \"work\"].locality","value":"Berlin"},
              {"op":"Replace","path":"preferredLanguage","value":"de-DE"}]}
            """);
        Assert.Equal(200, patched);
        Assert.Equal("updatedEmail@microsoft.com", updated!["emails"]![0]!["value"]!.GetValue<string>());
        Assert.Equal("updatedFamilyName", updated["name"]!["familyName"]!.GetValue<string>());
        Assert.Equal("Engineering", updated["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]!["department"]!.GetValue<string>());
        Assert.Equal("Berlin", updated["addresses"]![0]!["locality"]!.GetValue<string>());

        // Entra ID in its older mode sends booleans as strings.
        var (disabled, off) = await scim.PatchAsync(path, """
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}
            """);
        Assert.Equal(200, disabled);
        Assert.False(off!["active"]!.GetValue<bool>());

        Assert.Equal(204, (await scim.DeleteAsync(path)).Status);
        var (gone, error) = await scim.GetAsync(path);
        Assert.Equal(404, gone);
        Assert.Equal(("urn:ietf:params:scim:api:messages:2.0:Error", "404"), (error!["schemas"]![0]!.GetValue<string>(), error["status"]!.GetValue<string>()));
        // The data stays with the company: the account still exists, deactivated.
        Assert.False(Server.Services.GetAccountStore().FindUser(id)!.Active);
    }

    [Fact]
    public async Task Groups_OktaAndEntraShapes_DriveRuleBoundRoomMembership()
    {
        using var scim = new ScimClient(Server.BaseUrl, await Server.CreateScimTokenAsync("okta-groups"));
        var ids = new List<string>();
        foreach (var name in new[] { "gina", "hugo", "ines" })
        {
            var (_, u) = await scim.PostAsync("Users", $$"""
                {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{{name}}.grp@okta.local",
                 "name":{"givenName":"{{name}}","familyName":"Group"},"emails":[{"primary":true,"value":"{{name}}.grp@okta.local","type":"work"}],
                 "displayName":"{{name}} Group","active":true}
                """);
            ids.Add(u!["id"]!.GetValue<string>());
        }
        var (created, group) = await scim.PostAsync("Groups", """
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Sales EMEA","members":[]}
            """);
        Assert.Equal(201, created);
        var groupId = group!["id"]!.GetValue<string>();

        using var admin = await Server.AdminAsync();
        await admin.PostAsync("/v1/admin/rules", new JsonObject { ["name"] = "sales-emea-grp", ["expression"] = "group = \"Sales EMEA\"" });
        var room = (await admin.PostAsync("/v1/admin/rooms", new JsonObject { ["name"] = "Sales EMEA", ["rules"] = new JsonArray("sales-emea-grp") }))!["room_id"]!.GetValue<string>();
        // A room bound to the group itself follows it by id, whatever the group is called later.
        var groupRoom = (await admin.PostAsync("/v1/admin/rooms", new JsonObject { ["name"] = "Sales EMEA (group)", ["groups"] = new JsonArray(groupId) }))!["room_id"]!.GetValue<string>();

        // Okta adds members with a path and {value, display}.
        var (added, _) = await scim.PatchAsync($"Groups/{groupId}", $$"""
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members",
              "value":[{"value":"{{ids[0]}}","display":"gina.grp@okta.local"},{"value":"{{ids[1]}}","display":"hugo.grp@okta.local"}]}]}
            """);
        Assert.Equal(204, added);
        // Committed before the response: the room's state already has them, as managed members.
        var state = Server.Services.GetRoomRegistry().Find(room)!.View.State;
        Assert.True(state.Member(ids[0]) is { Membership: "join", Managed: true });
        Assert.True(state.IsJoined(ids[1]));

        // Entra ID adds and removes with "$ref": null and capitalized ops.
        Assert.Equal(204, (await scim.PatchAsync($"Groups/{groupId}", $$"""
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
              {"op":"Add","path":"members","value":[{"$ref":null,"value":"{{ids[2]}}"}]},
              {"op":"Remove","path":"members","value":[{"$ref":null,"value":"{{ids[1]}}"}]}]}
            """)).Status);
        // Okta removes with a filtered path.
        Assert.Equal(204, (await scim.PatchAsync($"Groups/{groupId}", $$"""
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"{{ids[0]}}\"]"}]}
            """)).Status);
        state = Server.Services.GetRoomRegistry().Find(room)!.View.State;
        Assert.Equal((false, false, true), (state.IsJoined(ids[0]), state.IsJoined(ids[1]), state.IsJoined(ids[2])));

        // Entra ID looks groups up by displayName without members, then renames with a Replace.
        var (_, lookup) = await scim.GetAsync("Groups?excludedAttributes=members&filter=displayName eq \"Sales EMEA\"");
        Assert.Equal(1, lookup!["totalResults"]!.GetValue<int>());
        Assert.Null(lookup["Resources"]![0]!["members"]);
        Assert.Equal(204, (await scim.PatchAsync($"Groups/{groupId}", """
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"displayName","value":"Sales Europe"}]}
            """)).Status);
        // The rule names the old group name, so its member leaves: renames are membership changes too.
        Assert.False(Server.Services.GetRoomRegistry().Find(room)!.View.State.IsJoined(ids[2]));
        // The room bound to the group by id keeps its member.
        var byGroup = Server.Services.GetRoomRegistry().Find(groupRoom)!.View.State;
        Assert.Equal((false, false, true), (byGroup.IsJoined(ids[0]), byGroup.IsJoined(ids[1]), byGroup.IsJoined(ids[2])));
        var (_, renamed) = await scim.GetAsync($"Groups/{groupId}");
        Assert.Equal("Sales Europe", renamed!["displayName"]!.GetValue<string>());

        // The leave events are in the room's log, sent by the server on the directory's behalf.
        var user = await Server.CreateUserAsync();
        var history = Server.Services.GetEventStore().ReadRange(Server.Services.GetRoomRegistry().Find(room)!.Key, 1, long.MaxValue, true, 100)
            .Select(e => EventCodec.Read(e.Wire)).Where(e => e.Type == EventTypes.Member).ToList();
        Assert.Contains(history, e => (string)e.ContentMap["user"]! == ids[0] && (string)e.ContentMap["membership"]! == "leave"
            && e.Sender == "_system@test.local" && (string)e.ContentMap["by"]! == "scim:okta-groups");
        Assert.Equal(204, (await scim.DeleteAsync($"Groups/{groupId}")).Status);
        Assert.Equal(404, (await scim.GetAsync($"Groups/{groupId}")).Status);
        _ = user;
    }

    [Fact]
    public async Task BadInput_GetsRfc7644Errors_AndNothingIsApplied()
    {
        using var anonymous = new ScimClient(Server.BaseUrl, null);
        var (noToken, noTokenBody) = await anonymous.GetAsync("Users");
        Assert.Equal((401, "401"), (noToken, noTokenBody!["status"]!.GetValue<string>()));
        using var forged = new ScimClient(Server.BaseUrl, "tcscim_forged");
        Assert.Equal(401, (await forged.GetAsync("Users")).Status);
        using var userToken = new ScimClient(Server.BaseUrl, (await Server.CreateUserAsync()).Token);
        Assert.Equal(401, (await userToken.GetAsync("Users")).Status);

        var token = await Server.CreateScimTokenAsync("bad-input");
        using var scim = new ScimClient(Server.BaseUrl, token);
        await AssertError(scim.PostAsync("Users", """{"userName":"noschema@x"}"""), 400, "invalidSyntax");
        await AssertError(scim.PostAsync("Users", """{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"userName":"wrongschema@x"}"""), 400, "invalidSyntax");
        await AssertError(scim.PostAsync("Users", "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"x@x\""), 400, "invalidSyntax");
        await AssertError(scim.PostAsync("Users", """{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"displayName":"No Name"}"""), 400, "invalidValue");
        await AssertError(scim.GetAsync("Users?filter=userName%20sw%20%22a%22"), 400, "invalidFilter");
        await AssertError(scim.GetAsync("Users?filter=title%20eq%20%22CEO%22"), 400, "invalidFilter");

        var body = """{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"dup@okta.local","displayName":"Dup"}""";
        var (first, user) = await scim.PostAsync("Users", body);
        Assert.Equal(201, first);
        await AssertError(scim.PostAsync("Users", body), 409, "uniqueness");
        await AssertError(scim.PostAsync("Users", body.Replace("dup@okta.local", "DUP@OKTA.LOCAL", StringComparison.Ordinal)), 409, "uniqueness");

        var path = $"Users/{Uri.EscapeDataString(user!["id"]!.GetValue<string>())}";
        await AssertError(scim.PatchAsync(path, """{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"move","path":"title","value":"x"}]}"""), 400, "invalidSyntax");
        await AssertError(scim.PatchAsync(path, """{"Operations":[{"op":"replace","path":"title","value":"x"}]}"""), 400, "invalidSyntax");
        await AssertError(scim.PatchAsync(path, """{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove"}]}"""), 400, "noTarget");
        // One good and one bad operation: the whole request is refused, the good one is not applied.
        await AssertError(scim.PatchAsync(path, """
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
              {"op":"replace","path":"title","value":"Chief Everything"},{"op":"replace","path":"shoeSize","value":"44"}]}
            """), 400, "invalidPath");
        await AssertError(scim.PatchAsync(path, """
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
              {"op":"replace","path":"title","value":"Chief Everything"},{"op":"replace","path":"timezone","value":"Mars/Olympus"}]}
            """), 400, "invalidValue");
        var (_, unchanged) = await scim.GetAsync(path);
        Assert.Null(unchanged!["title"]);
        await AssertError(scim.GetAsync("Users/nobody%40test.local"), 404, null);
        await AssertError(scim.PostAsync("Groups", """{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G","members":[{"value":"ghost@test.local"}]}"""), 400, "invalidValue");
        var (_, groups) = await scim.GetAsync("Groups?filter=displayName%20eq%20%22G%22");
        Assert.Equal(0, groups!["totalResults"]!.GetValue<int>());

        // A revoked token stops working at once.
        using var admin = await Server.AdminAsync();
        var tokens = await admin.GetAsync("/v1/admin/scim/tokens");
        var tokenId = tokens!["tokens"]!.AsArray().First(t => t!["name"]!.GetValue<string>() == "bad-input")!["id"]!.GetValue<string>();
        await admin.SendAsync(HttpMethod.Delete, $"/v1/admin/scim/tokens/{tokenId}", null);
        Assert.Equal(401, (await scim.GetAsync("Users")).Status);
    }

    [Fact]
    public async Task Discovery_DescribesUsersGroupsAndBearerAuth()
    {
        using var scim = new ScimClient(Server.BaseUrl, await Server.CreateScimTokenAsync("discovery"));
        var (_, config) = await scim.GetAsync("ServiceProviderConfig");
        Assert.True(config!["patch"]!["supported"]!.GetValue<bool>());
        Assert.Equal("oauthbearertoken", config["authenticationSchemes"]![0]!["type"]!.GetValue<string>());
        var (_, types) = await scim.GetAsync("ResourceTypes");
        Assert.Equal(["User", "Group"], types!["Resources"]!.AsArray().Select(r => r!["name"]!.GetValue<string>()));
        var (status, schemas) = await scim.GetAsync("Schemas");
        Assert.Equal(200, status);
        Assert.Contains(schemas!["Resources"]!.AsArray(), s => s!["id"]!.GetValue<string>() == "urn:ietf:params:scim:schemas:core:2.0:User");
    }

    [Fact]
    public async Task Users_PageWithStartIndexAndCount()
    {
        using var scim = new ScimClient(Server.BaseUrl, await Server.CreateScimTokenAsync("paging"));
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(201, (await scim.PostAsync("Users", $$"""{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"page{{i}}@okta.local"}""")).Status);
        }
        var (_, all) = await scim.GetAsync("Users?startIndex=1&count=200");
        var total = all!["totalResults"]!.GetValue<int>();
        Assert.Equal(total, all["Resources"]!.AsArray().Count);
        var ids = new List<string>();
        for (var start = 1; start <= total; start += 2)
        {
            var (_, page) = await scim.GetAsync($"Users?startIndex={start}&count=2");
            Assert.Equal((total, start), (page!["totalResults"]!.GetValue<int>(), page["startIndex"]!.GetValue<int>()));
            Assert.Equal(page["itemsPerPage"]!.GetValue<int>(), page["Resources"]!.AsArray().Count);
            ids.AddRange(page["Resources"]!.AsArray().Select(r => r!["id"]!.GetValue<string>()));
        }
        Assert.Equal(all["Resources"]!.AsArray().Select(r => r!["id"]!.GetValue<string>()), ids);
    }

    private static async Task AssertError(Task<(int Status, JsonObject? Body)> call, int status, string? scimType)
    {
        var (actual, body) = await call;
        Assert.Equal(status, actual);
        Assert.Equal("urn:ietf:params:scim:api:messages:2.0:Error", body!["schemas"]![0]!.GetValue<string>());
        Assert.Equal(status.ToString(System.Globalization.CultureInfo.InvariantCulture), body["status"]!.GetValue<string>());
        Assert.Equal(scimType, body["scimType"]?.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(body["detail"]?.GetValue<string>()));
    }
}
