using TeamComms.Protocol;
using TeamComms.Server.Accounts;
using TeamComms.Server.CompanyDirectory;
using TeamComms.Server.Connections;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Cluster;

/// <summary>
/// Keeps this node's in-memory views in step with rows that other nodes changed through the log: cached sessions (and
/// the connections of a session revoked or wiped anywhere are closed here, when this node applies the revocation),
/// and the directory snapshot after another node's directory change or a user created elsewhere.
/// </summary>
internal sealed class ClusterSync(string nodeId, AccountService accounts, ConnectionRegistry connections, IServiceProvider services) : IAppliedEntryObserver
{
    public void OnApplied(string originNode, IReadOnlyList<Proposal> proposals)
    {
        var reloadDirectory = false;
        foreach (var proposal in proposals)
        {
            if (proposal is not SystemProposal system)
            {
                continue;
            }
            var foreign = originNode != nodeId;
            foreach (var write in system.Writes)
            {
                if (write.Family == "sessions" && write.Value is { } value)
                {
                    var session = RecordJson.Decode<SessionRecord>(value);
                    accounts.RefreshCachedSession(session);
                    if (session.Revoked)
                    {
                        _ = connections.CloseSessionAsync(session.Key,
                            session.WipeReason is null ? CloseCode.SessionRevoked : CloseCode.Wiped,
                            session.WipeReason is null ? "session revoked" : "the company wiped this device");
                    }
                }
                else if (foreign && write.Family == "user_names")
                {
                    reloadDirectory = true;
                }
            }
            if (foreign && !system.By.StartsWith("replica:", StringComparison.Ordinal))
            {
                reloadDirectory = true;
            }
        }
        if (reloadDirectory && services.GetService(typeof(DirectoryService)) is DirectoryService directory)
        {
            directory.Load();
        }
    }
}
