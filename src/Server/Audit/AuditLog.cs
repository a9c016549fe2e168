using Microsoft.Extensions.Logging;
using TeamComms.Crypto;
using TeamComms.Protocol.Audit;
using TeamComms.Server.Hosting;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Audit;

/// <summary>
/// The append-only, hash-chained audit log. Each entry carries the hash of the one before it, and from time to time
/// the server signs the head (seq and hash) with its Ed25519 key, so an edited entry, a removed entry or a cut-off
/// tail is detectable (<see cref="Verify"/>, <c>teamcomms admin audit verify</c>). Appends are serialized; an
/// entry can commit in the same write as the change it records (<see cref="RecordWithAsync{T}"/>), so a change
/// is never stored without its entry, nor the reverse.
/// </summary>
internal sealed partial class AuditLog : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    // The committed head (seq, hash, time): moved by a single node's appends, or in cluster mode by the sequencer.
    private readonly Lock _headLock = new();
    private readonly AuditStore _store;
    private readonly TimeProvider _time;
    private readonly ServerKey _key;
    private readonly string _serverName;
    private readonly ILogger _logger;
    private long _lastSeq;
    private byte[]? _lastHash;
    private long _lastTs;
    private long _signedSeq;

    public AuditLog(AuditStore store, TimeProvider time, ServerKey key, ServerIdentity identity, ILogger<AuditLog> logger)
    {
        _store = store;
        _time = time;
        _key = key;
        _serverName = identity.ServerName;
        _logger = logger;
        if (store.Last() is { } last)
        {
            _lastSeq = last.Seq;
            _lastHash = Convert.FromHexString(last.Hash);
            _lastTs = last.Ts;
        }
        _signedSeq = store.LastHead()?.Seq ?? 0;
    }

    /// <summary>Raised after entries or a head are durable (the SIEM stream listens).</summary>
    public event Action? Appended;

    public long LastSeq => Volatile.Read(ref _lastSeq);

    /// <summary>Records one event on its own; durable when this returns.</summary>
    public async Task<AuditRecord> RecordAsync(AuditEvent e)
    {
        var (records, _) = await RecordWithAsync([e], async writes =>
        {
            await CommitAsync(writes, _store.Write).ConfigureAwait(false);
            return (true, 0);
        }).ConfigureAwait(false);
        return records[0];
    }

    /// <summary>
    /// Records events that commit together with other rows: <paramref name="commit"/> receives the staged entry rows,
    /// writes them with its own change, and says whether it committed. The log's head moves only if it did.
    /// </summary>
    public async Task<(IReadOnlyList<AuditRecord> Records, T Result)> RecordWithAsync<T>(IReadOnlyList<AuditEvent> events,
        Func<IReadOnlyList<StagedWrite>, Task<(bool Committed, T Result)>> commit)
    {
        if (_cluster is not null)
        {
            return await RecordInClusterAsync(events, commit).ConfigureAwait(false);
        }
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var records = new List<AuditRecord>(events.Count);
            var writes = new List<StagedWrite>(events.Count);
            var seq = _lastSeq;
            var prev = _lastHash;
            var ts = Math.Max(_time.GetUtcNow().ToUnixTimeMilliseconds(), _lastTs);
            foreach (var e in events)
            {
                seq++;
                var details = e.Details ?? new Dictionary<string, string>();
                var hash = AuditChain.ComputeHash(seq, ts, e.Actor, e.Action, e.Target, e.Address, details, prev);
                var record = new AuditRecord
                {
                    Seq = seq,
                    Ts = ts,
                    Actor = e.Actor,
                    Action = e.Action,
                    Target = e.Target,
                    Address = e.Address,
                    Details = details,
                    Prev = prev is null ? null : Convert.ToHexStringLower(prev),
                    Hash = Convert.ToHexStringLower(hash),
                };
                records.Add(record);
                writes.Add(AuditStore.StagePut(record));
                prev = hash;
            }
            var (committed, result) = await commit(writes).ConfigureAwait(false);
            if (committed && records.Count > 0)
            {
                lock (_headLock)
                {
                    _lastHash = prev;
                    _lastTs = ts;
                    Volatile.Write(ref _lastSeq, seq);
                }
            }
            if (committed)
            {
                Appended?.Invoke();
            }
            return (committed ? records : [], result);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Signs the current head if entries were added since the last signature. Returns the new head, if any.</summary>
    public AuditHeadRecord? SignHead()
    {
        _gate.Wait();
        AuditHeadRecord head;
        try
        {
            long lastSeq;
            byte[]? lastHash;
            lock (_headLock)
            {
                lastSeq = _lastSeq;
                lastHash = _lastHash;
            }
            if (lastSeq == 0 || lastSeq == _signedSeq)
            {
                return null;
            }
            var ts = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var signature = _key.Sign(AuditChain.HeadSigningInput(_serverName, lastSeq, lastHash, ts));
            head = new AuditHeadRecord(lastSeq, Convert.ToHexStringLower(lastHash!), ts, _serverName, _key.KeyId, Convert.ToBase64String(signature));
            _store.PutHead(head);
            _signedSeq = lastSeq;
        }
        finally
        {
            _gate.Release();
        }
        LogSigned(_logger, head.Seq);
        Appended?.Invoke();
        return head;
    }

    /// <summary>A page of entries, newest first, matching <paramref name="query"/>.</summary>
    public (List<AuditRecord> Entries, long? Next) Query(AuditQuery query)
    {
        var result = new List<AuditRecord>();
        var from = query.Before is { } before ? before - 1 : long.MaxValue;
        long? next = null;
        foreach (var record in _store.Scan(from, forward: false))
        {
            if (query.Since is { } since && record.Ts < since)
            {
                break; // entries are in time order
            }
            if (!query.Matches(record))
            {
                continue;
            }
            if (result.Count == query.Limit)
            {
                next = result[^1].Seq;
                break;
            }
            result.Add(record);
        }
        return (result, next);
    }

    /// <summary>Entries in seq order after <paramref name="afterSeq"/>, at most <paramref name="limit"/> (for export and remote verification).</summary>
    public List<AuditRecord> Export(long afterSeq, int limit) => _store.Scan(afterSeq + 1, forward: true).Take(limit).ToList();

    public List<AuditHeadRecord> Heads() => _store.Heads();

    /// <summary>Verifies the stored log against its chain and the signed heads, with this server's public key.</summary>
    public AuditVerification Verify()
    {
        var heads = _store.Heads().Select(ToHead).ToList();
        var publicKey = _key.PublicKey;
        return AuditChain.Verify(_store.ScanRaw().Select(ToEntry), heads,
            h => SigningKey.Verify(publicKey, AuditChain.HeadSigningInput(h.Server, h.Seq, h.Hash, h.Timestamp), h.Signature));
    }

    public static AuditEntry ToEntry(AuditRecord r) => new(r.Seq, r.Ts, r.Actor, r.Action, r.Target, r.Address, r.Details,
        r.Prev is null ? null : Convert.FromHexString(r.Prev), Convert.FromHexString(r.Hash));

    public static AuditHead ToHead(AuditHeadRecord h) =>
        new(h.Seq, Convert.FromHexString(h.Hash), h.Ts, h.Server, h.KeyId, Convert.FromBase64String(h.Signature));

    /// <summary>A row that does not decode (garbage written over it) becomes an entry that cannot match its hash.</summary>
    private static AuditEntry ToEntry((long Seq, byte[] Value) row)
    {
        try
        {
            return ToEntry(DirectoryJson.Decode<AuditRecord>(row.Value));
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or FormatException or InvalidDataException)
        {
            return new AuditEntry(row.Seq, 0, "", "", "", "", new Dictionary<string, string>(), null, new byte[32]);
        }
    }

    public void Dispose() => _gate.Dispose();

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Signed the audit log head at entry {Seq}")]
    private static partial void LogSigned(ILogger logger, long seq);
}

/// <summary>Filters for <see cref="AuditLog.Query"/>: all optional, combined with "and".</summary>
/// <param name="Action">Exact action, or a prefix ending in <c>.</c> (for example <c>user.</c>).</param>
/// <param name="Before">Only entries with a smaller seq (the paging cursor).</param>
internal sealed record AuditQuery(string? Actor, string? Action, string? Target, long? Since, long? Until, long? Before, int Limit)
{
    public bool Matches(AuditRecord r) =>
        (Actor is null || r.Actor == Actor)
        && (Target is null || r.Target == Target)
        && (Until is null || r.Ts <= Until)
        && (Action is null || (Action.EndsWith('.') ? r.Action.StartsWith(Action, StringComparison.Ordinal) : r.Action == Action));
}
