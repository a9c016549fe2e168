using System.Buffers;
using MessagePack;
using TeamComms.Crypto.Keys;
using TeamComms.Server.Rooms;

namespace TeamComms.Server.Cluster;

/// <summary>
/// One entry of the cluster log: a batch of proposals from one node, sealed with the cluster's log key before it is
/// published, so neither NATS's disks nor its network carry plaintext.
/// <code>
/// entry  = ["tclog", format, node, batch, keyId, sealed]         (MessagePack)
/// sealed = XChaCha20-Poly1305(logKey[keyId], body, ad = the five fields before it, encoded)
/// body   = [proposal, …]                                           (see ProposalCodec)
/// </code>
/// <c>format</c> is <see cref="CurrentFormat"/>; a node refuses an entry of a format it does not know and stops
/// applying (docs/operations.md, "Upgrading a cluster").
/// </summary>
internal sealed record LogEntry(int Format, string Node, string Batch, string KeyId, IReadOnlyList<Proposal> Proposals)
{
    /// <summary>
    /// 2: audit entries travel as pending rows (<c>audit_pending</c>) that the sequencer numbers at apply time; a node
    /// that only knows format 1 would fail on them, so it must stop with the alarm instead. Format 1 is still read.
    /// </summary>
    public const int CurrentFormat = 2;
    private const string Magic = "tclog";

    public static byte[] Seal(string node, string batch, string keyId, SealingKey key, IReadOnlyList<Proposal> proposals) =>
        SealEncoded(node, batch, keyId, key, [.. proposals.Select(ProposalCodec.ToBytes)]);

    /// <summary>Seals proposals already encoded with <see cref="ProposalCodec.ToBytes"/> (the publisher encodes each on its caller's thread).</summary>
    public static byte[] SealEncoded(string node, string batch, string keyId, SealingKey key, IReadOnlyList<byte[]> proposals)
    {
        var body = new ArrayBufferWriter<byte>(proposals.Sum(p => p.Length) + 8);
        var bw = new MessagePackWriter(body);
        bw.WriteArrayHeader(proposals.Count);
        foreach (var p in proposals)
        {
            bw.WriteRaw(p);
        }
        bw.Flush();
        var head = Header(CurrentFormat, node, batch, keyId);
        var sealedBody = key.Seal(body.WrittenSpan, head);
        var output = new ArrayBufferWriter<byte>(head.Length + sealedBody.Length + 16);
        var w = new MessagePackWriter(output);
        w.WriteArrayHeader(6);
        w.WriteRaw(head.AsSpan(1)); // the header's five fields, without its own array header
        w.Write(sealedBody);
        w.Flush();
        return output.WrittenSpan.ToArray();
    }

    /// <summary>Reads an entry's header without decrypting (format, node, batch, key id).</summary>
    public static (int Format, string Node, string Batch, string KeyId) ReadHeader(ReadOnlyMemory<byte> data)
    {
        try
        {
            var r = new MessagePackReader(data);
            var n = r.ReadArrayHeader();
            if (n < 6 || r.ReadString() != Magic)
            {
                throw new LogEntryFormatException("not a TeamComms log entry");
            }
            var format = r.ReadInt32();
            return (format, r.ReadString()!, r.ReadString()!, r.ReadString()!);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new LogEntryFormatException("damaged log entry: " + ex.Message);
        }
    }

    /// <summary>Opens and decodes an entry. Throws <see cref="LogEntryFormatException"/> for an unknown format, a wrong key or damage.</summary>
    public static LogEntry Open(ReadOnlyMemory<byte> data, Func<string, SealingKey?> keys)
    {
        var (format, node, batch, keyId) = ReadHeader(data);
        if (format is not (1 or CurrentFormat))
        {
            throw new LogEntryFormatException($"log entry format {format} is unknown to this node (it reads {CurrentFormat}); upgrade it");
        }
        var key = keys(keyId) ?? throw new LogEntryFormatException($"log key '{keyId}' is not known to this node");
        try
        {
            var r = new MessagePackReader(data);
            r.ReadArrayHeader();
            for (var i = 0; i < 5; i++)
            {
                r.Skip();
            }
            var sealedBody = r.ReadBytes()!.Value.ToArray();
            var body = key.Open(sealedBody, Header(format, node, batch, keyId))
                ?? throw new LogEntryFormatException($"log entry {node}/{batch} does not open with log key '{keyId}'");
            var br = new MessagePackReader(body);
            var count = br.ReadArrayHeader();
            var proposals = new List<Proposal>(count);
            for (var i = 0; i < count; i++)
            {
                proposals.Add(ProposalCodec.Read(ref br));
            }
            return new LogEntry(format, node, batch, keyId, proposals);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new LogEntryFormatException($"damaged log entry {node}/{batch}: {ex.Message}");
        }
    }

    private static byte[] Header(int format, string node, string batch, string keyId)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        var w = new MessagePackWriter(buffer);
        w.WriteArrayHeader(5);
        w.Write(Magic);
        w.Write(format);
        w.Write(node);
        w.Write(batch);
        w.Write(keyId);
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
