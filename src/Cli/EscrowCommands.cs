using System.CommandLine;
using System.Text;
using TeamComms.Crypto.Age;
using TeamComms.Crypto.Escrow;
using TeamComms.Crypto.Keys;

namespace TeamComms.Cli;

/// <summary>
/// <c>teamcomms escrow …</c>: the offline escrow-key ceremony (init, combine, verify-share) and
/// <c>teamcomms keys generate-kek-file</c>. None of these talk to a server. See docs/security.md.
/// </summary>
internal static class EscrowCommands
{
    public static Command Escrow()
    {
        var escrow = new Command("escrow", "The company escrow key: create and split it, check and recombine shares (offline)");
        escrow.Subcommands.Add(Init());
        escrow.Subcommands.Add(Combine());
        escrow.Subcommands.Add(VerifyShare());
        return escrow;
    }

    public static Command Keys()
    {
        var keys = new Command("keys", "Local key files");
        var path = new Argument<string>("path") { Description = "Where to write the new key file (must not exist)" };
        var generate = new Command("generate-kek-file", "Create a new key-encryption key file (mode 0600) for TeamComms:Keys:KeyFile");
        generate.Arguments.Add(path);
        generate.SetAction(pr => Run(() =>
        {
            using var kek = KeyEncryptionKey.Generate();
            kek.WriteKeyFile(pr.GetValue(path)!, $"TeamComms key-encryption key, created {DateTimeOffset.UtcNow:u}");
            Console.WriteLine($"wrote {Path.GetFullPath(pr.GetValue(path)!)} ({kek.Id})");
        }));
        keys.Subcommands.Add(generate);
        return keys;
    }

    private static Command Init()
    {
        var shares = new Option<int>("--shares") { Description = "How many shares to make", DefaultValueFactory = _ => EscrowKey.DefaultShares };
        var threshold = new Option<int>("--threshold") { Description = "How many shares recombine the key", DefaultValueFactory = _ => EscrowKey.DefaultThreshold };
        var holders = new Option<string[]>("--holder-recipient")
        {
            Description = "age recipient (age1…) of each share's holder, in share order; each share is then encrypted to its holder",
            AllowMultipleArgumentsPerToken = true,
        };
        var outDir = new Option<string?>("--out") { Description = "Write the public key and one file per share into this directory (else print them)" };
        var init = new Command("init", "Create the escrow key pair and split its private key into shares; prints the public key for the server");
        init.Options.Add(shares);
        init.Options.Add(threshold);
        init.Options.Add(holders);
        init.Options.Add(outDir);
        init.SetAction(pr => Run(() =>
        {
            var n = pr.GetValue(shares);
            var t = pr.GetValue(threshold);
            var holderList = (pr.GetValue(holders) ?? []).Select(AgeRecipient.Parse).ToList();
            if (holderList.Count > 0 && holderList.Count != n)
            {
                throw new ArgumentException($"give one --holder-recipient per share ({n}), or none");
            }
            // The whole private key exists only in this process's memory; only its shares leave it.
            using var identity = AgeIdentity.Generate();
            var split = EscrowKey.Split(identity, n, t);
            var recipient = identity.Recipient.ToString();
            var texts = split.Select((s, i) => holderList.Count > 0
                ? AgeFile.Armor(AgeFile.Encrypt(Encoding.ASCII.GetBytes(s.ToString() + "\n"), [holderList[i]]))
                : s.ToString() + "\n").ToList();
            var dir = pr.GetValue(outDir);
            if (dir is not null)
            {
                Directory.CreateDirectory(dir);
                WriteNew(Path.Combine(dir, "escrow-public-key.txt"), recipient + "\n", secret: false);
                for (var i = 0; i < texts.Count; i++)
                {
                    WriteNew(Path.Combine(dir, $"share-{i + 1}-of-{n}{(holderList.Count > 0 ? ".age" : ".txt")}"), texts[i], secret: true);
                }
            }
            Console.WriteLine($"escrow public key (TeamComms:Keys:EscrowRecipient): {recipient}");
            Console.WriteLine($"escrow key id: {identity.Recipient.KeyId}; {n} shares, any {t} recombine it");
            if (dir is not null)
            {
                Console.WriteLine($"wrote escrow-public-key.txt and {n} share files to {Path.GetFullPath(dir)}: hand each share to its holder and delete it here");
                return;
            }
            for (var i = 0; i < texts.Count; i++)
            {
                Console.WriteLine();
                Console.WriteLine($"--- share {i + 1} of {n}{(holderList.Count > 0 ? $" (encrypted to {holderList[i]})" : "")} ---");
                Console.Write(texts[i]);
            }
        }));
        return init;
    }

