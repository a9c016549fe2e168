using System.Text;
using NATS.Client.Core;
using NATS.Client.ObjectStore;
using NATS.Net;
using TeamComms.Client;
using TeamComms.Protocol;

namespace TeamComms.Tests.Cluster;

/// <summary>
/// Attachments in cluster mode (three nats-servers and three nodes): uploaded on one node, sealed into the replicated
/// JetStream object store, downloaded on the others with the Authorization header and with signed links; NATS holds no
/// plaintext; a removal deletes it everywhere; bad input and a tampered object fail closed. In the "cluster" stage.
/// </summary>
[Trait("Stage", "cluster")]
public sealed class ClusterAttachmentTests
{
    private const string Bucket = "teamcomms_attachments";

    [Fact]
    public async Task UploadOnA_DownloadOnBAndC_BothAuthModes_LinksDieWithTheSession_NoPlaintextInNats_RedactionDeletesEverywhere()
    {
        await using var cluster = await ClusterHarness.StartAsync();
        using var admin = await cluster.AdminAsync(0);
        await admin.CreateUserAsync("alice", "Alice", password: "alice-password-1");
        await admin.CreateUserAsync("bob", "Bob", password: "bob-password-1");
        using var aliceOnA = new TeamCommsHttpClient(cluster.Url(0));
        aliceOnA.AccessToken = (await aliceOnA.LoginAsync("alice", "alice-password-1")).AccessToken;
        await using var alice = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(0), aliceOnA.AccessToken!);
        var room = await alice.CreateRoomAsync("Files", invite: ["bob@proc.test"]);
        using var bobOnB = new TeamCommsHttpClient(cluster.Url(1));
        bobOnB.AccessToken = (await bobOnB.LoginAsync("bob", "bob-password-1")).AccessToken;
        await using var bob = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(1), bobOnB.AccessToken!);
        await RetryAsync(() => bob.JoinAsync(room));

        // Several chunks and a partial last one; the marker is in every chunk.
        var marker = "ZQX-NATS-FILE-MARKER-" + Guid.NewGuid().ToString("N");
        var file = PngWithMarker((3 * 64 * 1024) + 777, marker);
        var uploaded = await aliceOnA.UploadAttachmentAsync(room, new MemoryStream(file), "image/png");
        Assert.Equal(file.Length, uploaded.Size);
        var posted = await alice.SendAttachmentAsync(room, uploaded, "plan.png", "the plan");

        // Node B with the Authorization header; node C with the header and with a signed link made on node B.
        Assert.Equal(file, await RetryAsync(() => bobOnB.DownloadAttachmentAsync(uploaded.Id)));
        using var bobOnC = new TeamCommsHttpClient(cluster.Url(2)) { AccessToken = bobOnB.AccessToken };
        Assert.Equal(file, await RetryAsync(() => bobOnC.DownloadAttachmentAsync(uploaded.Id)));
        var (link, _) = await bob.AttachmentLinkAsync(uploaded.Id);
        Assert.DoesNotContain(bobOnB.AccessToken!, link, StringComparison.Ordinal);
        Assert.Equal(file, await WorkplaceApi.DownloadLinkAsync(cluster.Url(2), link));
        Assert.Equal(file, await WorkplaceApi.DownloadLinkAsync(cluster.Url(0), link));
        // A forged link fails on every node.
        var forged = link.Replace("bob%40", "alice%40", StringComparison.Ordinal);
        Assert.NotEqual(link, forged);
        Assert.Equal(ErrorCode.LinkExpired, (await Assert.ThrowsAsync<TeamCommsException>(() => WorkplaceApi.DownloadLinkAsync(cluster.Url(2), forged))).Code);
        // Links die with the session that made them, on every node: bob signs out on node B, the link fails on node C.
        await bobOnB.LogoutAsync();
        Assert.Equal(ErrorCode.LinkExpired, (await Assert.ThrowsAsync<TeamCommsException>(() => WorkplaceApi.DownloadLinkAsync(cluster.Url(2), link))).Code);

        // The object is in the replicated object store, sealed: no plaintext marker anywhere in the NATS store directories.
        await using (var nats = Connect(cluster))
        {
            var store = await new NatsObjContext(nats.CreateJetStreamContext()).GetObjectStoreAsync(Bucket);
            var info = await store.GetInfoAsync(uploaded.Id);
            Assert.True(info.Size > (ulong)file.Length, "the object holds the sealed file (header and tags added)");
            var stream = await nats.CreateJetStreamContext().GetStreamAsync("OBJ_" + Bucket);
            Assert.Equal((3, NATS.Client.JetStream.Models.StreamConfigStorage.File), (stream.Info.Config.NumReplicas, stream.Info.Config.Storage));
        }
        var needle = Encoding.UTF8.GetBytes(marker);
        var objectFiles = 0;
        for (var i = 0; i < 3; i++)
        {
            foreach (var path in Directory.EnumerateFiles(cluster.Nats.StoreDirectory(i), "*", SearchOption.AllDirectories))
            {
                Assert.True(File.ReadAllBytes(path).AsSpan().IndexOf(needle) < 0, $"plaintext marker found in {path}");
                objectFiles += path.Contains("OBJ_" + Bucket, StringComparison.Ordinal) ? 1 : 0;
            }
        }
        Assert.True(objectFiles > 0, "the scan read the object store's files");

        // The sender deletes the message: the record is removed on every node and the object leaves the object store.
        await RetryAsync(() => alice.RedactAsync(room, posted.EventId, "wrong file"));
        foreach (var node in new[] { 0, 1, 2 })
        {
            using var http = new TeamCommsHttpClient(cluster.Url(node)) { AccessToken = aliceOnA.AccessToken };
            await EventuallyAsync(async () =>
                (await Record.ExceptionAsync(() => http.DownloadAttachmentAsync(uploaded.Id)) as TeamCommsException)?.Code == ErrorCode.UnknownAttachment,
                $"the attachment is gone on node {node + 1}");
        }
        await using (var nats = Connect(cluster))
        {
            var store = await new NatsObjContext(nats.CreateJetStreamContext()).GetObjectStoreAsync(Bucket);
            await EventuallyAsync(async () => await Record.ExceptionAsync(() => store.GetInfoAsync(uploaded.Id).AsTask()) is NatsObjNotFoundException,
                "the object is deleted from the object store");
        }
    }

    [Fact]
    public async Task BadInput_OversizedWrongRoomAndTamperedObject_FailClosedWithClearCodes()
    {
        await using var cluster = await ClusterHarness.StartAsync(extra: new Dictionary<string, string>
        {
            ["TEAMCOMMS__WORKPLACE__MAXATTACHMENTBYTES"] = "200000",
        });
        using var admin = await cluster.AdminAsync(0);
        await admin.CreateUserAsync("alice", "Alice", password: "alice-password-1");
        await admin.CreateUserAsync("carol", "Carol", password: "carol-password-1");
        using var aliceOnA = new TeamCommsHttpClient(cluster.Url(0));
        aliceOnA.AccessToken = (await aliceOnA.LoginAsync("alice", "alice-password-1")).AccessToken;
        await using var alice = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(0), aliceOnA.AccessToken!);
        var roomOne = await alice.CreateRoomAsync("One");
        var roomTwo = await alice.CreateRoomAsync("Two");
        using var carolOnB = new TeamCommsHttpClient(cluster.Url(1));
        carolOnB.AccessToken = (await carolOnB.LoginAsync("carol", "carol-password-1")).AccessToken;

        // Too large: refused while streaming, and nothing reaches the object store.
        var big = await Assert.ThrowsAsync<TeamCommsException>(() => aliceOnA.UploadAttachmentAsync(roomOne, new MemoryStream(PngWithMarker(300_000, "big")), "image/png"));
        Assert.Equal((ErrorCode.AttachmentTooLarge, 413), (big.Code, big.HttpStatus));
        // Not a member of the room, on another node.
        var outsider = await Assert.ThrowsAsync<TeamCommsException>(() => carolOnB.UploadAttachmentAsync(roomOne, new MemoryStream(PngWithMarker(100, "x")), "image/png"));
        Assert.Equal(ErrorCode.NotMember, outsider.Code);

        var file = PngWithMarker(150_000, "tamper-me");
        var uploaded = await aliceOnA.UploadAttachmentAsync(roomOne, new MemoryStream(file), "image/png");
        // Uploaded to room one: cannot be posted in room two (the check runs on every node, at apply).
        await using var aliceOnC = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(2), aliceOnA.AccessToken!);
        // (The upload's record and the rooms are in the log before this send, so node C has applied them when it applies the send.)
        var wrongRoom = await Assert.ThrowsAsync<TeamCommsException>(() => aliceOnC.SendAttachmentAsync(roomTwo, uploaded, "x.png"));
        Assert.Equal(ErrorCode.UnknownAttachment, wrongRoom.Code);
        await aliceOnC.SendAttachmentAsync(roomOne, uploaded, "x.png");

        await using var nats = Connect(cluster);
        var store = await new NatsObjContext(nats.CreateJetStreamContext()).GetObjectStoreAsync(Bucket);
        Assert.Equal([uploaded.Id], await ListAsync(store));

        // Someone with write access to NATS flips one bit of the sealed object: every node refuses it, before any byte.
        var sealedBytes = await store.GetBytesAsync(uploaded.Id);
        sealedBytes[sealedBytes.Length / 2] ^= 0x01;
        await store.PutAsync(uploaded.Id, sealedBytes);
        using var aliceOnB = new TeamCommsHttpClient(cluster.Url(1)) { AccessToken = aliceOnA.AccessToken };
        var damaged = await Assert.ThrowsAsync<TeamCommsException>(() => RetryAsync(() => aliceOnB.DownloadAttachmentAsync(uploaded.Id)));
        Assert.Equal((ErrorCode.AttachmentDamaged, 500), (damaged.Code, damaged.HttpStatus));
        var (link, _) = await aliceOnC.AttachmentLinkAsync(uploaded.Id);
        Assert.Equal(ErrorCode.AttachmentDamaged, (await Assert.ThrowsAsync<TeamCommsException>(() => WorkplaceApi.DownloadLinkAsync(cluster.Url(0), link))).Code);

        // Another attachment's (valid) object put in its place: sealed under another key and bound to another id.
        var other = await aliceOnA.UploadAttachmentAsync(roomOne, new MemoryStream(file), "image/png");
        await store.PutAsync(uploaded.Id, await store.GetBytesAsync(other.Id));
        Assert.Equal(ErrorCode.AttachmentDamaged, (await Assert.ThrowsAsync<TeamCommsException>(() => aliceOnB.DownloadAttachmentAsync(uploaded.Id))).Code);
        // A missing object fails closed too.
        await store.DeleteAsync(uploaded.Id);
        Assert.Equal(ErrorCode.AttachmentDamaged, (await Assert.ThrowsAsync<TeamCommsException>(() => aliceOnB.DownloadAttachmentAsync(uploaded.Id))).Code);
        // The untouched one still downloads on every node.
        for (var i = 0; i < 3; i++)
        {
            using var http = new TeamCommsHttpClient(cluster.Url(i)) { AccessToken = aliceOnA.AccessToken };
            Assert.Equal(file, await RetryAsync(() => http.DownloadAttachmentAsync(other.Id)));
        }
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting until {what}");
            await Task.Delay(100);
        }
    }

    private static byte[] PngWithMarker(int size, string marker)
    {
        var bytes = new byte[size];
        Random.Shared.NextBytes(bytes);
        new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }.CopyTo(bytes, 0);
        var m = Encoding.UTF8.GetBytes(marker);
        for (var at = 16; at + m.Length < size; at += 32 * 1024)
        {
            m.CopyTo(bytes, at);
        }
        return bytes;
    }

    private static NatsConnection Connect(ClusterHarness cluster) => new(NatsOpts.Default with
    {
        Url = string.Join(',', cluster.Nats.Urls),
        AuthOpts = new NatsAuthOpts { Username = NatsCluster.User, Password = NatsCluster.Password },
    });

    private static async Task<List<string>> ListAsync(INatsObjStore store)
    {
        var names = new List<string>();
        await foreach (var info in store.ListAsync())
        {
            names.Add(info.Name);
        }
        return names;
    }

    /// <summary>A node may not have applied what a call depends on yet (each applies at its own pace): retry briefly.</summary>
    private static async Task<T> RetryAsync<T>(Func<Task<T>> call)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                return await call();
            }
            catch (TeamCommsException ex) when (ex.Code is ErrorCode.UnknownEvent or ErrorCode.UnknownRoom or ErrorCode.NotInvited
                or ErrorCode.NotMember or ErrorCode.UnknownAttachment && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    private static async Task RetryAsync(Func<Task> call) => await RetryAsync(async () =>
    {
        await call();
        return true;
    });
}
