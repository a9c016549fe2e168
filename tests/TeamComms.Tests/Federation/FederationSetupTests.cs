using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Federation;
using TeamComms.Server.Federation;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Federation;

/// <summary>Federation is off by default, servers are found through well-known documents or the partner table, TLS is required, and admins manage partners.</summary>
[Collection("federation")]
public class FederationSetupTests
{
    [Fact]
    public async Task FederationIsOffByDefault_NothingAnswers_NoRemoteInvite_AndRequestsAreAudited()
    {
        await using var server = await TestServer.StartAsync();
        using var http = new HttpClient();
        var keys = await http.GetAsync(new Uri(server.BaseUrl, "/v1/federation/keys"));
        Assert.Equal(403, (int)keys.StatusCode);
        var send = await http.PutAsync(new Uri(server.BaseUrl, "/v1/federation/send/x"), new ByteArrayContent([0x80]));
        Assert.Equal(403, (int)send.StatusCode);
        var wellKnown = await http.GetAsync(new Uri(server.BaseUrl, "/.well-known/teamcomms/server"));
        Assert.Equal(404, (int)wellKnown.StatusCode);
        var user = await server.CreateUserAsync();
        await using var c = await user.ConnectAsync();
        var ex = await Assert.ThrowsAsync<TeamCommsException>(() => c.CreateRoomAsync("x", invite: ["bob@partner.example"]));
        Assert.Equal(ErrorCode.UnknownUser, ex.Code);
        using var admin = await server.AdminAsync();
        var audit = await admin.FederationAuditAsync();
        Assert.Contains(audit, e => e["kind"]!.GetValue<string>() == FederationAuditKinds.UnlistedOrigin && e["detail"]!.GetValue<string>().Contains("federation is off", StringComparison.Ordinal));
        Assert.False((await admin.FederationStatusAsync())!["enabled"]!.GetValue<bool>());
    }

    [Fact]
    public async Task WellKnownDiscovery_FindsTheServer_AndAPartnerEntryOverridesIt()
    {
        // b is named after a resolvable host (localhost:port) and publishes its base URL; a lists it without a URL.
        await using var cluster = await FederatedServers.StartAsync(2, partner: false,
            name: (i, port) => i == 0 ? "a.test" : $"localhost:{port}",
            perServer: s => s.Name.StartsWith("localhost", StringComparison.Ordinal)
                ? new() { ["TeamComms:Federation:PublicBaseUrl"] = s.BaseUrl }
                : []);
        await cluster.A.AddPartnerAsync(cluster.B, baseUrl: ""); // no override: discovery
        await cluster.B.AddPartnerAsync(cluster.A);
        using var http = new HttpClient();
        var wellKnown = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync(new Uri(new Uri(cluster.B.BaseUrl), "/.well-known/teamcomms/server")))!;
        Assert.Equal(cluster.B.BaseUrl, wellKnown["base_url"]!.GetValue<string>());

        var alice = await cluster.A.CreateUserAsync("alice");
        var bob = await cluster.B.CreateUserAsync("bob");
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await using var events = new EventCollector(b);
        var room = await a.CreateRoomAsync("found", invite: [bob.UserId]);
        await events.WaitAsync(es => es.Any(e => e.RoomId == room));
        await b.JoinAsync(room);
        await a.SendTextAsync(room, "via well-known");
        await events.WaitForMessagesAsync(room, 1);

