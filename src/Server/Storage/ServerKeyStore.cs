using TeamComms.Crypto;

namespace TeamComms.Server.Storage;

/// <summary>
/// The server's Ed25519 signing key when encryption at rest is off (a test-only configuration; normally the key is
/// the one encryption at rest keeps wrapped in the data directory): kept as <c>keys/server-signing.key</c> (the 32-byte
/// seed, base64, readable by the owner only), created on first start.
/// </summary>
internal static class ServerKeyStore
{
    public const string RelativePath = "keys/server-signing.key";

    public static SigningKey LoadOrCreate(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, RelativePath);
        if (File.Exists(path))
        {
            var text = File.ReadAllText(path).Trim();
            byte[] seed;
            try
            {
                seed = Convert.FromBase64String(text);
            }
            catch (FormatException)
            {
                throw new StorageFormatException($"{path} is not a base64 Ed25519 key; restore it from a backup or remove it to make a new one.");
            }
            if (seed.Length != 32)
            {
                throw new StorageFormatException($"{path} does not hold a 32-byte Ed25519 key.");
            }
            return SigningKey.Import(seed);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var key = SigningKey.Generate();
        var tmp = path + ".tmp";
        using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            var bytes = System.Text.Encoding.ASCII.GetBytes(Convert.ToBase64String(key.ExportPrivate()) + "\n");
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        File.Move(tmp, path);
        return key;
    }
}
