using TeamComms.Crypto;
using TeamComms.Protocol;
using TeamComms.Server.Audit;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Provisioning.Scim;

/// <summary>
/// Bearer tokens for identity providers (<c>tcscim_…</c>): created by an admin and shown once; only their SHA-256 is
/// stored. Each request's actor in the audit log is <c>scim:&lt;token name&gt;</c>.
/// </summary>
internal sealed class ScimTokens(DirectoryStore store, AuditLog audit, TimeProvider time)
{
    public const string Prefix = "tcscim_";

    public async Task<(ScimTokenRecord Record, string Token)> CreateAsync(Principal by, string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 64 || name.Any(char.IsControl))
        {
            throw new ApiException(ErrorCode.BadRequest, "name is 1 to 64 characters, for example 'okta' or 'entra'");
        }
        var token = SecretToken.Create(Prefix);
        var hash = SecretToken.Hash(token);
        var record = new ScimTokenRecord
        {
            Id = "st" + Convert.ToHexStringLower(hash.AsSpan(0, 6)),
            Name = name.Trim(),
            Hash = hash,
            CreatedAt = time.GetUtcNow().ToUnixTimeMilliseconds(),
            CreatedBy = by.Actor,
        };
        await audit.RecordWithAsync([by.Event("scim.token.create", record.Name, new Dictionary<string, string> { ["id"] = record.Id })], async rows =>
        {
            await audit.CommitAsync([.. rows, DirectoryStore.Put(KeyCodec.Table(KeyCodec.TableScimToken, hash), record)], store.Write).ConfigureAwait(false);
            return (true, 0);
        }).ConfigureAwait(false);
        return (record, token);
    }

    public List<ScimTokenRecord> List() =>
        store.Table(KeyCodec.TableScimToken).Select(r => DirectoryJson.Decode<ScimTokenRecord>(r.Value)).OrderBy(r => r.CreatedAt).ToList();

    public async Task RevokeAsync(Principal by, string id)
    {
        var record = List().FirstOrDefault(r => r.Id == id) ?? throw new ApiException(ErrorCode.NotFound, "no such SCIM token");
        if (record.Revoked)
        {
            return;
        }
        var revoked = record with { Revoked = true, RevokedAt = time.GetUtcNow().ToUnixTimeMilliseconds() };
        await audit.RecordWithAsync([by.Event("scim.token.revoke", record.Name, new Dictionary<string, string> { ["id"] = record.Id })], async rows =>
        {
            await audit.CommitAsync([.. rows, DirectoryStore.Put(KeyCodec.Table(KeyCodec.TableScimToken, record.Hash), revoked)], store.Write).ConfigureAwait(false);
            return (true, 0);
        }).ConfigureAwait(false);
    }

    /// <summary>The token's record when it is valid; null otherwise.</summary>
    public ScimTokenRecord? Authenticate(string token)
    {
        if (!token.StartsWith(Prefix, StringComparison.Ordinal) || token.Length > 128)
        {
            return null;
        }
        var value = store.Get(KeyCodec.Table(KeyCodec.TableScimToken, SecretToken.Hash(token)));
        var record = value is null ? null : DirectoryJson.Decode<ScimTokenRecord>(value);
        return record is { Revoked: false } ? record : null;
    }
}
