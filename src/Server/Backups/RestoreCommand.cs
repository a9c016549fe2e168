using Microsoft.Extensions.Logging;
using TeamComms.Crypto.Age;
using TeamComms.Server.Storage.Encryption;

namespace TeamComms.Server.Backups;

/// <summary>
/// <c>TeamComms.Server restore …</c>: the offline restore, run with the server stopped. See docs/operations.md.
/// </summary>
internal static class RestoreCommand
{
    public const string Usage = """
        usage: TeamComms.Server restore --backup FILE --data EMPTY_DIR
                 (--share FILE_OR_TEXT ... [--share-identity AGE_KEY_FILE ...] | --identity RECOVERY_KEY_FILE)
                 [--manifest FILE] [--key-file NEW_KEK_FILE | --passphrase-file FILE] [--expect-signing-key ed25519:…]
        Restores a backup into an empty data directory with a threshold of escrow shares (or the operations recovery key),
        rewrapping every data key under a new key-encryption key for the restored server.
        """;

    public static int Run(string[] args)
    {
        try
        {
            var request = Parse(args);
            using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
            var result = BackupRestorer.Restore(request, loggerFactory.CreateLogger("restore"));
            Console.WriteLine($"restored {result.Manifest.File} ({result.Bytes} bytes, made {result.Manifest.CreatedAt:u} by {result.Manifest.Server}) into {result.DataDirectory}");
            Console.WriteLine($"  signed by {result.Manifest.SigningKeyId}; data keys rewrapped under {result.KekId}");
            if (result.KeyFile is not null)
            {
                Console.WriteLine($"  the new key file is {result.KeyFile}: move it off the data volume and set TeamComms:Keys:KeyFile");
            }
            Console.WriteLine($"  took {result.Elapsed.TotalSeconds:F1} s ({result.Bytes / Math.Max(result.Elapsed.TotalSeconds, 1e-6) / 1e6:F0} MB/s)");
            return 0;
        }
        catch (Exception ex) when (ex is RestoreException or ArgumentException or FormatException or IOException or UnauthorizedAccessException or TeamComms.Crypto.Keys.KeySourceException)
        {
            Console.Error.WriteLine("error: " + ex.Message);
            return 1;
        }
    }

    private static RestoreRequest Parse(string[] args)
    {
        string? backup = null, manifest = null, data = null, keyFile = null, passphraseFile = null, expect = null;
        var shares = new List<(string, string)>();
        var shareIdentities = new List<AgeIdentity>();
        var identities = new List<AgeIdentity>();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value\n{Usage}");
            switch (args[i])
            {
                case "--backup": backup = Next(); break;
                case "--manifest": manifest = Next(); break;
                case "--data": data = Next(); break;
                case "--key-file": keyFile = Next(); break;
                case "--passphrase-file": passphraseFile = Next(); break;
                case "--expect-signing-key": expect = Next(); break;
                case "--share":
                    var s = Next();
                    shares.Add(s.StartsWith("tcescrow1-", StringComparison.Ordinal) ? ($"share #{shares.Count + 1}", s) : (s, File.ReadAllText(s)));
                    break;
                case "--share-identity":
                    var f = Next();
                    shareIdentities.AddRange(AgeIdentity.ParseFile(File.ReadAllText(f), f));
                    break;
                case "--identity":
                    var g = Next();
                    identities.AddRange(AgeIdentity.ParseFile(File.ReadAllText(g), g));
                    break;
                default:
                    throw new ArgumentException($"unknown option {args[i]}\n{Usage}");
            }
        }
        if (backup is null || data is null)
        {
            throw new ArgumentException(Usage);
        }
        return new RestoreRequest
        {
            BackupFile = backup,
            ManifestFile = manifest,
            DataDirectory = data,
            Shares = shares,
            ShareIdentities = shareIdentities,
            Identities = identities,
            NewKeys = new KeyOptions { KeyFile = keyFile, PassphraseFile = passphraseFile, Passphrase = Environment.GetEnvironmentVariable("TEAMCOMMS__KEYS__PASSPHRASE") },
            ExpectSigningKey = expect,
        };
    }
}
