using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using TeamComms.Client;
using TeamComms.Crypto.Age;
using TeamComms.Protocol;
using TeamComms.Server.Attachments;
using TeamComms.Server.Backups;
using TeamComms.Tests.Infrastructure;
using TeamComms.Tests.Keys;

namespace TeamComms.Tests.Workplace;

/// <summary>Files: upload and download through the server, limits, signed links, encryption at rest, backups, removal.</summary>
public class AttachmentTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private TestServer Server => shared.Server;

    private static byte[] Png(int size)
    {
        var bytes = new byte[size];
        Random.Shared.NextBytes(bytes);
        new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }.CopyTo(bytes, 0);
        return bytes;
    }

    [Fact]
    public async Task UploadPostDownload_WithTheAuthorizationHeader_OnlyForReaders()
    {
        var alice = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        var carol = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        var room = await WorkplaceKit.RoomWithAsync(a, [(b, bob)]);
        var file = Png((3 * 64 * 1024) + 123); // several chunks and a partial last one
        using var aliceHttp = alice.Http();
        var uploaded = await aliceHttp.UploadAttachmentAsync(room, new MemoryStream(file), "image/png");
        Assert.Equal(("image/png", (long)file.Length), (uploaded.ContentType, uploaded.Size));

        using var bobHttp = bob.Http();
        // Not posted yet: only the uploader may fetch it.
        Assert.Equal(ErrorCode.UnknownAttachment, (await Assert.ThrowsAsync<TeamCommsException>(() => bobHttp.DownloadAttachmentAsync(uploaded.Id))).Code);
        Assert.Equal(file, await aliceHttp.DownloadAttachmentAsync(uploaded.Id));
        // Someone else's upload cannot be posted.
        Assert.Equal(ErrorCode.UnknownAttachment, (await Assert.ThrowsAsync<TeamCommsException>(() => b.SendAttachmentAsync(room, uploaded, "cat.png"))).Code);
        Assert.Equal(ErrorCode.BadField, (await Assert.ThrowsAsync<TeamCommsException>(() => a.SendAttachmentAsync(room, uploaded with { Size = 1 }, "cat.png"))).Code);
        var posted = await a.SendAttachmentAsync(room, uploaded, "cat.png", "our cat");
        Assert.Equal(ErrorCode.UnknownAttachment, (await Assert.ThrowsAsync<TeamCommsException>(() => a.SendAttachmentAsync(room, uploaded, "again.png"))).Code);

        Assert.Equal(file, await bobHttp.DownloadAttachmentAsync(uploaded.Id));
        using var carolHttp = carol.Http();
        var outsider = await Assert.ThrowsAsync<TeamCommsException>(() => carolHttp.DownloadAttachmentAsync(uploaded.Id));
        Assert.Equal((ErrorCode.UnknownAttachment, 404), (outsider.Code, outsider.HttpStatus));
        Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<TeamCommsException>(() => carolHttp.UploadAttachmentAsync(room, new MemoryStream(Png(100)), "image/png"))).Code);

        // A token in the URL is not a credential.
        using var raw = new HttpClient();
        using var response = await raw.GetAsync(new Uri(Server.BaseUrl, $"/v1/attachments/{uploaded.Id}?access_token={bob.Token}"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);

        // The company's default rules take images and documents; office documents must really be OOXML (zip) files.
        const string docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
        await aliceHttp.UploadAttachmentAsync(room, new MemoryStream([0x50, 0x4B, 0x03, 0x04, 1, 2, 3]), docx);
        Assert.Equal(ErrorCode.AttachmentTypeNotAllowed, (await Assert.ThrowsAsync<TeamCommsException>(() => aliceHttp.UploadAttachmentAsync(room, new MemoryStream("MZ not a document"u8.ToArray()), docx))).Code);
        Assert.Equal(ErrorCode.AttachmentTypeNotAllowed, (await Assert.ThrowsAsync<TeamCommsException>(() => aliceHttp.UploadAttachmentAsync(room, new MemoryStream(new byte[10]), "application/x-msdownload"))).Code);

        var message = await WorkplaceKit.EventAsync(b, room, posted.Seq);
        var entry = (Dictionary<string, object?>)Assert.Single((List<object?>)message.ContentMap["attachments"]!)!;
        Assert.Equal((uploaded.Id, "cat.png", "image/png"), ((string)entry["id"]!, (string)entry["name"]!, (string)entry["type"]!));
    }

    [Fact]
    public async Task SignedLinks_WorkWithoutAToken_UntilTheyExpire_AndCannotBeForged()
    {
        var clock = new FakeTimeProvider(WorkplaceKit.Start);
        await using var server = await TestServer.StartAsync(time: clock);
        var alice = await server.CreateUserAsync();
        var bob = await server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        var room = await WorkplaceKit.RoomWithAsync(a, [(b, bob)]);
        var file = Encoding.UTF8.GetBytes("quarterly numbers");
        using var http = alice.Http();
        var uploaded = await http.UploadAttachmentAsync(room, new MemoryStream(file), "text/plain");
        await a.SendAttachmentAsync(room, uploaded, "q3.txt");

        var (link, expires) = await b.AttachmentLinkAsync(uploaded.Id);
        Assert.DoesNotContain(bob.Token, link);
        Assert.Equal(clock.GetUtcNow().AddMinutes(5).ToUnixTimeMilliseconds() / 1000 * 1000, expires);
        Assert.Equal(file, await WorkplaceApi.DownloadLinkAsync(server.BaseUrl, link));
        var forged = link.Replace($"u={Uri.EscapeDataString(bob.UserId)}", $"u={Uri.EscapeDataString(alice.UserId)}", StringComparison.Ordinal);
        Assert.Equal(ErrorCode.LinkExpired, (await Assert.ThrowsAsync<TeamCommsException>(() => WorkplaceApi.DownloadLinkAsync(server.BaseUrl, forged))).Code);

        clock.Advance(TimeSpan.FromMinutes(6));
        var expired = await Assert.ThrowsAsync<TeamCommsException>(() => WorkplaceApi.DownloadLinkAsync(server.BaseUrl, link));
        Assert.Equal((ErrorCode.LinkExpired, 403), (expired.Code, expired.HttpStatus));

        // Access is checked again when a link is used: after leaving, bob may still fetch a file posted while he was a member.
        var (fresh, _) = await b.AttachmentLinkAsync(uploaded.Id);
        await b.LeaveAsync(room);
        await a.SendTextAsync(room, "after bob left");
        Assert.Equal(file, await WorkplaceApi.DownloadLinkAsync(server.BaseUrl, fresh));
    }

    [Fact]
    public async Task DeviceWipe_EndsThatDevicesDownloads_HeaderAndSignedLinks()
    {
        var alice = await Server.CreateUserAsync();
        var bob = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        await using var b = await bob.ConnectAsync();
        var room = await WorkplaceKit.RoomWithAsync(a, [(b, bob)]);
        var file = Png(5000);
        using var aliceHttp = alice.Http();
        var uploaded = await aliceHttp.UploadAttachmentAsync(room, new MemoryStream(file), "image/png");
        await a.SendAttachmentAsync(room, uploaded, "plan.png");

        using var login = Server.Http();
        var phoneLogin = await login.LoginAsync(bob.Username, "password-" + bob.Username, "phone");
        using var phoneHttp = Server.Http(phoneLogin.AccessToken);
        await using var phone = await TeamCommsConnection.ConnectAsync(Server.WebSocketUrl, phoneLogin.AccessToken, new ClientOptions { AutoReconnect = false });
        var (phoneLink, _) = await phone.AttachmentLinkAsync(uploaded.Id);
        var (laptopLink, _) = await b.AttachmentLinkAsync(uploaded.Id);
        Assert.Equal(file, await WorkplaceApi.DownloadLinkAsync(Server.BaseUrl, phoneLink));

        using (var admin = await Server.AdminAsync())
        {
            await admin.PostAsync($"/v1/admin/sessions/{phoneLogin.SessionId}/wipe", new System.Text.Json.Nodes.JsonObject { ["reason"] = "phone lost" });
        }
        Assert.Equal(ErrorCode.LinkExpired, (await Assert.ThrowsAsync<TeamCommsException>(() => WorkplaceApi.DownloadLinkAsync(Server.BaseUrl, phoneLink))).Code);
        Assert.Equal(ErrorCode.SessionRevoked, (await Assert.ThrowsAsync<TeamCommsException>(() => phoneHttp.DownloadAttachmentAsync(uploaded.Id))).Code);
        // Bob's other device is not affected.
        Assert.Equal(file, await WorkplaceApi.DownloadLinkAsync(Server.BaseUrl, laptopLink));
    }

    [Fact]
    public async Task RoomRules_LimitTypesAndSizes_AndTheServerChecksTheBytes()
    {
        var owner = await Server.CreateUserAsync();
        await using var o = await owner.ConnectAsync();
        var room = await o.CreateRoomAsync("photos");
        await o.SetContentRulesAsync(room, maxAttachmentBytes: 1000, attachmentTypes: ["image/*"]);
        using var http = owner.Http();
        var directory = Path.Combine(Server.DataDirectory, "attachments");
        int FileCount() => Directory.Exists(directory) ? Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Count() : 0;
        var before = FileCount();
        var type = await Assert.ThrowsAsync<TeamCommsException>(() => http.UploadAttachmentAsync(room, new MemoryStream(new byte[10]), "application/pdf"));
        Assert.Equal((ErrorCode.AttachmentTypeNotAllowed, 415), (type.Code, type.HttpStatus));
        Assert.Contains("image/*", type.ServerMessage);
        var size = await Assert.ThrowsAsync<TeamCommsException>(() => http.UploadAttachmentAsync(room, new MemoryStream(Png(2000)), "image/png"));
        Assert.Equal((ErrorCode.AttachmentTooLarge, 413), (size.Code, size.HttpStatus));
        var lie = await Assert.ThrowsAsync<TeamCommsException>(() => http.UploadAttachmentAsync(room, new MemoryStream(Encoding.ASCII.GetBytes("<html>not a png")), "image/png"));
        Assert.Equal(ErrorCode.AttachmentTypeNotAllowed, lie.Code);
        // Without a Content-Length (chunked), the limit is enforced while the body streams in.
        var chunked = await Assert.ThrowsAsync<TeamCommsException>(() => http.UploadAttachmentAsync(room, new NonSeekable(Png(5000)), "image/png"));
        Assert.Equal(ErrorCode.AttachmentTooLarge, chunked.Code);
        Assert.Equal(before, FileCount()); // refused uploads leave no file behind
        var ok = await http.UploadAttachmentAsync(room, new MemoryStream(Png(900)), "image/png");

        // Rules tightened after the upload apply when the message is posted.
        await o.SetContentRulesAsync(room, attachmentTypes: ["image/jpeg"]);
        Assert.Equal(ErrorCode.AttachmentTypeNotAllowed, (await Assert.ThrowsAsync<TeamCommsException>(() => o.SendAttachmentAsync(room, ok, "x.png"))).Code);
        await o.SetContentRulesAsync(room, attachmentTypes: ["image/png", "image/jpeg"]);
        await o.SendAttachmentAsync(room, ok, "x.png");
        var files = Directory.EnumerateFiles(Path.Combine(Server.DataDirectory, "attachments"), "*", SearchOption.AllDirectories).ToList();
        Assert.DoesNotContain(files, f => f.EndsWith(".partial", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Attachments_AreEncryptedAtRest_AndRedactionDeletesTheFile()
    {
        var marker = "ZQX-ATTACHMENT-" + Guid.NewGuid().ToString("N");
        var alice = await Server.CreateUserAsync();
        await using var a = await alice.ConnectAsync();
        var room = await a.CreateRoomAsync("secrets");
        using var http = alice.Http();
        var content = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(marker + "\n", 5000)));
        var uploaded = await http.UploadAttachmentAsync(room, new MemoryStream(content), "text/plain");
        var posted = await a.SendAttachmentAsync(room, uploaded, "plans.txt");
        Assert.Equal(content, await http.DownloadAttachmentAsync(uploaded.Id));
        Assert.Empty(KeyTestKit.FilesContaining(Server.DataDirectory, marker));
        var store = Server.Services.GetRequiredService<AttachmentStore>();
        Assert.True(store.FileExists(uploaded.Id));

        await a.RedactAsync(room, posted.EventId);
        await Eventually.TrueAsync(() => !store.FileExists(uploaded.Id), what: "the attachment file is deleted");
        Assert.Equal(ErrorCode.UnknownAttachment, (await Assert.ThrowsAsync<TeamCommsException>(() => http.DownloadAttachmentAsync(uploaded.Id))).Code);
    }

    [Fact]
    public async Task Backups_IncludeAttachments_ThatDownloadAfterARestore()
    {
        using var escrow = AgeIdentity.Generate();
        var root = TempDirectory.Create("tc-att-backup");
        try
        {
            var settings = new Dictionary<string, string?>
            {
                ["TeamComms:Keys:EscrowRecipient"] = escrow.Recipient.ToString(),
                ["TeamComms:Backup:Directory"] = Path.Combine(root, "backups"),
            };
            var server = await TestServer.StartAsync(settings);
            var alice = await server.CreateUserAsync();
            string room;
            UploadedAttachment uploaded;
            var file = Png(70_000);
            await using (var a = await alice.ConnectAsync())
            {
                room = await a.CreateRoomAsync("design");
                using var http = alice.Http();
                uploaded = await http.UploadAttachmentAsync(room, new MemoryStream(file), "image/png");
                await a.SendAttachmentAsync(room, uploaded, "mock.png");
            }
            string backup;
            using (var officer = await server.SecurityOfficerAsync())
            {
                backup = (await officer.CreateBackupAsync())!["path"]!.GetValue<string>();
            }
            await server.DisposeAsync();
            var target = Path.Combine(root, "restored");
            BackupRestorer.Restore(new RestoreRequest { BackupFile = backup, DataDirectory = target, Shares = [], Identities = [escrow] }, NullLogger.Instance);
            await using var restored = await TestServer.StartAsync(dataDirectory: target);
            using var restoredHttp = restored.Http(alice.Token);
            Assert.Equal(file, await restoredHttp.DownloadAttachmentAsync(uploaded.Id));
        }
        finally
        {
            TempDirectory.Delete(root);
        }
    }
}

/// <summary>A stream without a length, so HttpClient sends it chunked.</summary>
internal sealed class NonSeekable(byte[] data) : Stream
{
    private readonly MemoryStream _inner = new(data);

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
