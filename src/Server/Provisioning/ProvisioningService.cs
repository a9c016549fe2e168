using TeamComms.Crypto;
using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.Audit;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Provisioning;

/// <summary>A new person for <see cref="ProvisioningService.CreateAsync"/>.</summary>
internal sealed record NewUser(string Username, ProfileRecord Profile, IReadOnlyList<string>? Roles = null, bool Active = true,
    IReadOnlyList<string>? Groups = null);

/// <summary>
/// The provisioning operations the admin API, the CLI, SCIM and CSV import share: create, update, deactivate and
/// reactivate people. Each is one directory transaction (rows, member events and audit entries commit together).
/// </summary>
internal sealed class ProvisioningService(DirectoryService directory, AccountService accounts)
{
    public DirectoryService Directory => directory;

    /// <summary>Creates one user; with no password, the result carries a one-time setup token.</summary>
    public async Task<(DirectoryEntry User, string? SetupToken)> CreateAsync(Principal by, NewUser user, string? password)
    {
        if (password is not null && (password.Length < 8 || password.Length > 1024))
        {
            throw new ApiException(ErrorCode.BadRequest, "password must be 8 to 1024 characters");
        }
        var hash = password is null ? null : await Task.Run(() => PasswordHasher.Hash(password, accounts.Cost)).ConfigureAwait(false);
        var (entry, outcome) = await directory.ChangeAsync(by, tx =>
        {
            var created = Create(tx, user, hash);
            if (hash is null)
            {
                tx.SetupLinks.Add(created.Key);
            }
            return created;
        }).ConfigureAwait(false);
        return (entry, outcome.SetupTokens.GetValueOrDefault(entry.Key));
    }

    /// <summary>Creates many users sharing one password (one Argon2 hash), in one commit. Existing usernames are skipped.</summary>
    public async Task<List<DirectoryEntry>> CreateManyAsync(Principal by, IReadOnlyList<NewUser> users, string password)
    {
        if (password.Length < 8 || password.Length > 1024)
        {
            throw new ApiException(ErrorCode.BadRequest, "password must be 8 to 1024 characters");
        }
        var hash = await Task.Run(() => PasswordHasher.Hash(password, accounts.Cost)).ConfigureAwait(false);
        var (created, _) = await directory.ChangeAsync(by, tx =>
        {
            var list = new List<DirectoryEntry>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var user in users)
            {
                if (!seen.Add(user.Username) || tx.FindUserByName(user.Username) is not null)
                {
                    continue;
                }
                list.Add(Create(tx, user, hash));
            }
            return list;
        }).ConfigureAwait(false);
        return created;
    }

    /// <summary>Adds a new user to the transaction, with their directory groups (by id or name).</summary>
    public static DirectoryEntry Create(DirectoryTransaction tx, NewUser user, string? passwordHash)
    {
        var entry = tx.CreateUser(user.Username, user.Profile, user.Roles, user.Active, passwordHash);
        foreach (var groupName in user.Groups ?? [])
        {
            var group = tx.FindGroup(groupName) ?? throw new ApiException(ErrorCode.BadRequest, $"no directory group '{groupName}'");
            tx.SetGroupMembers(group.Record.Key, [entry.Key], []);
        }
        return tx.User(entry.Key)!;
    }

    public async Task<DirectoryEntry> UpdateAsync(Principal by, string userId, IReadOnlyDictionary<string, object?> fields, IReadOnlyList<string>? roles)
    {
        var (entry, _) = await directory.ChangeAsync(by, tx =>
        {
            var user = tx.RequireUser(userId);
            if (fields.Count > 0)
            {
                tx.UpdateProfile(user.Key, ProfileEdit.Apply(user.Profile, fields));
            }
            if (roles is not null)
            {
                tx.SetRoles(user.Key, roles);
            }
            return tx.User(user.Key)!;
        }).ConfigureAwait(false);
        return entry;
    }

    /// <summary>Offboards a user; returns how many rooms they left.</summary>
    public async Task<(DirectoryEntry User, CommitOutcome Outcome)> DeactivateAsync(Principal by, string userId, string? reason)
    {
        return await directory.ChangeAsync(by, tx =>
        {
            var user = tx.RequireUser(userId);
            if (user.UserId == by.Actor)
            {
                throw new ApiException(ErrorCode.BadRequest, "you cannot deactivate yourself");
            }
            return tx.Deactivate(user.Key, string.IsNullOrWhiteSpace(reason) ? "account deactivated" : reason);
        }).ConfigureAwait(false);
    }

    public async Task<DirectoryEntry> ReactivateAsync(Principal by, string userId)
    {
        var (entry, _) = await directory.ChangeAsync(by, tx => tx.Reactivate(tx.RequireUser(userId).Key)).ConfigureAwait(false);
        return entry;
    }
}
