using System.CommandLine;
using TeamComms.Client;

namespace TeamComms.Cli;

/// <summary><c>teamcomms admin backup</c> and <c>teamcomms admin keys …</c>: online backups and key rotation, for security officers.</summary>
internal static class BackupCommands
{
    public static Command Backup(Option<string> config)
    {
        var download = new Option<string?>("--download") { Description = "Also download the backup and its manifest into this directory" };
        var backup = new Command("backup", "Make an online, consistent, encrypted backup (age file + signed manifest) on the server (security officers)");
        backup.Options.Add(download);
        backup.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var result = (await http.CreateBackupAsync(ct))!;
            var path = result["path"]!.GetValue<string>();
            var manifest = result["manifest"]!;
            Console.WriteLine($"backup {path}");
            Console.WriteLine($"  manifest {result["manifest_path"]}");
            Console.WriteLine($"  {manifest["size"]} bytes, sha256 {manifest["sha256"]}, to {string.Join(", ", manifest["recipients"]!.AsArray())}, signed by {manifest["signing_key_id"]}");
            if (pr.GetValue(download) is { } dir)
            {
                Directory.CreateDirectory(dir);
                var name = Path.GetFileName(path);
                foreach (var file in new[] { name, name + ".manifest.json" })
                {
                    await using var fs = File.Create(Path.Combine(dir, file));
                    await http.DownloadBackupFileAsync(file, fs, ct);
                }
                Console.WriteLine($"  downloaded to {Path.GetFullPath(dir)}");
            }
        }));
        return backup;
    }

    public static Command Keys(Option<string> config)
    {
        var keys = new Command("keys", "Encryption keys: status, rotation and company recipients (security officers)");
        var status = new Command("status", "KEK id and source, company recipients, signing key");
        status.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            Console.WriteLine((await http.KeyStatusAsync(ct))!.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        }));
        var passphraseStdin = new Option<bool>("--new-passphrase-stdin") { Description = "Read the new passphrase from standard input (passphrase KEKs)" };
        var rotateKek = new Command("rotate-kek", "Rotate the key-encryption key: rewraps every data key, rewrites no message");
        rotateKek.Options.Add(passphraseStdin);
        rotateKek.SetAction((pr, ct) => Cli.Run(async () =>
        {
            var passphrase = pr.GetValue(passphraseStdin) ? Cli.ReadPassword(true) : null;
            using var http = Cli.Http(pr.GetValue(config)!);
            var result = (await http.RotateKekAsync(passphrase, ct))!;
            Console.WriteLine($"KEK rotated from {result["from"]} to {result["to"]}");
            if (passphrase is not null)
            {
                Console.WriteLine("Put the new passphrase in the server's configuration before its next start.");
            }
        }));
        var room = new Argument<string>("room") { Description = "Room id (!…@server)" };
        var rotateRoom = new Command("rotate-room", "Start a new data key for a room (new events use it)");
        rotateRoom.Arguments.Add(room);
        rotateRoom.SetAction((pr, ct) => Cli.Run(async () =>
        {
            using var http = Cli.Http(pr.GetValue(config)!);
            var result = (await http.RotateRoomKeyAsync(pr.GetValue(room)!, ct))!;
            Console.WriteLine($"{result["room_id"]} now uses data key version {result["version"]}");
        }));
        keys.Subcommands.Add(status);
        keys.Subcommands.Add(rotateKek);
        keys.Subcommands.Add(rotateRoom);
        keys.Subcommands.Add(ComplianceCommands.KeyRecipients(config));
        return keys;
    }
}
