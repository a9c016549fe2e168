using System.Text;
using TeamComms.Client;
using TeamComms.Protocol.Events;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Keys;

/// <summary>Helpers for the encryption, rotation and backup tests.</summary>
internal static class KeyTestKit
{
    public static async Task<(TestUser User, string Room)> SeedAsync(TestServer server, string marker, int count, TestUser? user = null)
    {
        user ??= await server.CreateUserAsync();
        await using var conn = await user.ConnectAsync();
        var room = await conn.CreateRoomAsync("room");
        for (var i = 0; i < count; i++)
        {
            await conn.SendTextAsync(room, $"{marker} #{i}");
        }
        return (user, room);
    }

    public static async Task<List<string>> BodiesAsync(TestServer server, TestUser user, string room)
    {
        await using var conn = await TeamCommsConnection.ConnectAsync(server.WebSocketUrl, user.Token, new ClientOptions());
        var page = await conn.HistoryAsync(room, null, false, 500);
        return [.. page.Events.Where(e => e.Type == EventTypes.Message).OrderBy(e => e.Seq).Select(e => (string)e.ContentMap["body"]!)];
    }

    /// <summary>Every file under <paramref name="directory"/> (WAL, SST, MANIFEST, …) that contains <paramref name="marker"/>.</summary>
    public static List<string> FilesContaining(string directory, string marker)
    {
        var needle = Encoding.UTF8.GetBytes(marker);
        var found = new List<string>();
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            using var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var ms = new MemoryStream();
            fs.CopyTo(ms);
            if (ms.GetBuffer().AsSpan(0, (int)ms.Length).IndexOf(needle) >= 0)
            {
                found.Add(file);
            }
        }
        return found;
    }

    /// <summary>SHA-256 of every file, by relative path, to show that a refused start changed nothing that matters.</summary>
    public static Dictionary<string, string> Snapshot(string directory, Func<string, bool>? include = null) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(f => include?.Invoke(f) ?? true)
            .ToDictionary(f => Path.GetRelativePath(directory, f),
                f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))));
}
