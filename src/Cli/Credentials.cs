using System.Text.Json;

namespace TeamComms.Cli;

/// <summary>
/// The CLI's saved login: server URL, user and access token, in <c>~/.config/teamcomms/credentials.json</c>
/// (or <c>--config</c>, or <c>$TEAMCOMMS_CONFIG</c>), readable by its owner only.
/// </summary>
internal sealed record Credentials(string Server, string UserId, string AccessToken, string SessionId)
{
    public static string DefaultPath =>
        Environment.GetEnvironmentVariable("TEAMCOMMS_CONFIG") is { Length: > 0 } env
            ? env
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "teamcomms", "credentials.json");

    public static Credentials? Load(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        return JsonSerializer.Deserialize<Credentials>(File.ReadAllText(path));
    }

    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, "");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        File.WriteAllText(tmp, JsonSerializer.Serialize(this));
        File.Move(tmp, path, overwrite: true);
    }
}
