using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using TeamComms.Client;
using TeamComms.Crypto.Age;
using TeamComms.Crypto.Escrow;
using TeamComms.Protocol;
using TeamComms.Server.Backups;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Compliance;

/// <summary>Changing who receives backups or exports takes two officers; every step is audited; bad input changes nothing.</summary>
public class ApprovalTests
{
    private static async Task<TeamCommsException> RefusedAsync(Func<Task> call) => await Assert.ThrowsAsync<TeamCommsException>(call);

    private static string Escrow(JsonObject status) => status["approved"]!["escrow_recipient"]!.GetValue<string>();

    [Fact]
    public async Task CompanyRecipients_ChangedThroughTheApi_NeedASecondSecurityOfficer()
    {
        using var oldEscrow = AgeIdentity.Generate();
        using var newEscrow = AgeIdentity.Generate();
        var root = TempDirectory.Create("tc-approve");
        try
        {
            await using var server = await TestServer.StartAsync(ComplianceTestKit.Settings(oldEscrow, root));
            await Keys.KeyTestKit.SeedAsync(server, "approve", 3);
            using var alice = await server.SecurityOfficerAsync("alice-sec");
            using var bob = await server.SecurityOfficerAsync("bob-sec");
            using var compliance = await server.ComplianceOfficerAsync();
            using var admin = await server.AdminAsync();

            var request = (await alice.RequestCompanyRecipientsAsync(newEscrow.Recipient.ToString(), note: "annual rotation"))!;
            var id = request["id"]!.GetValue<long>();
            Assert.Equal(("pending", "alice-sec@test.local"), (request["status"]!.GetValue<string>(), request["requested_by"]!.GetValue<string>()));
            Assert.Equal(oldEscrow.Recipient.ToString(), request["current"]!.GetValue<string>());

            // The requester, a compliance officer and an admin cannot approve; nothing changes.
            var own = await RefusedAsync(() => alice.ApproveAsync(id));
            Assert.Equal(ErrorCode.Forbidden, own.Code);
            Assert.Contains("a different security officer must approve it", own.ServerMessage, StringComparison.Ordinal);
            Assert.Equal(ErrorCode.Forbidden, (await RefusedAsync(() => compliance.ApproveAsync(id))).Code);
            Assert.Equal(ErrorCode.Forbidden, (await RefusedAsync(() => admin.ApproveAsync(id))).Code);
            Assert.Equal(ErrorCode.Forbidden, (await RefusedAsync(() => alice.RejectAsync(id))).Code);
            Assert.Equal(ErrorCode.Forbidden, (await RefusedAsync(() => bob.CancelApprovalAsync(id))).Code);
            Assert.Equal(oldEscrow.Recipient.ToString(), Escrow((await alice.KeyStatusAsync())!));
            Assert.Equal("pending", (await alice.GetApprovalAsync(id))!["status"]!.GetValue<string>());
            Assert.Equal([oldEscrow.Recipient.KeyId], Recipients(await alice.CreateBackupAsync()));
            // A second request for the same change is refused while one is pending.
            Assert.Equal(ErrorCode.Conflict, (await RefusedAsync(() => bob.RequestCompanyRecipientsAsync(newEscrow.Recipient.ToString()))).Code);

            var approved = (await bob.ApproveAsync(id))!;
            Assert.Equal(("approved", "bob-sec@test.local"), (approved["status"]!.GetValue<string>(), approved["decided_by"]!.GetValue<string>()));
            Assert.True(approved["data_keys_rewrapped"]!.GetValue<int>() >= 1);
            var status = (await alice.KeyStatusAsync())!;
            Assert.Equal(newEscrow.Recipient.ToString(), Escrow(status));
            Assert.Equal("bob-sec@test.local", status["approved"]!["approved_by"]!.GetValue<string>());
            Assert.Equal([newEscrow.Recipient.KeyId], Recipients(await alice.CreateBackupAsync()));
            Assert.Equal(ErrorCode.ApprovalClosed, (await RefusedAsync(() => bob.ApproveAsync(id))).Code);

            // Every step is in the audit log: who, what, from where.
            var requested = (await ComplianceTestKit.AuditAsync(server, "approval.requested")).Single();
            Assert.Equal(("alice-sec@test.local", "127.0.0.1"), (requested["actor"]!.GetValue<string>(), requested["address"]!.GetValue<string>()));
            Assert.Equal(newEscrow.Recipient.ToString(), requested["details"]!["escrow"]!.GetValue<string>());
            Assert.Equal("bob-sec@test.local", (await ComplianceTestKit.AuditAsync(server, "approval.approved")).Single()["actor"]!.GetValue<string>());
            var changed = (await ComplianceTestKit.AuditAsync(server, "escrow.recipients.changed")).Single();
            Assert.Equal(("bob-sec@test.local", oldEscrow.Recipient.ToString(), newEscrow.Recipient.ToString()),
                (changed["actor"]!.GetValue<string>(), changed["details"]!["from"]!.GetValue<string>(), changed["details"]!["to"]!.GetValue<string>()));
        }
        finally
        {
            TempDirectory.Delete(root);
        }
    }

