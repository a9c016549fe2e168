using System.Text;
using System.Text.Json.Nodes;
using TeamComms.Client;
using TeamComms.Crypto.Age;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Workplace;

/// <summary>Incident reports: a confidential room with the incident role only, a signed receipt, anonymous reports with a sealed link.</summary>
public class IncidentTests
{
    [Fact]
    public async Task Report_OpensAConfidentialRoomWithHrOnly_TheReporterGetsAReceipt_AdminsCannotAddMembers()
    {
        await using var server = await TestServer.StartAsync();
        using var admin = await server.AdminAsync();
        var hr = await server.PersonAsync("inc-hr", roles: ["hr"]);
        var reporter = await server.PersonAsync("inc-rep");
        var colleague = await server.PersonAsync("inc-col");
        await using var repConn = await reporter.ConnectAsync();
        await using var hrConn = await hr.ConnectAsync();
        await using var colConn = await colleague.ConnectAsync();

        Assert.Equal(ErrorCode.BadField, (await repConn.CallErrorAsync("incidents.report", new() { ["kind"] = "gossip", ["description"] = "x" })).Code);
        Assert.Equal(ErrorCode.BadField, (await repConn.CallErrorAsync("incidents.report", new() { ["kind"] = "safety", ["description"] = "   " })).Code);
        Assert.Empty((List<object?>)(await hrConn.CallAsync("incidents.list", new Dictionary<string, object?>()))!); // nothing was stored by the refusals

        var filed = await repConn.CallMapAsync("incidents.report", new() { ["kind"] = "safety", ["description"] = "The fire exit on floor 2 is blocked" });
        var incidentId = (string)filed["incident_id"]!;
        var room = (string)filed["room_id"]!;
        var receipt = (Dictionary<string, object?>)filed["receipt"]!;
        Assert.Equal((incidentId, "safety", false, "test.local"), ((string)receipt["incident_id"]!, (string)receipt["kind"]!, (bool)receipt["anonymous"]!, (string)receipt["server"]!));
        Assert.Equal(64, ((string)receipt["digest"]!).Length);
        // The receipt is signed with the server's identity key, published at /v1/server/key, over
        // canonical MessagePack ["teamcomms.incident.receipt", 1, server, incident_id, kind, digest, submitted_at].
        using (var anon = server.Http())
        {
            var key = (await anon.GetAsync("/v1/server/key"))!;
            Assert.Equal(key["key_id"]!.GetValue<string>(), receipt["key_id"]);
            var signed = TeamComms.Protocol.Canonical.CanonicalMessagePack.Canonicalize(MsgPackValue.ToBytes(new List<object?>
            {
                "teamcomms.incident.receipt", 1L, "test.local", incidentId, "safety", (string)receipt["digest"]!, (long)receipt["submitted_at"]!,
            }));
            Assert.True(TeamComms.Crypto.SigningKey.Verify(Convert.FromBase64String(key["public_key"]!.GetValue<string>()), signed, (byte[])receipt["signature"]!));
        }
        Assert.False(filed.ContainsKey("secret"));

        await Eventually.TrueAsync(() => hrConn.ListRoomsAsync().GetAwaiter().GetResult().Any(r => r.RoomId == room), what: "hr is in the incident room");
        var history = await hrConn.HistoryAsync(room);
        var report = history.Events.Single(e => e.Type == AttentionEventTypes.IncidentReport);
        Assert.Equal(reporter.UserId, report.Sender);
        Assert.Equal("The fire exit on floor 2 is blocked", AlertTests.ContentOf(report)["description"]);
        Assert.Contains((await repConn.ListRoomsAsync()), r => r.RoomId == room);
        Assert.DoesNotContain((await colConn.ListRoomsAsync()), r => r.RoomId == room);
        await Assert.ThrowsAnyAsync<TeamCommsException>(() => colConn.JoinAsync(room));

        // Nobody in it invites, and the admin API cannot add anyone or change roles.
        await Assert.ThrowsAnyAsync<TeamCommsException>(() => hrConn.InviteAsync(room, colleague.UserId));
        var refused = await Assert.ThrowsAsync<TeamCommsException>(() =>
            admin.PostAsync($"/v1/admin/rooms/{Uri.EscapeDataString(room)}/manual", new JsonObject { ["user"] = colleague.UserId, ["action"] = "include" }));
        Assert.Equal(ErrorCode.Forbidden, refused.Code);

        // HR and the reporter talk in the room.
        await hrConn.SendTextAsync(room, "Thank you, facilities are on their way");
        Assert.Single((List<object?>)(await repConn.CallAsync("incidents.list", new Dictionary<string, object?>()))!);
        Assert.Empty((List<object?>)(await colConn.CallAsync("incidents.list", new Dictionary<string, object?>()))!);
    }

