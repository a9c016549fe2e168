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

    /// <summary>Adds or updates a partner. Throws <see cref="ApiException"/> for an invalid name or URL.</summary>
    public PartnerRecord Put(string server, string? baseUrl, string? note, string addedBy)
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
        var record = new PartnerRecord
        {
            Server = server,
            BaseUrl = baseUrl?.TrimEnd('/'),
            Note = note,
            AddedAt = _time.GetUtcNow().ToUnixTimeMilliseconds(),
            AddedBy = addedBy,
        };
        _store.PutPartner(record);
        _partners[server] = record;
        _audit.Record(new FederationAuditEntry(record.AddedAt, FederationAuditKinds.PartnerAdded, server,
            $"by {addedBy}" + (record.BaseUrl is null ? "" : $", base URL {record.BaseUrl}")));
        Changed?.Invoke(server);
        return record;
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