    [Fact]
    public async Task Requests_Expire_AndAnExpiredRequestChangesNothing()
    {
        using var escrow = AgeIdentity.Generate();
        using var other = AgeIdentity.Generate();
        var root = TempDirectory.Create("tc-approve");
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        try
        {
            var settings = ComplianceTestKit.Settings(escrow, root);
            settings["TeamComms:Approvals:RequestLifetime"] = "02:00:00";
            await using var server = await TestServer.StartAsync(settings, time: clock);
            using var alice = await server.SecurityOfficerAsync();
            using var bob = await server.SecurityOfficerAsync();
            var request = (await alice.RequestCompanyRecipientsAsync(other.Recipient.ToString()))!;
            Assert.Equal(clock.GetUtcNow().AddHours(2).ToUnixTimeSeconds(), request["expires_at"]!.GetValue<DateTimeOffset>().ToUnixTimeSeconds());
            clock.Advance(TimeSpan.FromHours(2) + TimeSpan.FromSeconds(1));

            var ex = await RefusedAsync(() => bob.ApproveAsync(request["id"]!.GetValue<long>()));
            Assert.Equal((ErrorCode.ApprovalExpired, 409), (ex.Code, ex.HttpStatus));
            Assert.Contains("nothing was changed", ex.ServerMessage, StringComparison.Ordinal);
            Assert.Equal(escrow.Recipient.ToString(), Escrow((await bob.KeyStatusAsync())!));
            Assert.Equal("expired", (await bob.GetApprovalAsync(request["id"]!.GetValue<long>()))!["status"]!.GetValue<string>());
            Assert.Equal(ErrorCode.ApprovalClosed, (await RefusedAsync(() => bob.ApproveAsync(request["id"]!.GetValue<long>()))).Code);
            var expired = (await ComplianceTestKit.AuditAsync(server, "approval.expired")).Single();
            Assert.Equal("system", expired["actor"]!.GetValue<string>());
            // An expired request no longer blocks a new one.
            Assert.Equal("pending", (await alice.RequestCompanyRecipientsAsync(other.Recipient.ToString()))!["status"]!.GetValue<string>());
        }
        finally
        {
            TempDirectory.Delete(root);
        }
    }