        // A partner entry with a base URL wins over the well-known document (here pointing at a closed port).
        var dead = $"http://127.0.0.1:{FederatedServers.FreePort()}";
        await cluster.A.AddPartnerAsync(cluster.B, baseUrl: dead);
        await a.SendTextAsync(room, "to the dead address");
        await cluster.A.Senders.WaitAsync(s => s.Find(cluster.B.Name) is { Failures: > 0 }, TimeSpan.FromSeconds(20));
        Assert.Contains("cannot be reached", cluster.A.Senders.Find(cluster.B.Name)!.LastError, StringComparison.Ordinal);
        await cluster.A.AddPartnerAsync(cluster.B, baseUrl: cluster.B.BaseUrl);
        await events.WaitForMessagesAsync(room, 2);
    }

    [Fact]
    public async Task TlsIsRequired_OutsideTheLoopbackTestMode()
    {
        await using var cluster = await FederatedServers.StartAsync(2, new() { ["TeamComms:Federation:AllowInsecureLoopback"] = "false" }, partner: false);
        using var admin = await cluster.A.Server.AdminAsync();
        var ex = await Assert.ThrowsAsync<TeamCommsException>(() => admin.AddPartnerAsync("b.test", cluster.B.BaseUrl));
        Assert.Equal(ErrorCode.BadRequest, ex.Code);
        Assert.Contains("requires TLS", ex.ServerMessage, StringComparison.Ordinal);
        await admin.AddPartnerAsync("b.test", "https://b.test.invalid:8448");
        using var bAdmin = await cluster.B.Server.AdminAsync();
        await bAdmin.AddPartnerAsync("a.test", "https://a.test.invalid:8448");
        // A correctly signed request from a partner over plain HTTP is refused.
        var (status, body) = await FederationProbe.SendAsync(cluster.A, cluster.B, HttpMethod.Put, "/v1/federation/send/x",
            new FederationTransaction("x", "a.test", "b.test", FederationProbe.Now(cluster.A), [], []).ToBytes());
        Assert.Equal(403, status);
        Assert.Equal("federation_refused", FederationProbe.ErrorCodeOf(body));
        await cluster.B.WaitForAuditAsync(FederationAuditKinds.UnlistedOrigin, "requires TLS");

        // A plain-HTTP public URL without the loopback test mode stops the start.
        var options = new FederationOptions { Enabled = true, PublicBaseUrl = "http://chat.acme.example" };
        Assert.Contains(options.Validate(), e => e.Contains("requires TLS", StringComparison.Ordinal));
        Assert.Empty(new FederationOptions { Enabled = true, PublicBaseUrl = "https://chat.acme.example:8448" }.Validate());
        Assert.Contains(new FederationOptions { PublicBaseUrl = "https://chat.acme.example/some/path" }.Validate(), e => e.Contains("no path", StringComparison.Ordinal));
        await Assert.ThrowsAsync<OptionsValidationException>(() => TestServer.StartAsync(new()
        {
            ["TeamComms:Federation:Enabled"] = "true",
            ["TeamComms:Federation:PublicBaseUrl"] = "http://chat.acme.example",
        }));
    }

    [Fact]
    public async Task RemovingAPartner_HoldsItsOutbox_AndRefusesItsRequests_UntilItIsListedAgain()
    {
        await using var cluster = await FederatedServers.StartAsync(2);
        var alice = await cluster.A.CreateUserAsync("alice");
        var bob = await cluster.B.CreateUserAsync("bob");
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await using var events = new EventCollector(b);
        var room = await a.CreateRoomAsync("on and off", invite: [bob.UserId]);
        await events.WaitAsync(es => es.Any(e => e.RoomId == room));
        await b.JoinAsync(room);
        using var aAdmin = await cluster.A.Server.AdminAsync();
        await aAdmin.RemovePartnerAsync("b.test");
        Assert.DoesNotContain(await aAdmin.ListPartnersAsync(), p => p["server"]!.GetValue<string>() == "b.test");
        await a.SendTextAsync(room, "held");
        await cluster.A.WaitForAuditAsync(FederationAuditKinds.UnlistedDestination, "outbox held");
        var (status, _) = await FederationProbe.SendAsync(cluster.B, cluster.A, HttpMethod.Get, $"/v1/federation/rooms/{Uri.EscapeDataString(room)}/events?from=1");
        Assert.Equal(403, status);
        Assert.DoesNotContain(events.InRoom(room), e => e.Type == EventTypes.Message);

        await aAdmin.AddPartnerAsync("b.test", cluster.B.BaseUrl, "back again");
        var got = await events.WaitForMessagesAsync(room, 1);
        Assert.Equal("held", got.Single(e => e.Type == EventTypes.Message).ContentMap["body"]);
        var audit = await aAdmin.FederationAuditAsync();
        Assert.Contains(audit, e => e["kind"]!.GetValue<string>() == FederationAuditKinds.PartnerRemoved && e["detail"]!.GetValue<string>().Contains("admin@a.test", StringComparison.Ordinal));
        Assert.Contains(audit, e => e["kind"]!.GetValue<string>() == FederationAuditKinds.PartnerAdded);
    }

    [Fact]
    public async Task Cli_ManagesPartnersKeysAndShowsStatus()
    {
        await using var cluster = await FederatedServers.StartAsync(1, partner: false);
        var dir = TempDirectory.Create("tc-fedcli");
        try
        {
            var config = Path.Combine(dir, "admin.json");
            Assert.Equal(0, (await RunCliAsync(config, TestServer.AdminPassword, "login", "--server", cluster.A.BaseUrl, "--user", "admin", "--password-stdin")).Code);
            var add = await RunCliAsync(config, null, "admin", "federation", "partners", "add", "partner.example", "--base-url", "https://chat.partner.example:8448", "--note", "subsidiary");
            Assert.Equal((0, "partner partner.example added"), (add.Code, add.Out));
            var list = await RunCliAsync(config, null, "admin", "federation", "partners", "list");
            Assert.Contains("partner.example\thttps://chat.partner.example:8448\tsubsidiary", list.Out, StringComparison.Ordinal);
            var bad = await RunCliAsync(config, null, "admin", "federation", "partners", "add", "plain.example", "--base-url", "http://plain.example");
            Assert.Equal(1, bad.Code);
            Assert.Contains("error: bad_request", bad.Err, StringComparison.Ordinal);
            var rotated = await RunCliAsync(config, null, "admin", "federation", "keys", "rotate");
            Assert.StartsWith("ed25519:", rotated.Out, StringComparison.Ordinal);
            var status = await RunCliAsync(config, null, "admin", "federation", "status");
            Assert.Contains($"key {rotated.Out}", status.Out, StringComparison.Ordinal);
            Assert.Equal(0, (await RunCliAsync(config, null, "admin", "federation", "partners", "remove", "partner.example")).Code);
            var audit = await RunCliAsync(config, null, "admin", "federation", "audit");
            Assert.Contains(FederationAuditKinds.PartnerRemoved, audit.Out, StringComparison.Ordinal);
            Assert.Contains(FederationAuditKinds.KeyRotated, audit.Out, StringComparison.Ordinal);
        }
        finally
        {
            TempDirectory.Delete(dir);
        }
    }

    [Fact]
    public async Task ServerSigningKey_IsSealedAtRest_AndSurvivesARestart()
    {
        await using var cluster = await FederatedServers.StartAsync(1, partner: false);
        var ring = cluster.A.Services.GetRequiredService<ServerKeyRing>();
        var keyId = ring.KeyId;
        var store = cluster.A.Services.GetRequiredService<TeamComms.Server.Storage.RocksStore>();
        var raw = store.ScanPrefix(store.Federation, [(byte)'k']).Select(kv => System.Text.Json.JsonDocument.Parse(kv.Value).RootElement).ToList();
        var record = Assert.Single(raw);
        Assert.True(record.GetProperty("sealed").GetBoolean());
        var opened = cluster.A.Services.GetRequiredService<TeamComms.Server.Storage.FederationStore>().OwnKeys().Single();
        using (var key = TeamComms.Crypto.SigningKey.Import(opened.Seed))
        {
            Assert.Equal(keyId, key.KeyId);
        }
        var stored = record.GetProperty("seed").GetBytesFromBase64();
        Assert.True(stored.AsSpan().IndexOf(opened.Seed) < 0, "the seed is not stored in clear");

        await cluster.StopAsync(cluster.A);
        await cluster.RestartAsync(cluster.A);
        Assert.Equal(keyId, cluster.A.Services.GetRequiredService<ServerKeyRing>().KeyId);
    }

    [Fact]
    public async Task RefusalsAndAdminActions_AreInTheCompanyAuditLog()
    {
        await using var cluster = await FederatedServers.StartAsync(2);
        // An admin action (recorded before the call answers) and a refusal (recorded in the background).
        using var admin = await cluster.B.Server.AdminAsync();
        await admin.AddPartnerAsync("c.test", "http://127.0.0.1:1", "audited");
        await admin.RemovePartnerAsync("c.test");
        var (status, _) = await FederationProbe.SendAsync(cluster.A, cluster.B, HttpMethod.Get, "/v1/federation/keys/x", originName: "mallory.test");
        Assert.Equal(403, status);

        async Task<System.Text.Json.Nodes.JsonArray> QueryAsync(string action) =>
            (await admin.SendAsync(HttpMethod.Get, $"/v1/admin/audit?action={action}", null))!["entries"]!.AsArray();
        var added = Assert.Single(await QueryAsync("federation.partner_added"), e => e!["target"]!.GetValue<string>() == "c.test")!;
        Assert.Equal("admin@b.test", added["actor"]!.GetValue<string>());
        Assert.Single(await QueryAsync("federation.partner_removed"), e => e!["target"]!.GetValue<string>() == "c.test");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        System.Text.Json.Nodes.JsonArray refused;
        while ((refused = await QueryAsync("federation." + FederationAuditKinds.UnlistedOrigin)).Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20); // appended by the audit writer in the background
        }
        var entry = Assert.Single(refused)!;
        Assert.Equal("federation:mallory.test", entry["actor"]!.GetValue<string>());
    }

    private static Task<(int Code, string Out, string Err)> RunCliAsync(string config, string? stdin, params string[] args) => CliRunner.RunAsync(config, stdin, args);
}
