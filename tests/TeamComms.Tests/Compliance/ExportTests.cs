using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using TeamComms.Client;
using TeamComms.Crypto.Age;
using TeamComms.Crypto.Escrow;
using TeamComms.Protocol;
using TeamComms.Protocol.Exports;
using TeamComms.Server.Compliance;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Compliance;

/// <summary>Compliance exports: encrypted to the escrow key and the officer, never plaintext on disk, readable, audited.</summary>
public class ExportTests
{
    private const string Thai = "สวัสดีครับ MARKER-thai ทดสอบภาษาไทย";
    private const string Arabic = "مرحبا MARKER-arabic بالعالم";
    private const string Hostile = "<script>alert('MARKER-xss')</script> & \"quoted\" <img src=x onerror=alert(1)>";

    [Fact]
    public async Task RoomExport_ThroughTheCli_OpensWithTheRealAgeTool_ForTheOfficerAndWithTheEscrowShares()
    {
        using var escrow = AgeIdentity.Generate();
        var shares = EscrowKey.Split(escrow, 5, 3);
        var root = TempDirectory.Create("tc-export");
        try
        {
            await using var server = await TestServer.StartAsync(ComplianceTestKit.Settings(escrow, root));
            var alice = await server.CreateUserAsync("alice");
            var bob = await server.CreateUserAsync("bob");
            string room;
            await using (var a = await alice.ConnectAsync())
            await using (var b = await bob.ConnectAsync())
            {
                room = await a.CreateRoomAsync("Projekt ทดสอบ", invite: [bob.UserId]);
                await b.JoinAsync(room);
                await a.SendTextAsync(room, "MARKER-alpha first message");
                await b.SendTextAsync(room, Thai);
                await a.SendTextAsync(room, Hostile);
                await b.SendTextAsync(room, Arabic);
                await b.SendTextAsync(room, "MARKER-secret to be removed");
                await a.SendTextAsync(room, "MARKER-omega last message");
            }
            await ComplianceTestKit.RemoveContentAsync(server, room, await ComplianceTestKit.SeqOfAsync(alice, room, "MARKER-secret to be removed"));

            // The officer's key comes from the real age-keygen; the officer registers it and a security officer approves, both through the CLI.
            var officerKey = Path.Combine(root, "officer.key");
            var (kc, _, kerr) = await ComplianceTestKit.RunBinaryAsync("age-keygen", "-o", officerKey);
            Assert.True(kc == 0, kerr);
            var officerRecipient = AgeIdentity.ParseFile(await File.ReadAllTextAsync(officerKey))[0].Recipient;
            (await server.ComplianceOfficerAsync("cora")).Dispose();
            (await server.SecurityOfficerAsync("sam")).Dispose();
            var cora = Path.Combine(root, "cora.json");
            var sam = Path.Combine(root, "sam.json");
            Assert.Equal(0, (await ComplianceTestKit.CliAsync("password-cora", "--config", cora, "login", "--server", server.BaseUrl.ToString(), "--user", "cora", "--password-stdin")).Code);
            Assert.Equal(0, (await ComplianceTestKit.CliAsync("password-sam", "--config", sam, "login", "--server", server.BaseUrl.ToString(), "--user", "sam", "--password-stdin")).Code);
            var set = await ComplianceTestKit.CliAsync(null, "--config", cora, "compliance", "recipient", "set", officerRecipient.ToString());
            Assert.True(set.Code == 0, set.Err);
            var id = set.Out.Split(' ')[1];
            var early = await ComplianceTestKit.CliAsync(null, "--config", cora, "compliance", "export", "--room", room);
            Assert.Equal(1, early.Code);
            Assert.Contains("no_export_recipient", early.Err, StringComparison.Ordinal);
            var self = await ComplianceTestKit.CliAsync(null, "--config", cora, "approvals", "approve", id);
            Assert.Equal(1, self.Code);
            Assert.Contains("forbidden", self.Err, StringComparison.Ordinal);
            var approve = await ComplianceTestKit.CliAsync(null, "--config", sam, "approvals", "approve", id);
            Assert.True(approve.Code == 0, approve.Err);

            var download = Path.Combine(root, "downloaded");
            var export = await ComplianceTestKit.CliAsync(null, "--config", cora, "compliance", "export", "--room", room, "--reason", "case 2026-042", "--download", download);
            Assert.True(export.Code == 0, export.Err);
            Assert.Contains("downloaded and verified", export.Out, StringComparison.Ordinal);
            var file = Directory.GetFiles(download, "*.age").Single();

            // Nothing in plaintext on any disk this test touched: the server's data, exports and backups, the download.
            Assert.Empty(Keys.KeyTestKit.FilesContaining(root, "MARKER-"));
            Assert.Empty(Keys.KeyTestKit.FilesContaining(server.DataDirectory, "MARKER-"));

            // The officer opens it with the real age tool, to standard output (no plaintext file either).
            var (code, tar, err) = await ComplianceTestKit.RunBinaryAsync("age", "-d", "-i", officerKey, file);
            Assert.True(code == 0, err);
            var files = ComplianceTestKit.ReadTar(tar);
            AssertContent(files, room);

            // The escrow holders open the same file with three of five shares.
            var recombined = EscrowKey.Combine([.. new[] { 0, 2, 4 }.Select(i => ($"share-{i + 1}", shares[i]))]);
            var escrowKey = Path.Combine(root, "escrow.key");
            await File.WriteAllTextAsync(escrowKey, recombined.ToIdentityFile(DateTimeOffset.UtcNow));
            var (escrowCode, escrowTar, escrowErr) = await ComplianceTestKit.RunBinaryAsync("age", "-d", "-i", escrowKey, file);
            Assert.True(escrowCode == 0, escrowErr);
            Assert.Equal(tar, escrowTar);
            File.Delete(escrowKey);
            // Anyone else cannot.
            using var stranger = AgeIdentity.Generate();
            var strangerKey = Path.Combine(root, "stranger.key");
            await File.WriteAllTextAsync(strangerKey, stranger.ToIdentityFile(DateTimeOffset.UtcNow));
            Assert.NotEqual(0, (await ComplianceTestKit.RunBinaryAsync("age", "-d", "-i", strangerKey, file)).Code);

            // The signed manifest names the scope, the officer and both recipients; every export and download is audited.
            var manifest = SignedExportManifest.Parse(await File.ReadAllBytesAsync(file + ".manifest.json")).Manifest;
            Assert.Equal((room, "cora@test.local", "127.0.0.1", "case 2026-042"), (manifest.Room, manifest.RequestedBy, manifest.RequestedFrom, manifest.Reason));
            Assert.Equal([escrow.Recipient.KeyId, officerRecipient.KeyId], manifest.Recipients);
            Assert.Equal(1, manifest.Removed);
            Assert.Equal(ComplianceTestKit.Lines(files).Count, manifest.Events);
            var audit = (await ComplianceTestKit.AuditAsync(server, "compliance.export")).Where(e => e["action"]!.GetValue<string>() == "compliance.export").Single();
            Assert.Equal(("cora@test.local", room, "127.0.0.1"), (audit["actor"]!.GetValue<string>(), audit["target"]!.GetValue<string>(), audit["address"]!.GetValue<string>()));
            Assert.Equal(("case 2026-042", manifest.Sha256, manifest.Events.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                (audit["details"]!["reason"]!.GetValue<string>(), audit["details"]!["sha256"]!.GetValue<string>(), audit["details"]!["events"]!.GetValue<string>()));
            Assert.Single(await ComplianceTestKit.AuditAsync(server, "compliance.export.download"));

            // A changed manifest no longer verifies.
            var tampered = Path.Combine(root, "tampered.json");
            await File.WriteAllTextAsync(tampered, (await File.ReadAllTextAsync(file + ".manifest.json")).Replace("case 2026-042", "case 2026-043", StringComparison.Ordinal));
            var verify = await ComplianceTestKit.CliAsync(null, "compliance", "verify", file, "--manifest", tampered);
            Assert.Equal(1, verify.Code);
            Assert.Contains("signature does not verify", verify.Err, StringComparison.Ordinal);
            Assert.Equal(0, (await ComplianceTestKit.CliAsync(null, "compliance", "verify", file, "--expect-signing-key", manifest.SigningKeyId)).Code);
        }
        finally
        {
            TempDirectory.Delete(root);
        }
    }

    private static void AssertContent(Dictionary<string, byte[]> files, string room)
    {
        Assert.Contains("export.json", files.Keys);
        Assert.Contains("index.html", files.Keys);
        var all = string.Concat(files.Values.Select(v => Encoding.UTF8.GetString(v)));
        Assert.DoesNotContain("MARKER-secret", all, StringComparison.Ordinal);

        var lines = ComplianceTestKit.Lines(files);
        Assert.All(lines, l => Assert.Equal(room, l["room_id"]!.GetValue<string>()));
        Assert.Equal(lines.Select(l => l["seq"]!.GetValue<long>()).Order(), lines.Select(l => l["seq"]!.GetValue<long>()));
        string? Body(JsonObject l) => l["content"]?["body"]?.GetValue<string>();
        var bodies = lines.Select(Body).Where(b => b is not null).ToList();
        Assert.Contains("MARKER-alpha first message", bodies);
        Assert.Contains(Thai, bodies);
        Assert.Contains(Arabic, bodies);
        Assert.Contains(Hostile, bodies);
        Assert.Contains("MARKER-omega last message", bodies);
        var removed = lines.Single(l => l["removed"]!.GetValue<bool>());
        Assert.Null(removed["content"]);
        Assert.Equal("bob@test.local", removed["sender"]!.GetValue<string>());
        Assert.Equal("BOB", lines.First(l => l["sender"]!.GetValue<string>() == "bob@test.local")["sender_name"]!.GetValue<string>());
        // JSON lines keep every script as written (not \u escapes), so grep and readers see the words.
        Assert.Contains(Thai, all, StringComparison.Ordinal);

        var html = ComplianceTestKit.Html(files);
        Assert.Contains("<meta charset=\"utf-8\">", html, StringComparison.Ordinal);
        Assert.Contains("default-src 'none'", html, StringComparison.Ordinal);
        Assert.Contains(">" + Thai + "<", html, StringComparison.Ordinal);
        Assert.Contains(">" + Arabic + "<", html, StringComparison.Ordinal);
        Assert.Contains("Projekt ทดสอบ", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(&#39;MARKER-xss&#39;)&lt;/script&gt; &amp; &quot;quoted&quot; &lt;img src=x onerror=alert(1)&gt;", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("[content removed]", html, StringComparison.Ordinal);
        var index = Encoding.UTF8.GetString(files["index.html"]);
        Assert.Contains("case 2026-042", index, StringComparison.Ordinal);
        Assert.Contains("transcript/r0001-p0001.html", index, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UserAndTimeRangeExports_SelectExactlyThoseEvents_AcrossRooms_AndLongRoomsArePaged()
    {
        using var escrow = AgeIdentity.Generate();
        using var officerKey = AgeIdentity.Generate();
        var root = TempDirectory.Create("tc-export");
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
        try
        {
            await using var server = await TestServer.StartAsync(ComplianceTestKit.Settings(escrow, root), time: clock);
            var alice = await server.CreateUserAsync("alice");
            var bob = await server.CreateUserAsync("bob");
            string r1, r2;
            await using (var a = await alice.ConnectAsync())
            await using (var b = await bob.ConnectAsync())
            {
                r1 = await a.CreateRoomAsync("one", invite: [bob.UserId]);
                r2 = await b.CreateRoomAsync("two", invite: [alice.UserId]);
                await b.JoinAsync(r1);
                await a.JoinAsync(r2);
                await a.SendTextAsync(r1, "day1 alice r1");
                await b.SendTextAsync(r2, "day1 bob r2");
                clock.Advance(TimeSpan.FromDays(1));
                await a.SendTextAsync(r2, "day2 alice r2");
                await b.SendTextAsync(r1, "day2 bob r1");
                clock.Advance(TimeSpan.FromDays(1));
                await a.SendTextAsync(r1, "day3 alice r1");
                for (var i = 0; i < ExportWriter.PageEvents + 5; i++)
                {
                    await b.SendTextAsync(r2, $"day3 bulk {i}");
                }
            }
            using var compliance = await server.ComplianceOfficerAsync();
            using (var security = await server.SecurityOfficerAsync())
            {
                await ComplianceTestKit.RegisterRecipientAsync(compliance, security, officerKey.Recipient);
            }
            var exports = Path.Combine(root, "exports");

            async Task<List<JsonObject>> ExportAsync(string? room = null, string? user = null, string? since = null, string? until = null)
            {
                var file = (await compliance.CreateExportAsync(room, user, since, until))!["file"]!.GetValue<string>();
                return ComplianceTestKit.Lines(ComplianceTestKit.Open(Path.Combine(exports, file), officerKey));
            }
            static List<string> Messages(List<JsonObject> lines) =>
                [.. lines.Where(l => l["type"]!.GetValue<string>() == "message" && !l["content"]!["body"]!.GetValue<string>().StartsWith("day3 bulk", StringComparison.Ordinal))
                    .Select(l => l["content"]!["body"]!.GetValue<string>())];

            var byAlice = await ExportAsync(user: alice.UserId);
            Assert.All(byAlice, l => Assert.Equal(alice.UserId, l["sender"]!.GetValue<string>()));
            Assert.Equal(["day1 alice r1", "day3 alice r1", "day2 alice r2"], Messages(byAlice));
            Assert.Contains(byAlice, l => l["type"]!.GetValue<string>() == "room.create" && l["room_id"]!.GetValue<string>() == r1);

            var day2 = await ExportAsync(since: "2026-03-02T00:00:00Z", until: "2026-03-03T00:00:00Z");
            Assert.Equal(["day2 bob r1", "day2 alice r2"], Messages(day2));
            Assert.Equal(2, day2.Count);

            var bobInR1 = await ExportAsync(room: r1, user: bob.UserId, since: "2026-03-01T12:00:00Z");
            Assert.Equal(["day2 bob r1"], Messages(bobInR1));

            // A room longer than a transcript page is split into linked pages; the JSON lines hold every event.
            var whole = (await compliance.CreateExportAsync(room: r2))!;
            var files = ComplianceTestKit.Open(Path.Combine(exports, whole["file"]!.GetValue<string>()), officerKey);
            Assert.Equal(ComplianceTestKit.Lines(files).Count, whole["manifest"]!["events"]!.GetValue<long>());
            Assert.Contains("transcript/r0001-p0002.html", files.Keys);
            Assert.Contains("next page", Encoding.UTF8.GetString(files["transcript/r0001-p0001.html"]), StringComparison.Ordinal);
            Assert.Contains("day3 bulk 1004", Encoding.UTF8.GetString(files["transcript/r0001-p0002.html"]), StringComparison.Ordinal);
            Assert.Equal(4, (await compliance.ListExportsAsync()).Count);
            Assert.Equal(4, (await ComplianceTestKit.AuditAsync(server, "compliance.export")).Count);
        }
        finally
        {
            TempDirectory.Delete(root);
        }
    }

    [Fact]
    public async Task BadExportRequests_AreRefusedClearly_AndWriteNothing()
    {
        using var escrow = AgeIdentity.Generate();
        using var officerKey = AgeIdentity.Generate();
        var root = TempDirectory.Create("tc-export");
        try
        {
            await using var server = await TestServer.StartAsync(ComplianceTestKit.Settings(escrow, root));
            var (user, room) = await Keys.KeyTestKit.SeedAsync(server, "bad", 1);
            using var compliance = await server.ComplianceOfficerAsync();
            using (var security = await server.SecurityOfficerAsync())
            {
                await ComplianceTestKit.RegisterRecipientAsync(compliance, security, officerKey.Recipient);
            }
            foreach (var (call, code, text) in new (Func<Task>, ErrorCode, string)[]
            {
                (() => compliance.CreateExportAsync(), ErrorCode.BadRequest, "say what to export"),
                (() => compliance.CreateExportAsync(room: "!nope@test.local"), ErrorCode.UnknownRoom, "no room"),
                (() => compliance.CreateExportAsync(user: "nobody@test.local"), ErrorCode.UnknownUser, "no user"),
                (() => compliance.CreateExportAsync(since: "yesterday"), ErrorCode.BadRequest, "is not a time"),
                (() => compliance.CreateExportAsync(since: "2026-03-02T00:00:00Z", until: "2026-03-01T00:00:00Z"), ErrorCode.BadRequest, "since must be before until"),
            })
            {
                var ex = await Assert.ThrowsAsync<TeamCommsException>(call);
                Assert.Equal(code, ex.Code);
                Assert.Contains(text, ex.ServerMessage, StringComparison.Ordinal);
            }
            Assert.False(Directory.Exists(Path.Combine(root, "exports")) && Directory.EnumerateFileSystemEntries(Path.Combine(root, "exports")).Any());
            Assert.Empty(await ComplianceTestKit.AuditAsync(server, "compliance.export"));
            // Another officer's export file is not downloadable by name.
            var file = (await compliance.CreateExportAsync(room: room))!["file"]!.GetValue<string>();
            using var other = await server.ComplianceOfficerAsync();
            await Assert.ThrowsAsync<TeamCommsException>(() => other.DownloadExportFileAsync(file, Stream.Null));
            await Assert.ThrowsAsync<TeamCommsException>(() => compliance.DownloadExportFileAsync("../db/CURRENT", Stream.Null));
            _ = user;
        }
        finally
        {
            TempDirectory.Delete(root);
        }
    }

    [Theory]
    [InlineData("<b>x</b>", "&lt;b&gt;x&lt;/b&gt;")]
    [InlineData("\" onmouseover='alert(1)'", "&quot; onmouseover=&#39;alert(1)&#39;")]
    [InlineData("a&amp;b", "a&amp;amp;b")]
    [InlineData("bell\u0007 nul\u0000 c1\u0085 tab\tnewline\n", "bell\uFFFD nul\uFFFD c1\uFFFD tab\tnewline\n")]
    [InlineData("emoji 👍 ไทย 中文", "emoji 👍 ไทย 中文")]
    public void TranscriptEscape_NeutralizesMarkup_KeepsEveryScript(string input, string expected) =>
        Assert.Equal(expected, TranscriptHtml.Escape(input));

    [Fact]
    public void TranscriptEscape_ReplacesUnpairedSurrogates()
    {
        // Built at run time: attribute strings cannot carry an unpaired surrogate.
        var input = "lone " + (char)0xD800 + " high, lone " + (char)0xDC00 + " low, pair " + char.ConvertFromUtf32(0x1F44D);
        Assert.Equal("lone \uFFFD high, lone \uFFFD low, pair 👍", TranscriptHtml.Escape(input));
    }
}
