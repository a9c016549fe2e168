using System.Diagnostics;
using System.Formats.Tar;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using TeamComms.Client;
using TeamComms.Crypto.Age;
using TeamComms.Protocol.Events;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;
using TeamComms.Tests.Infrastructure;

namespace TeamComms.Tests.Compliance;

/// <summary>Helpers for the approval, role-separation and export tests.</summary>
internal static class ComplianceTestKit
{
    public static Dictionary<string, string?> Settings(AgeIdentity escrow, string root) => new()
    {
        ["TeamComms:Keys:EscrowRecipient"] = escrow.Recipient.ToString(),
        ["TeamComms:Backup:Directory"] = Path.Combine(root, "backups"),
        ["TeamComms:Compliance:ExportDirectory"] = Path.Combine(root, "exports"),
    };

    /// <summary>The compliance officer registers <paramref name="recipient"/>; the security officer approves it.</summary>
    public static async Task RegisterRecipientAsync(TeamCommsHttpClient compliance, TeamCommsHttpClient security, AgeRecipient recipient)
    {
        var request = (await compliance.SetExportRecipientAsync(recipient.ToString()))!;
        await security.ApproveAsync(request["id"]!.GetValue<long>());
    }

    /// <summary>
    /// Removes an event's content as redaction and retention do (issue 7): the stored event keeps its id, hash and
    /// place in the chain, and its content becomes nil. Done at a room-log barrier, between two group commits.
    /// </summary>
    public static Task RemoveContentAsync(TestServer server, string roomId, long seq)
    {
        var store = server.Services.GetRequiredService<RocksStore>();
        var events = server.Services.GetRequiredService<EventStore>();
        var roomKey = server.Services.GetRequiredService<RoomStore>().FindRoomKey(roomId)!.Value;
        return server.Services.GetRequiredService<IRoomLog>().BarrierAsync(_ =>
        {
            Assert.True(events.TryGet(roomKey, seq, out var stored));
            var e = EventCodec.Read(stored.Wire);
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            var w = new MessagePack.MessagePackWriter(buffer);
            EventCodec.Write(ref w, e.Version, e.Id, e.RoomId, e.Seq, e.Prev, e.Sender, e.Type, e.Timestamp, e.ContentHash, default, redacted: true);
            w.Flush();
            var value = StoredEvent.Build(stored.Pos, buffer.WrittenSpan, stored.MessageCount, out int _);
            using var batch = new StoreBatch(store);
            batch.PutEvent(roomKey, seq, value);
            batch.Commit();
            return 0;
        });
    }

    /// <summary>The seq of the message whose body is <paramref name="body"/>.</summary>
    public static async Task<long> SeqOfAsync(TestUser user, string room, string body)
    {
        await using var conn = await user.ConnectAsync();
        var page = await conn.HistoryAsync(room, null, false, 500);
        return page.Events.Single(e => e.Type == EventTypes.Message && e.ContentMap.TryGetValue("body", out var b) && (string?)b == body).Seq;
    }

    /// <summary>Every regular file of a tar archive, by name.</summary>
    public static Dictionary<string, byte[]> ReadTar(byte[] tar)
    {
        var files = new Dictionary<string, byte[]>();
        using var reader = new TarReader(new MemoryStream(tar));
        while (reader.GetNextEntry() is { } entry)
        {
            using var ms = new MemoryStream();
            entry.DataStream?.CopyTo(ms);
            files[entry.Name] = ms.ToArray();
        }
        return files;
    }

    /// <summary>Decrypts an export in this process with an identity, into memory.</summary>
    public static Dictionary<string, byte[]> Open(string file, params AgeIdentity[] identities)
    {
        using var fs = File.OpenRead(file);
        using var age = new AgeDecryptStream(fs, identities);
        using var ms = new MemoryStream();
        age.CopyTo(ms);
        return ReadTar(ms.ToArray());
    }

    /// <summary>Every JSON line of the export's <c>messages/*.jsonl</c> parts, in order.</summary>
    public static List<JsonObject> Lines(Dictionary<string, byte[]> files) =>
        [.. files.Where(f => f.Key.StartsWith("messages/", StringComparison.Ordinal)).OrderBy(f => f.Key, StringComparer.Ordinal)
            .SelectMany(f => Encoding.UTF8.GetString(f.Value).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            .Select(l => JsonNode.Parse(l)!.AsObject())];

    /// <summary>All transcript pages, concatenated.</summary>
    public static string Html(Dictionary<string, byte[]> files) =>
        string.Concat(files.Where(f => f.Key.StartsWith("transcript/", StringComparison.Ordinal)).OrderBy(f => f.Key, StringComparer.Ordinal)
            .Select(f => Encoding.UTF8.GetString(f.Value)));

    /// <summary>Runs a program and returns its exit code, its standard output as bytes, and its standard error.</summary>
    public static async Task<(int Code, byte[] Out, string Err)> RunBinaryAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        using var stdout = new MemoryStream();
        var copy = p.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        await copy;
        return (p.ExitCode, stdout.ToArray(), await stderr);
    }

    /// <summary>Runs the CLI (<c>teamcomms</c>) with <paramref name="stdin"/> as standard input.</summary>
    public static Task<(int Code, string Out, string Err)> CliAsync(string? stdin, params string[] args) => CliRunner.RunAsync(null, stdin, args);

    /// <summary>Audit entries (newest first) whose action starts with <paramref name="action"/>.</summary>
    public static async Task<List<JsonObject>> AuditAsync(TestServer server, string action)
    {
        using var admin = await server.AdminAsync();
        var page = await admin.GetAsync("/v1/admin/audit?limit=1000&action=" + Uri.EscapeDataString(action));
        return [.. page!["entries"]!.AsArray().Select(e => e!.AsObject())];
    }
}
