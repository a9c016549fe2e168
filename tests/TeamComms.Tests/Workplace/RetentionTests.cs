using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using TeamComms.Client;
using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Attachments;
using TeamComms.Server.Rooms;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Workplace;

/// <summary>Retention (per room, company-wide, passed on to federated copies) and legal holds, on a fake clock.</summary>
public class RetentionTests
{
    private static async Task<TeamCommsHttpClient> ComplianceAsync(TestServer server)
    {
        var officer = await server.CreateUserAsync();
        await WorkplaceKit.SetRolesAsync(server, officer, "compliance_officer");
        return officer.Http();
    }

    private static async Task RunAsync(TestServer server)
    {
        using var admin = await server.AdminAsync();
        await admin.PostAsync("/v1/admin/retention/run", new JsonObject());
    }

    [Fact]
    public async Task RoomRetention_RemovesOldContentAndFiles_KeepsTheChain_AndIsAudited()
    {
        var clock = new FakeTimeProvider(WorkplaceKit.Start);
        await using var server = await TestServer.StartAsync(time: clock);
        var alice = await server.CreateUserAsync();
        var bob = await server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        var room = await WorkplaceKit.RoomWithAsync(a, [(b, bob)]);
        var old1 = await a.SendTextAsync(room, "old one");
        var old2 = await b.SendTextAsync(room, "old two");
        using var http = alice.Http();
        var uploaded = await http.UploadAttachmentAsync(room, new MemoryStream(Encoding.UTF8.GetBytes("old file")), "text/plain");
        var oldFile = await a.SendAttachmentAsync(room, uploaded, "old.txt");
        clock.Advance(TimeSpan.FromDays(2));
        var recent = await a.SendTextAsync(room, "recent");

        // Only compliance officers and admins set a room's retention; a bad value is refused and changes nothing.
        using var bobHttp = bob.Http();
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => bobHttp.SetRoomRetentionAsync(room, 1))).Code);
        using var compliance = await ComplianceAsync(server);
        Assert.Equal(ErrorCode.BadField, (await Assert.ThrowsAsync<TeamCommsException>(() => compliance.SetRoomRetentionAsync(room, -3))).Code);
        await compliance.SetRoomRetentionAsync(room, 1);
        Assert.Equal(1L, (long)(await a.RoomSettingsAsync(room))["retention_days"]!);

        await using var watcher = new EventCollector(b);
        // The job runs on its timer (the fake clock's hour), not on a sleep.
        clock.Advance(TimeSpan.FromHours(1));
        var purge = (await watcher.WaitForTypeAsync(room, WorkplaceEventTypes.Purge)).Single(e => e.Type == WorkplaceEventTypes.Purge);
        Assert.Equal(oldFile.Seq, Convert.ToInt64(purge.ContentMap["through"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("retention", purge.ContentMap["reason"]);

        var history = (await b.HistoryAsync(room, forward: true, limit: 100)).Events;
        Assert.Equal(-1, EventCodec.VerifyChain(history, null, 0));
        foreach (var seq in new[] { old1.Seq, old2.Seq, oldFile.Seq })
        {
            Assert.Null(history.Single(e => e.Seq == seq).Content);
        }
        Assert.Equal(old1.EventId, history.Single(e => e.Seq == old1.Seq).Id);
        Assert.Equal("recent", history.Single(e => e.Seq == recent.Seq).ContentMap["body"]);
        Assert.NotNull(history.Single(e => e.Seq == 1).Content); // room state is kept
        var files = server.Services.GetRequiredService<AttachmentStore>();
        await Eventually.TrueAsync(() => !files.FileExists(uploaded.Id), what: "the old attachment's file is deleted");
        Assert.Equal(ErrorCode.UnknownAttachment, (await Assert.ThrowsAsync<TeamCommsException>(() => http.DownloadAttachmentAsync(uploaded.Id))).Code);

        var audit = Assert.Single(await AuditReader.EntriesAsync(server, "retention.purge", room));
        Assert.Equal(oldFile.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture), audit["details"]!["through_seq"]!.GetValue<string>());
        Assert.Single(await AuditReader.EntriesAsync(server, "retention.set", room));

        // Nothing more is old enough: a second run changes nothing and audits nothing.
        await RunAsync(server);
        Assert.Single(await AuditReader.EntriesAsync(server, "retention.purge", room));
    }

    [Fact]
    public async Task LegalHolds_OnAUserOrARoom_SuspendRemoval_KeepRedactedOriginals_AndReleasingLetsRetentionProceed()
    {
        var clock = new FakeTimeProvider(WorkplaceKit.Start);
        await using var server = await TestServer.StartAsync(time: clock);
        var alice = await server.CreateUserAsync();
        var bob = await server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        var room = await WorkplaceKit.RoomWithAsync(a, [(b, bob)]);
        var other = await WorkplaceKit.RoomWithAsync(a, [], "other");
        var fromAlice = await a.SendTextAsync(room, "alice, not held");
        var fromBob = await b.SendTextAsync(room, "bob, held");
        var redacted = await b.SendTextAsync(room, "bob, held and redacted");
        var inOther = await a.SendTextAsync(other, "room held");

        using var compliance = await ComplianceAsync(server);
        using (var admin = await server.AdminAsync())
        {
            await admin.UpdateContentPolicyAsync(new JsonObject { ["retention_days"] = 1 });
        }
        Assert.Equal(ErrorCode.BadRequest, (await Assert.ThrowsAsync<TeamCommsException>(() => compliance.CreateLegalHoldAsync("user", bob.UserId, ""))).Code);
        Assert.Equal(ErrorCode.BadRequest, (await Assert.ThrowsAsync<TeamCommsException>(() => compliance.CreateLegalHoldAsync("planet", bob.UserId, "x"))).Code);
        using var bobHttp = bob.Http();
        Assert.Equal(ErrorCode.Forbidden, (await Assert.ThrowsAsync<TeamCommsException>(() => bobHttp.CreateLegalHoldAsync("user", bob.UserId, "matter 1"))).Code);
        var userHold = (await compliance.CreateLegalHoldAsync("user", bob.UserId, "matter 1"))!["id"]!.GetValue<long>();
        var roomHold = (await compliance.CreateLegalHoldAsync("room", other, "matter 2"))!["id"]!.GetValue<long>();
        Assert.Equal(2, (await compliance.ListLegalHoldsAsync())!["holds"]!.AsArray().Count);

        // A redaction under a hold hides the content from members and keeps the original for compliance.
        await a.RedactAsync(room, redacted.EventId, "off topic");
        Assert.Null((await WorkplaceKit.EventAsync(b, room, redacted.Seq)).Content);
        var held = await compliance.GetAsync($"/v1/compliance/rooms/{Uri.EscapeDataString(room)}/held");
        Assert.Equal("bob, held and redacted", Assert.Single(held!["events"]!.AsArray())!["content"]!["body"]!.GetValue<string>());
        Assert.Single(await AuditReader.EntriesAsync(server, "compliance.read_held", room));

        clock.Advance(TimeSpan.FromDays(2));
        await RunAsync(server);
        Assert.Null((await WorkplaceKit.EventAsync(a, room, fromAlice.Seq)).Content);
        Assert.Equal("bob, held", (await WorkplaceKit.EventAsync(a, room, fromBob.Seq)).ContentMap["body"]);
        Assert.Equal("room held", (await WorkplaceKit.EventAsync(a, other, inOther.Seq)).ContentMap["body"]);

        await compliance.ReleaseLegalHoldAsync(userHold);
        Assert.Equal(ErrorCode.Conflict, (await Assert.ThrowsAsync<TeamCommsException>(() => compliance.ReleaseLegalHoldAsync(userHold))).Code);
        await RunAsync(server);
        Assert.Null((await WorkplaceKit.EventAsync(a, room, fromBob.Seq)).Content);
        held = await compliance.GetAsync($"/v1/compliance/rooms/{Uri.EscapeDataString(room)}/held");
        Assert.Empty(held!["events"]!.AsArray());
        Assert.Equal("room held", (await WorkplaceKit.EventAsync(a, other, inOther.Seq)).ContentMap["body"]);

        await compliance.ReleaseLegalHoldAsync(roomHold);
        await RunAsync(server);
        Assert.Null((await WorkplaceKit.EventAsync(a, other, inOther.Seq)).Content);

        Assert.Equal(2, (await AuditReader.EntriesAsync(server, "legal_hold.create")).Count);
        Assert.Equal(2, (await AuditReader.EntriesAsync(server, "legal_hold.release")).Count);
        Assert.NotEmpty(await AuditReader.EntriesAsync(server, "retention.release_held", room));
    }

    [Fact]
    public async Task LegalHold_KeepsAttachmentFiles_UntilReleased()
    {
        var clock = new FakeTimeProvider(WorkplaceKit.Start);
        await using var server = await TestServer.StartAsync(time: clock);
        var alice = await server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        var room = await a.CreateRoomAsync("files");
        using var http = alice.Http();
        var uploaded = await http.UploadAttachmentAsync(room, new MemoryStream(Encoding.UTF8.GetBytes("contract draft")), "text/plain");
        await a.SendAttachmentAsync(room, uploaded, "contract.txt");
        using var compliance = await ComplianceAsync(server);
        await compliance.SetRoomRetentionAsync(room, 1);
        var hold = (await compliance.CreateLegalHoldAsync("user", alice.UserId, "matter 3"))!["id"]!.GetValue<long>();

        clock.Advance(TimeSpan.FromDays(2));
        await RunAsync(server);
        var files = server.Services.GetRequiredService<AttachmentStore>();
        Assert.True(files.FileExists(uploaded.Id));
        Assert.Equal("contract draft", Encoding.UTF8.GetString(await http.DownloadAttachmentAsync(uploaded.Id)));

        await compliance.ReleaseLegalHoldAsync(hold);
        await RunAsync(server);
        await Eventually.TrueAsync(() => !files.FileExists(uploaded.Id), what: "the attachment's file is deleted after the hold is released");
        Assert.Equal(ErrorCode.UnknownAttachment, (await Assert.ThrowsAsync<TeamCommsException>(() => http.DownloadAttachmentAsync(uploaded.Id))).Code);
    }

    [Fact]
    public async Task ContentRemovalListeners_HearOfRedactionsAndPurges_AfterTheyAreDurable()
    {
        var clock = new FakeTimeProvider(WorkplaceKit.Start);
        var listener = new RecordingRemovalListener();
        await using var server = await TestServer.StartAsync(time: clock, services: s => s.AddSingleton<IContentRemovalListener>(listener));
        var alice = await server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        var room = await a.CreateRoomAsync("heard");
        var redacted = await a.SendTextAsync(room, "redact me");
        var purged = await a.SendTextAsync(room, "purge me");
        await a.RedactAsync(room, redacted.EventId);
        await Eventually.TrueAsync(() => listener.Seen.Any(r => r.Seq == redacted.Seq), what: "the listener hears of the redaction");
        var heard = listener.Seen.Single(r => r.Seq == redacted.Seq);
        Assert.Equal((room, redacted.EventId, EventTypes.Message, alice.UserId), (heard.RoomId, heard.Id, heard.Type, heard.Sender));

        using var compliance = await ComplianceAsync(server);
        await compliance.SetRoomRetentionAsync(room, 1);
        clock.Advance(TimeSpan.FromDays(2));
        await RunAsync(server);
        await Eventually.TrueAsync(() => listener.Seen.Any(r => r.Seq == purged.Seq), what: "the listener hears of the purge");
        Assert.Single(listener.Seen, r => r.Seq == redacted.Seq); // removed once, heard once
    }

    [Fact]
    public async Task HubRetention_IsPassedOnToFederatedCopies()
    {
        var clock = new FakeTimeProvider(WorkplaceKit.Start);
        await using var cluster = await FederatedServers.StartAsync(2, time: clock);
        var alice = await cluster.A.CreateUserAsync();
        var bob = await cluster.B.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        await using var bEvents = new EventCollector(b);
        var room = await a.CreateRoomAsync("shared", invite: [bob.UserId]);
        await bEvents.WaitAsync(es => es.Any(e => e.RoomId == room && e.Type == EventTypes.Member));
        await b.JoinAsync(room);
        var old = await a.SendTextAsync(room, "old, from the hub");
        var oldRemote = await b.SendTextAsync(room, "old, from the copy");
        await bEvents.WaitForMessagesAsync(room, 2);
        clock.Advance(TimeSpan.FromDays(2));
        var recent = await a.SendTextAsync(room, "recent");
        await bEvents.WaitForMessagesAsync(room, 3);

        using var compliance = await ComplianceAsync(cluster.A.Server);
        await compliance.SetRoomRetentionAsync(room, 1);
        await RunAsync(cluster.A.Server);

        // B receives room.purge from the hub and removes the same content from its copy.
        await bEvents.WaitForTypeAsync(room, WorkplaceEventTypes.Purge);
        await Eventually.TrueAsync(() =>
        {
            var copy = b.HistoryAsync(room, old.Seq, forward: true, limit: 2).GetAwaiter().GetResult().Events;
            return copy.Count == 2 && copy.All(e => e.Content is null);
        }, what: "B's copy removes the content the hub removed");
        var history = (await b.HistoryAsync(room, forward: true, limit: 100)).Events;
        Assert.Equal(-1, EventCodec.VerifyChain(history, null, 0));
        Assert.Null(history.Single(e => e.Seq == oldRemote.Seq).Content);
        Assert.Equal("recent", history.Single(e => e.Seq == recent.Seq).ContentMap["body"]);
    }
}

internal sealed class RecordingRemovalListener : IContentRemovalListener
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<RemovedContent> _seen = new();

    public IReadOnlyList<RemovedContent> Seen => [.. _seen];

    public void OnContentRemoved(IReadOnlyList<RemovedContent> removed)
    {
        foreach (var r in removed)
        {
            _seen.Enqueue(r);
        }
    }
}
