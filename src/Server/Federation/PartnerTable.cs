using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using TeamComms.Protocol;
using TeamComms.Server.Hosting;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Federation;

/// <summary>
/// The federation allowlist. Federation is closed by default: with <see cref="FederationOptions.Enabled"/> false, or
/// for a server not listed here, every request from or to that server is refused and audited.
/// </summary>
internal sealed class PartnerTable
{
    private readonly FederationStore _store;
    private readonly FederationOptions _options;
    private readonly TimeProvider _time;
    private readonly IFederationAudit _audit;
    private readonly ConcurrentDictionary<string, PartnerRecord> _partners = new(StringComparer.Ordinal);

    public PartnerTable(FederationStore store, IOptions<FederationOptions> options, TimeProvider time, IFederationAudit audit, ServerIdentity identity)
    {
        _store = store;
        _options = options.Value;
        _time = time;
        _audit = audit;
        ServerName = identity.ServerName;
        foreach (var p in store.Partners())
        {
            _partners[p.Server] = p;
        }
    }

    public string ServerName { get; }

    public bool Enabled => _options.Enabled;

    /// <summary>Raised after a partner is added or removed, with its name.</summary>
    public event Action<string>? Changed;

    public bool IsPartner(string server) => _options.Enabled && _partners.ContainsKey(server);

    public PartnerRecord? Get(string server) => _partners.TryGetValue(server, out var p) ? p : null;

    public IReadOnlyList<PartnerRecord> List() => [.. _partners.Values.OrderBy(p => p.Server, StringComparer.Ordinal)];

    /// <summary>
    /// Set in cluster mode: partner rows travel through the cluster log, so every node holds the same allowlist (each
    /// node reloads its table when it applies them, <see cref="Reload"/>).
    /// </summary>
    internal IRowReplicator? Replicator { get; set; }

    /// <summary>Adds or updates a partner: on this server, or in cluster mode on every node. Throws <see cref="ApiException"/> for an invalid name or URL.</summary>
    public async Task<PartnerRecord> PutAsync(string server, string? baseUrl, string? note, string addedBy)
    {
        if (Replicator is not { } replicator)
        {
            return Put(server, baseUrl, note, addedBy);
        }
        var record = Validate(server, baseUrl, note, addedBy);
        await ReplicateAsync(replicator, StagedWrite.Put("federation", KeyCodec.Tagged(KeyCodec.PartnerTag, server), FederationRecordJson.Encode(record))).ConfigureAwait(false);
        Reload();
        AuditAdded(record);
        return record;
    }

    /// <summary>Removes a partner: on this server, or in cluster mode on every node.</summary>
    public async Task<bool> RemoveAsync(string server, string removedBy)
    {
        if (Replicator is not { } replicator)
        {
            return Remove(server, removedBy);
        }
        if (!_partners.ContainsKey(server))
        {
            return false;
        }
        await ReplicateAsync(replicator, StagedWrite.Delete("federation", KeyCodec.Tagged(KeyCodec.PartnerTag, server))).ConfigureAwait(false);
        Reload();
        _audit.Record(new FederationAuditEntry(_time.GetUtcNow().ToUnixTimeMilliseconds(), FederationAuditKinds.PartnerRemoved, server, $"by {removedBy}"));
        return true;
    }

    private static async Task ReplicateAsync(IRowReplicator replicator, StagedWrite row)
    {
        var task = replicator.Replicate([row]);
        await task.ConfigureAwait(false);
        if (task is Task<Rooms.AppendOutcome> { Result: { Ok: false } failed })
        {
            throw new ApiException(failed.Error ?? ErrorCode.Unavailable, "the partner change could not be recorded in the cluster: " + failed.Message);
        }
    }

    /// <summary>Re-reads the allowlist from storage (cluster mode: after this node applied a partner change made on any node).</summary>
    internal void Reload()
    {
        var stored = _store.Partners().ToDictionary(p => p.Server, StringComparer.Ordinal);
        var changed = new List<string>();
        foreach (var (server, record) in stored)
        {
            if (!_partners.TryGetValue(server, out var old) || old != record)
            {
                _partners[server] = record;
                changed.Add(server);
            }
        }
        foreach (var server in _partners.Keys)
        {
            if (!stored.ContainsKey(server) && _partners.TryRemove(server, out _))
            {
                changed.Add(server);
            }
        }
        foreach (var server in changed)
        {
            Changed?.Invoke(server);
        }
    }

    /// <summary>Adds or updates a partner. Throws <see cref="ApiException"/> for an invalid name or URL.</summary>
    public PartnerRecord Put(string server, string? baseUrl, string? note, string addedBy)
    {
        var record = Validate(server, baseUrl, note, addedBy);
        _store.PutPartner(record);
        _partners[server] = record;
        AuditAdded(record);
        Changed?.Invoke(server);
        return record;
    }

    private void AuditAdded(PartnerRecord record) =>
        _audit.Record(new FederationAuditEntry(record.AddedAt, FederationAuditKinds.PartnerAdded, record.Server,
            $"by {record.AddedBy}" + (record.BaseUrl is null ? "" : $", base URL {record.BaseUrl}")));

    private PartnerRecord Validate(string server, string? baseUrl, string? note, string addedBy)
    {
        if (!Identifiers.IsValidServerName(server))
        {
            throw new ApiException(ErrorCode.BadRequest, $"'{server}' is not a server name (lower-case DNS name, optional :port)");
        }
        if (server == ServerName)
        {
            throw new ApiException(ErrorCode.BadRequest, "a server cannot be its own partner");
        }
        if (baseUrl is not null && ServerDirectory.CheckBaseUrl(baseUrl, _options.AllowInsecureLoopback) is { } problem)
        {
            throw new ApiException(ErrorCode.BadRequest, problem);
        }
        if (note is { Length: > 1024 })
        {
            throw new ApiException(ErrorCode.BadRequest, "note is at most 1024 characters");
        }
        return new PartnerRecord
        {
            Server = server,
            BaseUrl = baseUrl?.TrimEnd('/'),
            Note = note,
            AddedAt = _time.GetUtcNow().ToUnixTimeMilliseconds(),
            AddedBy = addedBy,
        };
    }

    public bool Remove(string server, string removedBy)
    {
        if (!_store.DeletePartner(server))
        {
            return false;
        }
        _partners.TryRemove(server, out _);
        _audit.Record(new FederationAuditEntry(_time.GetUtcNow().ToUnixTimeMilliseconds(), FederationAuditKinds.PartnerRemoved, server, $"by {removedBy}"));
        Changed?.Invoke(server);
        return true;
    }
}