    [Fact]
    public async Task RejectAndCancel_AreRecorded_AndClosedRequestsCannotBeDecidedAgain()
    {
        using var escrow = AgeIdentity.Generate();
        using var other = AgeIdentity.Generate();
        var root = TempDirectory.Create("tc-approve");
        try
        {
            await using var server = await TestServer.StartAsync(ComplianceTestKit.Settings(escrow, root));
            using var alice = await server.SecurityOfficerAsync();
            using var bob = await server.SecurityOfficerAsync();
            var first = (await alice.RequestCompanyRecipientsAsync(other.Recipient.ToString()))!["id"]!.GetValue<long>();
            var rejected = (await bob.RejectAsync(first, "not announced at the security board"))!;
            Assert.Equal(("rejected", "not announced at the security board"), (rejected["status"]!.GetValue<string>(), rejected["reason"]!.GetValue<string>()));
            var closed = await RefusedAsync(() => bob.ApproveAsync(first));
            Assert.Equal(ErrorCode.ApprovalClosed, closed.Code);
            Assert.Contains("already rejected", closed.ServerMessage, StringComparison.Ordinal);

            var second = (await alice.RequestCompanyRecipientsAsync(other.Recipient.ToString()))!["id"]!.GetValue<long>();
            Assert.Equal("cancelled", (await alice.CancelApprovalAsync(second))!["status"]!.GetValue<string>());
            Assert.Equal(ErrorCode.ApprovalClosed, (await RefusedAsync(() => bob.ApproveAsync(second))).Code);
            Assert.Equal(escrow.Recipient.ToString(), Escrow((await bob.KeyStatusAsync())!));
            Assert.Equal(ErrorCode.NotFound, (await RefusedAsync(() => bob.ApproveAsync(999))).Code);
            Assert.Equal(ErrorCode.BadRequest, (await RefusedAsync(() => bob.SendAsync(HttpMethod.Post, "/v1/approvals/abc/approve", new JsonObject()))).Code);
            Assert.Single(await ComplianceTestKit.AuditAsync(server, "approval.rejected"));
            Assert.Single(await ComplianceTestKit.AuditAsync(server, "approval.cancelled"));
        }
        finally
        {
            TempDirectory.Delete(root);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("age1xyz")]
    [InlineData("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx2r3B0cmlhbAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ")]
    [InlineData("upper")]
    [InlineData("checksum")]
    public async Task MalformedRecipients_AreRefused_AndNothingIsStored(string kind)
    {
        using var escrow = AgeIdentity.Generate();
        using var valid = AgeIdentity.Generate();
        var text = kind switch
        {
            "upper" => valid.Recipient.ToString().ToUpperInvariant(),
            "checksum" => valid.Recipient.ToString()[..^1] + (valid.Recipient.ToString()[^1] == 'q' ? 'p' : 'q'),
            _ => kind,
        };
        var root = TempDirectory.Create("tc-approve");
        try
        {
            await using var server = await TestServer.StartAsync(ComplianceTestKit.Settings(escrow, root));
            using var security = await server.SecurityOfficerAsync();
            using var compliance = await server.ComplianceOfficerAsync();
            var auditBefore = (await ComplianceTestKit.AuditAsync(server, "")).Count;
            var ex = await RefusedAsync(() => security.RequestCompanyRecipientsAsync(text));
            Assert.Equal((ErrorCode.InvalidRecipient, 400), (ex.Code, ex.HttpStatus));
            Assert.Equal(ErrorCode.InvalidRecipient, (await RefusedAsync(() => security.RequestCompanyRecipientsAsync(valid.Recipient.ToString(), text.Length > 0 ? text : "age1"))).Code);
            Assert.Equal(ErrorCode.InvalidRecipient, (await RefusedAsync(() => compliance.SetExportRecipientAsync(text))).Code);
            if (text.StartsWith("AGE-SECRET-KEY", StringComparison.Ordinal))
            {
                Assert.Contains("send the public key", ex.ServerMessage, StringComparison.Ordinal);
            }
            Assert.Empty(await security.ListApprovalsAsync());
            Assert.Equal(auditBefore, (await ComplianceTestKit.AuditAsync(server, "")).Count);
        }
        finally
        {
            TempDirectory.Delete(root);
        }
    }

    [Fact]
    public async Task RecoveryEqualToEscrow_OrTheCurrentSet_IsRefused()
    {
        using var escrow = AgeIdentity.Generate();
        using var other = AgeIdentity.Generate();
        var root = TempDirectory.Create("tc-approve");
        try
        {
            await using var server = await TestServer.StartAsync(ComplianceTestKit.Settings(escrow, root));
            using var security = await server.SecurityOfficerAsync();
            Assert.Equal(ErrorCode.InvalidRecipient,
                (await RefusedAsync(() => security.RequestCompanyRecipientsAsync(other.Recipient.ToString(), other.Recipient.ToString()))).Code);
            Assert.Equal(ErrorCode.BadRequest, (await RefusedAsync(() => security.RequestCompanyRecipientsAsync(escrow.Recipient.ToString()))).Code);
            Assert.Empty(await security.ListApprovalsAsync());
        }
        finally
        {
            TempDirectory.Delete(root);
        }
    }

    [Fact]
    public async Task ConfigChange_IsDetectedAuditedAndHeld_BackupsStayWithTheOldShares_UntilApproved()
    {
        using var oldEscrow = AgeIdentity.Generate();
        using var newEscrow = AgeIdentity.Generate();
        using var third = AgeIdentity.Generate();
        var oldShares = EscrowKey.Split(oldEscrow, 5, 3);
        var root = TempDirectory.Create("tc-approve");
        var server = await TestServer.StartAsync(ComplianceTestKit.Settings(oldEscrow, root));
        var data = server.DataDirectory;
        try
        {
            await Keys.KeyTestKit.SeedAsync(server, "held", 3);
            (await server.SecurityOfficerAsync("sec-a")).Dispose();
            (await server.SecurityOfficerAsync("sec-b")).Dispose();
            server = await server.RestartAsync(ComplianceTestKit.Settings(newEscrow, root));
            using var a = new TeamCommsHttpClient(server.BaseUrl);
            await a.LoginAsync("sec-a", "password-sec-a");
            var status = (await a.KeyStatusAsync())!;
            Assert.Equal(oldEscrow.Recipient.ToString(), Escrow(status));
            Assert.True(status["configured_differs_from_approved"]!.GetValue<bool>());
            Assert.Equal(newEscrow.Recipient.ToString(), status["configured"]!["escrow_recipient"]!.GetValue<string>());
            var held = status["pending_recipients_request"]!;
            Assert.Equal(("config", newEscrow.Recipient.ToString()), (held["requested_by"]!.GetValue<string>(), held["escrow_recipient"]!.GetValue<string>()));
            var audit = (await ComplianceTestKit.AuditAsync(server, "escrow.recipients.held")).Single();
            Assert.Equal(("system", newEscrow.Recipient.ToString()), (audit["actor"]!.GetValue<string>(), audit["details"]!["escrow"]!.GetValue<string>()));

            // The unapproved change leaves backups encrypted to the old recipients: the old shares restore it, the new key cannot.
            var backup = (await a.CreateBackupAsync())!["path"]!.GetValue<string>();
            Assert.Equal([oldEscrow.Recipient.KeyId], Recipients(await a.CreateBackupAsync()));
            var target = Path.Combine(root, "restored");
            BackupRestorer.Restore(new RestoreRequest
            {
                BackupFile = backup,
                DataDirectory = target,
                Shares = [.. oldShares.Skip(1).Take(3).Select(s => ($"old-{s.Index}", s.ToString()))],
            }, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            Assert.Throws<RestoreException>(() => BackupRestorer.Restore(new RestoreRequest
            {
                BackupFile = backup,
                DataDirectory = Path.Combine(root, "restored-new"),
                Identities = [newEscrow],
            }, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));

            // A restart with the same file raises nothing new; a rejected change stays rejected.
            server = await server.RestartAsync(ComplianceTestKit.Settings(newEscrow, root));
            using var b = new TeamCommsHttpClient(server.BaseUrl);
            await b.LoginAsync("sec-b", "password-sec-b");
            var pending = (await b.ListApprovalsAsync("pending")).Single()!["id"]!.GetValue<long>();
            await b.RejectAsync(pending, "unknown key");
            server = await server.RestartAsync(ComplianceTestKit.Settings(newEscrow, root));
            using var b2 = new TeamCommsHttpClient(server.BaseUrl);
            await b2.LoginAsync("sec-b", "password-sec-b");
            Assert.Empty(await b2.ListApprovalsAsync("pending"));
            Assert.Equal(oldEscrow.Recipient.ToString(), Escrow((await b2.KeyStatusAsync())!));

            // A new change of the file is held again; approved, new backups go to it.
            server = await server.RestartAsync(ComplianceTestKit.Settings(third, root));
            using var b3 = new TeamCommsHttpClient(server.BaseUrl);
            await b3.LoginAsync("sec-b", "password-sec-b");
            var next = (await b3.ListApprovalsAsync("pending")).Single()!.AsObject();
            Assert.Equal(third.Recipient.ToString(), next["escrow_recipient"]!.GetValue<string>());
            await b3.ApproveAsync(next["id"]!.GetValue<long>());
            Assert.Equal([third.Recipient.KeyId], Recipients(await b3.CreateBackupAsync()));
            Assert.Equal(2, (await ComplianceTestKit.AuditAsync(server, "escrow.recipients.held")).Count);
        }
        finally
        {
            await server.DisposeAsync();
            TempDirectory.Delete(data);
            TempDirectory.Delete(root);
        }
    }

    [Fact]
    public async Task ExportRecipient_IsApprovedByASecurityOfficer_NotByItsOwner()
    {
        using var escrow = AgeIdentity.Generate();
        using var officerKey = AgeIdentity.Generate();
        var root = TempDirectory.Create("tc-approve");
        try
        {
            await using var server = await TestServer.StartAsync(ComplianceTestKit.Settings(escrow, root));
            var (_, room) = await Keys.KeyTestKit.SeedAsync(server, "recipient", 1);
            using var compliance = await server.ComplianceOfficerAsync("carol-co");
            using var otherCompliance = await server.ComplianceOfficerAsync();
            using var security = await server.SecurityOfficerAsync();
            var noKey = await RefusedAsync(() => compliance.CreateExportAsync(room: room));
            Assert.Equal((ErrorCode.NoExportRecipient, 409), (noKey.Code, noKey.HttpStatus));
            Assert.Contains("you have no export recipient", noKey.ServerMessage, StringComparison.Ordinal);

            var request = (await compliance.SetExportRecipientAsync(officerKey.Recipient.ToString()))!;
            var id = request["id"]!.GetValue<long>();
            Assert.Equal(("export_recipient", "carol-co@test.local"), (request["kind"]!.GetValue<string>(), request["subject"]!.GetValue<string>()));
            Assert.Contains("waiting for a security officer's approval", (await RefusedAsync(() => compliance.CreateExportAsync(room: room))).ServerMessage, StringComparison.Ordinal);
            Assert.Equal(ErrorCode.Forbidden, (await RefusedAsync(() => compliance.ApproveAsync(id))).Code);
            Assert.Equal(ErrorCode.Forbidden, (await RefusedAsync(() => otherCompliance.ApproveAsync(id))).Code);
            // A compliance officer sees their own requests only.
            Assert.Empty(await otherCompliance.ListApprovalsAsync());
            Assert.Single(await compliance.ListApprovalsAsync());
            Assert.Null((await compliance.GetExportRecipientAsync())!["recipient"]);

            await security.ApproveAsync(id);
            var mine = (await compliance.GetExportRecipientAsync())!;
            Assert.Equal(officerKey.Recipient.ToString(), mine["recipient"]!.GetValue<string>());
            var set = (await ComplianceTestKit.AuditAsync(server, "compliance.recipient.set")).Single();
            Assert.Equal(("carol-co@test.local", officerKey.Recipient.KeyId), (set["target"]!.GetValue<string>(), set["details"]!["recipient"]!.GetValue<string>()));
            Assert.NotNull(await compliance.CreateExportAsync(room: room));

            await compliance.RemoveExportRecipientAsync();
            Assert.Equal(ErrorCode.NoExportRecipient, (await RefusedAsync(() => compliance.CreateExportAsync(room: room))).Code);
            Assert.Single(await ComplianceTestKit.AuditAsync(server, "compliance.recipient.removed"));
        }
        finally
        {
            TempDirectory.Delete(root);
        }
    }

    private static List<string> Recipients(JsonObject? backup) =>
        [.. backup!["manifest"]!["recipients"]!.AsArray().Select(r => r!.GetValue<string>())];
}
