using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using TeamComms.Client;
using TeamComms.Crypto;
using TeamComms.Protocol.Exports;

namespace TeamComms.Cli;

/// <summary>
/// The separated security roles' commands: <c>teamcomms approvals …</c> (two-person approvals),
/// <c>teamcomms admin keys recipients request</c>, and <c>teamcomms compliance recipient|export|exports|verify</c>.
/// </summary>
internal static class ComplianceCommands
{
    // ---- approvals ------------------------------------------------------------------------------------------------

    public static Command Approvals(Option<string> config, Option<bool> json)
    {
        var approvals = new Command("approvals", "Two-person approval of changes to who receives backups and exports (security officers decide)");
        var status = new Option<string?>("--status") { Description = "pending, approved, rejected, cancelled, expired or superseded" };
        var list = new Command("list", "Requests, newest first (security officers see all; compliance officers their own)");
        list.Options.Add(status);
        list.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            foreach (var r in await http.ListApprovalsAsync(pr.GetValue(status), ct))
            {
                Console.WriteLine(pr.GetValue(json) ? r!.ToJsonString() : Line(r!.AsObject()));
            }
        }));
        var id = new Argument<long>("id") { Description = "Request id" };
        var show = new Command("show", "One request in full");
        show.Arguments.Add(id);
        show.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            Print((await http.GetApprovalAsync(pr.GetValue(id), ct))!, pr.GetValue(json));
        }));
        var approve = new Command("approve", "Approve another officer's request (security officers); the change takes effect at once");
        approve.Arguments.Add(id);
        approve.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var r = (await http.ApproveAsync(pr.GetValue(id), ct))!;
            Console.WriteLine(pr.GetValue(json) ? r.ToJsonString() : $"approved: {Line(r)}" + (r["kind"]?.GetValue<string>() == "company_recipients" ? $"; {r["data_keys_rewrapped"]} data keys rewrapped" : ""));
        }));
        var reason = new Option<string?>("--reason") { Description = "Why (kept in the request and the audit log)" };
        var reject = new Command("reject", "Reject another officer's request (security officers)");
        reject.Arguments.Add(id);
        reject.Options.Add(reason);
        reject.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var r = (await http.RejectAsync(pr.GetValue(id), pr.GetValue(reason), ct))!;
            Console.WriteLine(pr.GetValue(json) ? r.ToJsonString() : $"rejected: {Line(r)}");
        }));
        var cancel = new Command("cancel", "Withdraw your own pending request");
        cancel.Arguments.Add(id);
        cancel.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var r = (await http.CancelApprovalAsync(pr.GetValue(id), ct))!;
            Console.WriteLine(pr.GetValue(json) ? r.ToJsonString() : $"cancelled: {Line(r)}");
        }));
        approvals.Subcommands.Add(list);
        approvals.Subcommands.Add(show);
        approvals.Subcommands.Add(approve);
        approvals.Subcommands.Add(reject);
        approvals.Subcommands.Add(cancel);
        return approvals;
    }

    /// <summary><c>teamcomms admin keys recipients request --escrow age1… [--recovery age1…]</c>.</summary>
    public static Command KeyRecipients(Option<string> config)
    {
        var recipients = new Command("recipients", "The company recipients (escrow, recovery): changes need a second security officer");
        var escrow = new Option<string>("--escrow") { Description = "New escrow public key (age1…, from `teamcomms escrow init`)", Required = true };
        var recovery = new Option<string?>("--recovery") { Description = "Operations recovery key (age1…); leave out for none" };
        var note = new Option<string?>("--note") { Description = "A note for the approving officer" };
        var request = new Command("request", "Ask to change the company recipients; another security officer approves with `teamcomms approvals approve ID`");
        request.Options.Add(escrow);
        request.Options.Add(recovery);
        request.Options.Add(note);
        request.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var r = (await http.RequestCompanyRecipientsAsync(pr.GetValue(escrow)!, pr.GetValue(recovery), pr.GetValue(note), ct))!;
            Console.WriteLine($"request {r["id"]} is pending until {r["expires_at"]}: another security officer runs `teamcomms approvals approve {r["id"]}`");
        }));
        recipients.Subcommands.Add(request);
        return recipients;
    }

    // ---- compliance -----------------------------------------------------------------------------------------------

    /// <summary>Adds <c>recipient</c>, <c>export</c>, <c>exports</c> and <c>verify</c> to <c>teamcomms compliance</c>.</summary>
    public static void Add(Command compliance, Option<string> config, Option<bool> json)
    {
        compliance.Subcommands.Add(RecipientCommand(config, json));
        compliance.Subcommands.Add(ExportCommand(config, json));
        var exports = new Command("exports", "Your exports, newest first");
        exports.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            foreach (var m in await http.ListExportsAsync(ct))
            {
                Console.WriteLine(pr.GetValue(json) ? m!.ToJsonString()
                    : $"{m!["file"]}\t{m["created_at"]}\troom={m["room"] ?? "*"}\tuser={m["user"] ?? "*"}\tevents={m["events"]}\t{m["size"]} bytes");
            }
        }));
        compliance.Subcommands.Add(exports);
        compliance.Subcommands.Add(VerifyCommand());
    }

    private static Command RecipientCommand(Option<string> config, Option<bool> json)
    {
        var recipient = new Command("recipient", "Your age public key, which your exports are encrypted to (with the escrow key)");
        var key = new Argument<string>("recipient") { Description = "Your age public key (age1…; `age-keygen -y your.key` prints it)" };
        var note = new Option<string?>("--note") { Description = "A note for the approving security officer" };
        var set = new Command("set", "Register or replace your export recipient; a security officer approves it");
        set.Arguments.Add(key);
        set.Options.Add(note);
        set.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var r = (await http.SetExportRecipientAsync(pr.GetValue(key)!, pr.GetValue(note), ct))!;
            Console.WriteLine($"request {r["id"]} (key {r["recipient_key_id"]}) is pending until {r["expires_at"]}: a security officer runs `teamcomms approvals approve {r["id"]}`");
        }));
        var show = new Command("show", "Your approved export recipient and any pending request");
        show.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            Print((await http.GetExportRecipientAsync(ct))!, pr.GetValue(json));
        }));
        var remove = new Command("remove", "Remove your export recipient (at once; exports are refused until a new one is approved)");
        remove.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            await http.RemoveExportRecipientAsync(ct);
            Console.WriteLine("removed");
        }));
        recipient.Subcommands.Add(set);
        recipient.Subcommands.Add(show);
        recipient.Subcommands.Add(remove);
        return recipient;
    }

    private static Command ExportCommand(Option<string> config, Option<bool> json)
    {
        var room = new Option<string?>("--room") { Description = "Only this room (!…@server)" };
        var user = new Option<string?>("--user") { Description = "Only messages this user sent (name@server)" };
        var since = new Option<string?>("--since") { Description = "From this time (ISO 8601, e.g. 2026-01-01T00:00:00Z, or Unix ms)" };
        var until = new Option<string?>("--until") { Description = "Before this time" };
        var reason = new Option<string?>("--reason") { Description = "Case or request this export is for (kept in the manifest and the audit log)" };
        var download = new Option<string?>("--download") { Description = "Also download the export and its manifest into this directory, and verify them" };
        var export = new Command("export", "Export a room, a user's messages or a time range, encrypted to the escrow key and to you (audited)");
        foreach (var o in new[] { room, user, since, until, reason, download })
        {
            export.Options.Add(o);
        }
        export.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var result = (await http.CreateExportAsync(pr.GetValue(room), pr.GetValue(user), pr.GetValue(since), pr.GetValue(until), pr.GetValue(reason), ct))!;
            var m = result["manifest"]!;
            if (pr.GetValue(json))
            {
                Console.WriteLine(result.ToJsonString());
            }
            else
            {
                Console.WriteLine($"export {result["file"]}");
                Console.WriteLine($"  {m["events"]} events in {m["rooms"]} rooms ({m["removed"]} removed), {m["size"]} bytes, sha256 {m["sha256"]}");
                Console.WriteLine($"  encrypted to escrow key {m["escrow_key_id"]} and your key {m["officer_key_id"]}, signed by {m["signing_key_id"]}");
            }
            if (pr.GetValue(download) is { } dir)
            {
                Directory.CreateDirectory(dir);
                var name = result["file"]!.GetValue<string>();
                foreach (var file in new[] { name, name + ".manifest.json" })
                {
                    await using var fs = File.Create(Path.Combine(dir, file));
                    await http.DownloadExportFileAsync(file, fs, ct);
                }
                var problem = Verify(Path.Combine(dir, name), null, m["signing_key_id"]!.GetValue<string>());
                if (problem is not null)
                {
                    Console.Error.WriteLine($"error: the downloaded export does not verify: {problem}");
                    throw new OperationFailedException();
                }
                Console.WriteLine($"  downloaded and verified in {Path.GetFullPath(dir)}");
                Console.WriteLine($"  read it with: age -d -i YOUR.key {Path.Combine(dir, name)} | tar x -C DIR   (then open DIR/index.html)");
            }
        }));
        return export;
    }

    private static Command VerifyCommand()
    {
        var file = new Argument<string>("file") { Description = "The export (.age); its manifest is FILE.manifest.json unless --manifest" };
        var manifest = new Option<string?>("--manifest") { Description = "The signed manifest" };
        var key = new Option<string?>("--expect-signing-key") { Description = "Your server's signing key id (ed25519:…), as recorded in your runbook" };
        var verify = new Command("verify", "Check an export against its signed manifest: the server's signature, size and SHA-256");
        verify.Arguments.Add(file);
        verify.Options.Add(manifest);
        verify.Options.Add(key);
        verify.SetAction(pr => Cli.Run(() =>
        {
            var path = pr.GetValue(file)!;
            var problem = Verify(path, pr.GetValue(manifest), pr.GetValue(key));
            if (problem is not null)
            {
                Console.Error.WriteLine($"error: {problem}");
                throw new OperationFailedException();
            }
            Console.WriteLine($"ok: {path} matches its manifest, signed by the server key");
            return Task.CompletedTask;
        }));
        return verify;
    }

    /// <summary>Checks an export file against its signed manifest; returns what is wrong, or null.</summary>
    internal static string? Verify(string file, string? manifestPath, string? expectedKey)
    {
        manifestPath ??= file + ".manifest.json";
        SignedExportManifest signed;
        try
        {
            signed = SignedExportManifest.Parse(File.ReadAllBytes(manifestPath));
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return $"cannot read the manifest {manifestPath}: {ex.Message}";
        }
        var m = signed.Manifest;
        byte[] publicKey, signature;
        try
        {
            publicKey = Convert.FromBase64String(m.SigningPublicKey);
            signature = Convert.FromBase64String(signed.Signature);
        }
        catch (FormatException)
        {
            return "the manifest's key or signature is not base64";
        }
        if (SigningKey.KeyIdOf(publicKey) != m.SigningKeyId || !SigningKey.Verify(publicKey, SignedExportManifest.Canonical(m), signature))
        {
            return "the manifest's signature does not verify: it was changed after the server signed it";
        }
        if (expectedKey is not null && m.SigningKeyId != expectedKey)
        {
            return $"the manifest is signed by {m.SigningKeyId}, not by the expected server key {expectedKey}";
        }
        try
        {
            using var fs = File.OpenRead(file);
            var sha = Convert.ToHexStringLower(SHA256.HashData(fs));
            if (fs.Length != m.Size || sha != m.Sha256)
            {
                return $"the file does not match its manifest (size {fs.Length}, sha256 {sha}; the manifest says {m.Size}, {m.Sha256})";
            }
        }
        catch (IOException ex)
        {
            return $"cannot read {file}: {ex.Message}";
        }
        return null;
    }

    private static string Line(JsonObject r)
    {
        var what = r["kind"]?.GetValue<string>() == "company_recipients"
            ? $"escrow={r["escrow_key_id"]} recovery={r["recovery_key_id"]?.ToString() ?? "none"}"
            : $"{r["subject"]} recipient={r["recipient_key_id"]}";
        return $"{r["id"]}\t{r["status"]}\t{r["kind"]}\t{what}\tby {r["requested_by"]}\texpires {r["expires_at"]}" +
            (r["decided_by"] is { } d ? $"\tdecided by {d}" : "");
    }

    private static void Print(JsonObject obj, bool json)
    {
        if (json)
        {
            Console.WriteLine(obj.ToJsonString());
            return;
        }
        foreach (var (k, v) in obj)
        {
            if (v is not null)
            {
                Console.WriteLine($"{k}: {(v is JsonValue ? v.ToString() : v.ToJsonString(new JsonSerializerOptions { WriteIndented = true }))}");
            }
        }
    }
}
