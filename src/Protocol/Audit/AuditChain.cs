using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using MessagePack;

namespace TeamComms.Protocol.Audit;

/// <summary>
/// The audit log's hash chain and signed heads, so that any verifier (the server, the CLI, a SIEM script) checks a
/// log the same way.
/// <para>Entry hash: SHA-256 of the canonical MessagePack array
/// <c>[1, seq, ts, actor, action, target, address, details, prev]</c>, where <c>details</c> is a map of strings with
/// keys sorted by their UTF-8 bytes and <c>prev</c> is the previous entry's 32-byte hash (bin) or nil for seq 1.</para>
/// <para>Head signature: Ed25519 over the canonical MessagePack array
/// <c>["teamcomms.audit.head", 1, server, seq, hash, ts]</c>.</para>
/// </summary>
public static class AuditChain
{
    /// <summary>The version number that starts every hashed entry.</summary>
    public const int Version = 1;

    private const string HeadContext = "teamcomms.audit.head";

    /// <summary>The hash of an entry with these fields.</summary>
    public static byte[] ComputeHash(long seq, long timestamp, string actor, string action, string target, string address,
        IReadOnlyDictionary<string, string> details, ReadOnlySpan<byte> prev)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        var w = new MessagePackWriter(buffer);
        w.WriteArrayHeader(9);
        w.Write(Version);
        w.Write(seq);
        w.Write(timestamp);
        w.Write(actor);
        w.Write(action);
        w.Write(target);
        w.Write(address);
        var keys = details.Keys.Select(k => (Key: k, Bytes: Encoding.UTF8.GetBytes(k))).ToList();
        keys.Sort((a, b) => a.Bytes.AsSpan().SequenceCompareTo(b.Bytes));
        w.WriteMapHeader(keys.Count);
        foreach (var (key, _) in keys)
        {
            w.Write(key);
            w.Write(details[key]);
        }
        if (prev.IsEmpty)
        {
            w.WriteNil();
        }
        else
        {
            w.Write(prev);
        }
        w.Flush();
        return SHA256.HashData(buffer.WrittenSpan);
    }

    /// <summary>The hash <paramref name="entry"/> should have.</summary>
    public static byte[] ComputeHash(AuditEntry entry) =>
        ComputeHash(entry.Seq, entry.Timestamp, entry.Actor, entry.Action, entry.Target, entry.Address, entry.Details, entry.Prev);

    /// <summary>The bytes a head signature covers.</summary>
    public static byte[] HeadSigningInput(string server, long seq, ReadOnlySpan<byte> hash, long timestamp)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        var w = new MessagePackWriter(buffer);
        w.WriteArrayHeader(6);
        w.Write(HeadContext);
        w.Write(Version);
        w.Write(server);
        w.Write(seq);
        w.Write(hash);
        w.Write(timestamp);
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Verifies a log read in seq order: each entry's hash, each link to the previous entry, dense sequence numbers,
    /// and every signed head (signature, and that the log still holds the hash it signed). A head beyond the last
    /// entry means the tail was cut off. <paramref name="checkSignature"/> checks a head's signature with the
    /// server's public key (for example <c>SigningKey.Verify</c> over <see cref="HeadSigningInput"/>).
    /// <paramref name="expected"/> is a head the verifier recorded elsewhere (for example from the SIEM stream), checked
    /// like a signed one.
    /// </summary>
    public static AuditVerification Verify(IEnumerable<AuditEntry> entries, IReadOnlyList<AuditHead> heads,
        Func<AuditHead, bool> checkSignature, (long Seq, byte[] Hash)? expected = null)
    {
        var problems = new List<AuditProblem>();
        var pinned = new HashSet<long>(heads.Select(h => h.Seq));
        if (expected is { } e0)
        {
            pinned.Add(e0.Seq);
        }
        var hashAt = new Dictionary<long, byte[]>();
        long count = 0, expectedSeq = 1, lastSeq = 0;
        byte[]? previous = null;
        foreach (var entry in entries)
        {
            count++;
            if (entry.Seq > expectedSeq)
            {
                problems.Add(new AuditProblem("deleted", expectedSeq, entry.Seq - expectedSeq == 1
                    ? $"entry {expectedSeq} is missing"
                    : $"entries {expectedSeq} to {entry.Seq - 1} are missing"));
            }
            else if (entry.Seq < expectedSeq)
            {
                problems.Add(new AuditProblem("out_of_order", entry.Seq, $"entry {entry.Seq} appears after entry {expectedSeq - 1}"));
            }
            if (!CryptographicOperations.FixedTimeEquals(ComputeHash(entry), entry.Hash))
            {
                problems.Add(new AuditProblem("edited", entry.Seq, $"entry {entry.Seq} does not match its hash: its content was changed"));
            }
            if (!SameHash(entry.Prev, previous))
            {
                problems.Add(new AuditProblem("edited", entry.Seq,
                    $"entry {entry.Seq} does not link to the entry before it: an earlier entry was changed or removed"));
            }
            if (pinned.Contains(entry.Seq))
            {
                hashAt[entry.Seq] = entry.Hash;
            }
            previous = entry.Hash;
            lastSeq = entry.Seq;
            expectedSeq = Math.Max(expectedSeq, entry.Seq + 1);
        }
        long lastSigned = 0;
        foreach (var head in heads.OrderBy(h => h.Seq))
        {
            if (!checkSignature(head))
            {
                problems.Add(new AuditProblem("bad_signature", head.Seq, $"the signed head for entry {head.Seq} has an invalid signature"));
                continue;
            }
            CheckPinned(head.Seq, head.Hash, $"the head signed at {Iso(head.Timestamp)}", hashAt, lastSeq, problems);
            lastSigned = Math.Max(lastSigned, head.Seq);
        }
        if (expected is { } e)
        {
            CheckPinned(e.Seq, e.Hash, "the expected head", hashAt, lastSeq, problems);
        }
        return new AuditVerification(count, lastSeq, lastSigned, problems);
    }

    private static void CheckPinned(long seq, byte[] hash, string what, Dictionary<long, byte[]> hashAt, long lastSeq, List<AuditProblem> problems)
    {
        if (seq > lastSeq)
        {
            problems.Add(new AuditProblem("truncated", seq,
                $"{what} covers entries up to {seq} but the log ends at {lastSeq}: its tail was cut off"));
        }
        else if (!hashAt.TryGetValue(seq, out var actual) || !CryptographicOperations.FixedTimeEquals(actual, hash))
        {
            problems.Add(new AuditProblem("head_mismatch", seq,
                $"{what} does not match entry {seq}: the log up to {seq} was rewritten"));
        }
    }

    private static bool SameHash(byte[]? a, byte[]? b) =>
        (a is null || a.Length == 0) ? (b is null || b.Length == 0) : b is not null && a.AsSpan().SequenceEqual(b);

    private static string Iso(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("u", System.Globalization.CultureInfo.InvariantCulture);
}