    [Fact]
    public async Task AnonymousReport_HidesTheReporterFromEveryone_HrReplies_OnlyTheEscrowKeyUnsealsTheLink()
    {
        var escrow = AgeIdentity.Generate();
        await using var server = await TestServer.StartAsync(new() { ["TeamComms:Keys:EscrowRecipient"] = escrow.Recipient.ToString() });
        using var admin = await server.AdminAsync();
        var hr = await server.PersonAsync("anon-hr", roles: ["hr"]);
        var reporter = await server.PersonAsync("anon-rep");
        await using var repConn = await reporter.ConnectAsync();
        await using var hrConn = await hr.ConnectAsync();

        var filed = await repConn.CallMapAsync("incidents.report", new() { ["kind"] = "harassment", ["description"] = "My team lead shouts at juniors", ["anonymous"] = true });
        var incidentId = (string)filed["incident_id"]!;
        var secret = (string)filed["secret"]!;
        Assert.False(filed.ContainsKey("room_id"));
        Assert.True((bool)((Dictionary<string, object?>)filed["receipt"]!)["anonymous"]!);

        // HR sees the report from the pseudonym; the reporter is no member, and nothing HR can list names them.
        var listed = (Dictionary<string, object?>)Assert.Single((List<object?>)(await hrConn.CallAsync("incidents.list", new Dictionary<string, object?>()))!)!;
        Assert.Null(listed["reporter"]);
        var room = (string)listed["room_id"]!;
        await Eventually.TrueAsync(() => hrConn.ListRoomsAsync().GetAwaiter().GetResult().Any(r => r.RoomId == room), what: "hr is in the incident room");
        var history = await hrConn.HistoryAsync(room);
        Assert.Equal("_anonymous@test.local", history.Events.Single(e => e.Type == AttentionEventTypes.IncidentReport).Sender);
        Assert.DoesNotContain(history.Events, e => e.Sender == reporter.UserId || (e.Content is { } c && Encoding.UTF8.GetString(c.Span).Contains(reporter.UserId, StringComparison.Ordinal)));
        Assert.DoesNotContain(await repConn.ListRoomsAsync(), r => r.RoomId == room);
        Assert.Empty((List<object?>)(await repConn.CallAsync("incidents.list", new Dictionary<string, object?>()))!);
        var audit = (await admin.GetAsync("/v1/admin/audit?action=incident.report"))!["entries"]!.AsArray();
        Assert.Equal("anonymous", Assert.Single(audit)!["actor"]!.GetValue<string>());
        Assert.DoesNotContain(reporter.UserId, audit.ToJsonString(), StringComparison.Ordinal);

        // HR replies; the reporter reads and answers through the secret, under the pseudonym.
        await hrConn.SendTextAsync(room, "Thank you. Can you tell us which team?");
        var page = await repConn.CallMapAsync("incidents.messages", new() { ["incident"] = incidentId, ["secret"] = secret });
        Assert.Equal(room, page["room_id"]);
        Assert.True(((List<object?>)page["events"]!).Count >= 2);
        var answer = await repConn.CallMapAsync("incidents.send", new() { ["incident"] = incidentId, ["secret"] = secret, ["body"] = "The platform team" });
        var answered = (await hrConn.HistoryAsync(room)).Events.Single(e => e.Seq == (long)answer["seq"]!);
        Assert.Equal("_anonymous@test.local", answered.Sender);

        var wrong = Convert.ToBase64String(new byte[32]).Replace('+', '-').Replace('/', '_').TrimEnd('=');
        Assert.Equal(ErrorCode.IncidentSecretInvalid, (await repConn.CallErrorAsync("incidents.send", new() { ["incident"] = incidentId, ["secret"] = wrong, ["body"] = "x" })).Code);
        Assert.Equal(ErrorCode.IncidentSecretInvalid, (await hrConn.CallErrorAsync("incidents.messages", new() { ["incident"] = incidentId, ["secret"] = "nope" })).Code);

        // The link exists only sealed to the company escrow key: the admin API returns ciphertext (and audits the read);
        // the escrow private key (reassembled by the security officers' shares) opens it.
        using var hrHttp = hr.Http();
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => hrHttp.GetAsync($"/v1/admin/incidents/{incidentId}/sealed"))).Code);
        var sealedLink = (await admin.GetAsync($"/v1/admin/incidents/{incidentId}/sealed"))!["sealed_reporter"]!.GetValue<string>();
        Assert.DoesNotContain(reporter.UserId, sealedLink, StringComparison.Ordinal);
        var opened = JsonNode.Parse(AgeFile.Decrypt(Encoding.ASCII.GetBytes(sealedLink), [escrow]))!;
        Assert.Equal((incidentId, reporter.UserId), (opened["incident"]!.GetValue<string>(), opened["reporter"]!.GetValue<string>()));
        Assert.Single((await admin.GetAsync("/v1/admin/audit?action=incident.sealed_read"))!["entries"]!.AsArray());
    }
}