    private static Command Combine()
    {
        var sharesArg = new Argument<string[]>("shares") { Description = "Share files, or share texts (tcescrow1-…)", Arity = ArgumentArity.OneOrMore };
        var identities = new Option<string[]>("--identity") { Description = "age identity file of a holder, to open encrypted shares", AllowMultipleArgumentsPerToken = true };
        var reveal = new Option<bool>("--reveal") { Description = "Print the recombined private key (AGE-SECRET-KEY-1…) to standard output" };
        var combine = new Command("combine", "Check that shares recombine the escrow key (naming any bad share); optionally print the key");
        combine.Arguments.Add(sharesArg);
        combine.Options.Add(identities);
        combine.Options.Add(reveal);
        combine.SetAction(pr => Run(() =>
        {
            var ids = LoadIdentities(pr.GetValue(identities));
            var shares = pr.GetValue(sharesArg)!.Select(s => ReadShare(s, ids)).ToList();
            using var identity = EscrowKey.Combine(shares);
            Console.Error.WriteLine($"ok: shares {string.Join(", ", shares.Select(s => s.Share.Index).Distinct().Order())} recombine escrow key {identity.Recipient.KeyId} ({identity.Recipient})");
            if (pr.GetValue(reveal))
            {
                Console.WriteLine(identity.ToIdentityFile(DateTimeOffset.UtcNow).TrimEnd());
            }
        }));
        return combine;
    }

    private static Command VerifyShare()
    {
        var shareArg = new Argument<string>("share") { Description = "A share file, or a share text (tcescrow1-…)" };
        var identities = new Option<string[]>("--identity") { Description = "age identity file of the holder, if the share is encrypted", AllowMultipleArgumentsPerToken = true };
        var recipient = new Option<string?>("--recipient") { Description = "The escrow public key (age1…) the share must belong to" };
        var verify = new Command("verify-share", "Check one share's checksum and which escrow key it belongs to");
        verify.Arguments.Add(shareArg);
        verify.Options.Add(identities);
        verify.Options.Add(recipient);
        verify.SetAction(pr => Run(() =>
        {
            var (name, share) = ReadShare(pr.GetValue(shareArg)!, LoadIdentities(pr.GetValue(identities)));
            if (pr.GetValue(recipient) is { } r && AgeRecipient.Parse(r).KeyId != share.KeyId)
            {
                throw new EscrowShareException(name, $"belongs to escrow key {share.KeyId}, not to {AgeRecipient.Parse(r).KeyId} ({r})");
            }
            Console.WriteLine($"ok: {name} is share {share.Index} of {share.Count} (threshold {share.Threshold}) of escrow key {share.KeyId}; checksum valid");
        }));
        return verify;
    }

    private static List<AgeIdentity> LoadIdentities(string[]? files) =>
        [.. (files ?? []).SelectMany(f => AgeIdentity.ParseFile(File.ReadAllText(f), f))];

    private static (string Name, EscrowShare Share) ReadShare(string arg, List<AgeIdentity> identities)
    {
        var literal = arg.StartsWith(EscrowShare.Prefix + "-", StringComparison.Ordinal);
        var name = literal ? $"share '{arg[..Math.Min(arg.Length, 30)]}…'" : arg;
        var text = literal ? arg : File.ReadAllText(arg);
        if (AgeFile.IsArmored(text) || text.StartsWith("age-encryption.org/", StringComparison.Ordinal))
        {
            if (identities.Count == 0)
            {
                throw new EscrowShareException(name, "is encrypted to its holder: give the holder's key with --identity");
            }
            try
            {
                text = Encoding.ASCII.GetString(AgeFile.Decrypt(Encoding.Latin1.GetBytes(text), identities));
            }
            catch (AgeException ex)
            {
                throw new EscrowShareException(name, "does not open with the given --identity: " + ex.Message);
            }
        }
        return (name, EscrowShare.Parse(text, name));
    }

    private static void WriteNew(string path, string text, bool secret)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (secret && !OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using var fs = new FileStream(path, options);
        fs.Write(Encoding.ASCII.GetBytes(text));
    }

    /// <summary>Runs an offline command: bad shares, keys or files print <c>error: …</c> and exit 1.</summary>
    internal static int Run(Action body)
    {
        try
        {
            body();
            return 0;
        }
        catch (Exception ex) when (ex is EscrowShareException or AgeException or FormatException or ArgumentException or IOException
            or UnauthorizedAccessException or KeySourceException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
    }
}
