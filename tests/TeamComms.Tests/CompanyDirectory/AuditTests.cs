using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using TeamComms.Client;
using TeamComms.Crypto;
using TeamComms.Protocol;
using TeamComms.Protocol.Audit;
using TeamComms.Server.Audit;
using TeamComms.Server.Storage;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.CompanyDirectory;

public class AuditTests
{
    [Fact]
    public async Task Query_FiltersAndPages_NewestFirst_ForAuditorsOnly()
    {
        await using var server = await TestServer.StartAsync();
        using var admin = await server.AdminAsync();
        for (var i = 0; i < 5; i++)
        {
            await server.CreateProfiledUserAsync($"aq{i}", new JsonObject { ["department"] = "Audit" });
        }
        await admin.PostAsync("/v1/admin/roles", new JsonObject { ["name"] = "auditor_helper" });
        await admin.PutAsync("/v1/admin/policies", new JsonObject { ["invites"] = "moderators" });

        var seen = new List<long>();
        string? before = null;
        while (true)
        {
            var page = await admin.GetAsync("/v1/admin/audit?limit=3" + (before is null ? "" : "&before=" + before));
            var entries = page!["entries"]!.AsArray();
            Assert.True(entries.Count <= 3);
            seen.AddRange(entries.Select(e => e!["seq"]!.GetValue<long>()));
            before = page["next"]?.ToString();
            if (before is null)
            {
                break;
            }
        }
        Assert.Equal(Enumerable.Range(1, seen.Count).Reverse().Select(i => (long)i), seen);
        Assert.Equal(server.Services.GetRequiredService<AuditLog>().LastSeq, seen.Count);

        var creates = (await admin.GetAsync("/v1/admin/audit?action=user.create"))!["entries"]!.AsArray();
        Assert.Equal(5, creates.Count);
        Assert.All(creates, e => Assert.Equal(("admin@test.local", "127.0.0.1"), (e!["actor"]!.GetValue<string>(), e["address"]!.GetValue<string>())));
        Assert.Equal("aq4@test.local", creates[0]!["target"]!.GetValue<string>());
        Assert.Single((await admin.GetAsync("/v1/admin/audit?target=aq2%40test.local"))!["entries"]!.AsArray());
        var families = (await admin.GetAsync("/v1/admin/audit?action=role."))!["entries"]!.AsArray();
        Assert.Equal("role.create", Assert.Single(families)!["action"]!.GetValue<string>());
        var future = DateTimeOffset.UtcNow.AddDays(1).ToString("o");
        Assert.Empty((await admin.GetAsync($"/v1/admin/audit?since={Uri.EscapeDataString(future)}"))!["entries"]!.AsArray());
        Assert.Equal(ErrorCode.BadRequest, (await Assert.ThrowsAsync<TeamCommsException>(() => admin.GetAsync("/v1/admin/audit?since=yesterday"))).Code);

        var plain = await server.CreateUserAsync();
        using var plainHttp = plain.Http();
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => plainHttp.GetAsync("/v1/admin/audit"))).Code);
        var officer = await server.CreateProfiledUserAsync("sec-officer");
        await admin.PutAsync($"/v1/admin/users/{officer.UserId}/roles", new JsonObject { ["roles"] = new JsonArray("security_officer") });
        using var officerHttp = officer.Http();
        Assert.NotEmpty((await officerHttp.GetAsync("/v1/admin/audit"))!["entries"]!.AsArray());
    }

    [Fact]
    public async Task SignedHeads_OnTheTimer_AndVerifyDetectsEditedDeletedAndCutOffEntries()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-28T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var server = await TestServer.StartAsync(new() { ["TeamComms:Audit:SignInterval"] = "00:01:00" }, clock);
        using var admin = await server.AdminAsync();
        for (var i = 0; i < 6; i++)
        {
            await server.CreateProfiledUserAsync($"ah{i}");
        }
        Assert.Empty((await admin.GetAsync("/v1/admin/audit/heads"))!["heads"]!.AsArray());
        clock.Advance(TimeSpan.FromSeconds(61));
        var heads = (await admin.GetAsync("/v1/admin/audit/heads"))!;
        var head = Assert.Single(heads["heads"]!.AsArray())!;
        var last = server.Services.GetRequiredService<AuditLog>().LastSeq;
        Assert.Equal(last, head["seq"]!.GetValue<long>());
        // The signature checks out with the key the server publishes.
        var key = Convert.FromBase64String((await admin.GetAsync("/v1/server/key"))!["public_key"]!.GetValue<string>());
        Assert.True(SigningKey.Verify(key, AuditChain.HeadSigningInput("test.local", last, Convert.FromHexString(head["hash"]!.GetValue<string>()), head["ts"]!.GetValue<long>()),
            Convert.FromBase64String(head["signature"]!.GetValue<string>())));
        // Nothing new: the next tick signs nothing.
        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Single((await admin.GetAsync("/v1/admin/audit/heads"))!["heads"]!.AsArray());

        var verify = await admin.GetAsync("/v1/admin/audit/verify");
        Assert.True(verify!["ok"]!.GetValue<bool>());
        Assert.Equal(last, verify["last_signed_seq"]!.GetValue<long>());

        var store = server.Services.GetRequiredService<AuditStore>();
        var original = store.ScanRaw().ToDictionary(r => r.Seq, r => r.Value);

        // Edited: someone changes who did it.
        var edited = DirectoryJson.Decode<AuditRecord>(original[2]) with { Actor = "someone-else@test.local" };
        store.PutRaw(2, DirectoryJson.Encode(edited));
        await AssertProblem(admin, "edited", 2);
        // Edited and re-hashed: the next entry no longer links to it.
        var rehashed = edited with
        {
            Hash = Convert.ToHexStringLower(AuditChain.ComputeHash(AuditLog.ToEntry(edited) with { Hash = [] })),
        };
        store.PutRaw(2, DirectoryJson.Encode(rehashed));
        await AssertProblem(admin, "edited", 3);
        store.PutRaw(2, original[2]);

        // Deleted from the middle.
        store.PutRaw(3, null);
        await AssertProblem(admin, "deleted", 3);
        store.PutRaw(3, original[3]);
        Assert.True((await admin.GetAsync("/v1/admin/audit/verify"))!["ok"]!.GetValue<bool>());

        // The tail cut off: the signed head covers entries that are gone.
        store.PutRaw(last, null);
        store.PutRaw(last - 1, null);
        await AssertProblem(admin, "truncated", last);
    }

    private static async Task AssertProblem(TeamCommsHttpClient admin, string kind, long seq)
    {
        var verify = await admin.GetAsync("/v1/admin/audit/verify");
        Assert.False(verify!["ok"]!.GetValue<bool>());
        Assert.Contains(verify["problems"]!.AsArray(), p => p!["kind"]!.GetValue<string>() == kind && p["seq"]!.GetValue<long>() == seq);
    }

    [Fact]
    public async Task Stream_ToFileAndSyslog_AsJsonLinesThatVerifyOnTheirOwn()
    {
        using var syslog = new UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var port = ((System.Net.IPEndPoint)syslog.Client.LocalEndPoint!).Port;
        var dir = TempDirectory.Create("tc-audit-stream");
        var file = Path.Combine(dir, "audit.jsonl");
        try
        {
            await using var server = await TestServer.StartAsync(new()
            {
                ["TeamComms:Audit:StreamFile"] = file,
                ["TeamComms:Audit:StreamSyslog"] = $"udp://127.0.0.1:{port}",
            });
            using var admin = await server.AdminAsync();
            await server.CreateProfiledUserAsync("streamed", new JsonObject { ["department"] = "Ops" });
            await admin.PutAsync("/v1/admin/policies", new JsonObject { ["room_creation"] = "admins" });
            await admin.PostAsync("/v1/admin/audit/sign");
            await server.Services.GetRequiredService<AuditStream>().FlushAsync();

            var lines = (await File.ReadAllLinesAsync(file)).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
            var entries = lines.Where(l => l["type"]!.GetValue<string>() == "audit").Select(l => new AuditEntry(
                l["seq"]!.GetValue<long>(), l["ts"]!.GetValue<long>(), l["actor"]!.GetValue<string>(), l["action"]!.GetValue<string>(),
                l["target"]!.GetValue<string>(), l["address"]!.GetValue<string>(),
                l["details"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>()),
                l["prev"] is null ? null : Convert.FromHexString(l["prev"]!.GetValue<string>()), Convert.FromHexString(l["hash"]!.GetValue<string>()))).ToList();
            // The key layer's start (key created) comes first, then the changes this test made.
            Assert.Equal(["kek.created", "server.signing_key.created", "user.create", "policy.update"], entries.Select(e => e.Action));
            Assert.Equal("system", entries[0].Actor);
            var heads = lines.Where(l => l["type"]!.GetValue<string>() == "audit.head").Select(l => new AuditHead(l["seq"]!.GetValue<long>(),
                Convert.FromHexString(l["hash"]!.GetValue<string>()), l["ts"]!.GetValue<long>(), l["server"]!.GetValue<string>(),
                l["key_id"]!.GetValue<string>(), Convert.FromBase64String(l["signature"]!.GetValue<string>()))).ToList();
            var key = Convert.FromBase64String((await admin.GetAsync("/v1/server/key"))!["public_key"]!.GetValue<string>());
            var result = AuditChain.Verify(entries, heads, h => SigningKey.Verify(key, AuditChain.HeadSigningInput(h.Server, h.Seq, h.Hash, h.Timestamp), h.Signature));
            Assert.True(result.Ok, string.Join("; ", result.Problems.Select(p => p.Message)));
            Assert.Equal(entries.Count, result.LastSignedSeq);

            var received = new List<string>();
            while (received.Count < entries.Count + 1)
            {
                var datagram = await syslog.ReceiveAsync().WaitAsync(TimeSpan.FromSeconds(10));
                received.Add(System.Text.Encoding.UTF8.GetString(datagram.Buffer));
            }
            // Facility 13 (log audit) * 8 + severity 5 (notice) = 109; signed heads are informational (110).
            var create = Assert.Single(received, r => r.Contains("\"action\":\"user.create\"", StringComparison.Ordinal));
            Assert.StartsWith("<109>1 ", create, StringComparison.Ordinal);
            Assert.StartsWith("<110>1 ", received[^1], StringComparison.Ordinal);
            Assert.Contains("\"type\":\"audit.head\"", received[^1], StringComparison.Ordinal);
        }
        finally
        {
            TempDirectory.Delete(dir);
        }
    }
}
