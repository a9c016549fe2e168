using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Server.Accounts;
using TeamComms.Server.Api;
using TeamComms.Server.Audit;
using TeamComms.Server.Provisioning;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.CompanyDirectory;

/// <summary>
/// The directory's WebSocket calls: search and browse, profiles, editing one's own profile where policy allows,
/// starting a direct conversation from the directory, and archiving rooms. docs/protocol.md lists them.
/// </summary>
internal sealed class DirectoryCalls(DirectoryService directory, DirectoryStore store, IRoomLog log, RoomRegistry rooms, AccountStore accounts, AuditLog audit)
{
    public void Register(ClientCalls calls)
    {
        calls.Register("directory.search", (s, p) => Task.FromResult<object?>(Search(p)));
        calls.Register("directory.get", (s, p) => Task.FromResult<object?>(Get(s, p)));
        calls.Register("directory.update_me", UpdateMeAsync);
        calls.Register("directory.start_dm", StartDirectAsync);
        calls.Register("rooms.archive", (s, p) => ArchiveAsync(s, p, true));
        calls.Register("rooms.unarchive", (s, p) => ArchiveAsync(s, p, false));
    }

    /// <summary><c>{query?, field?: name|department|title, limit?, cursor?}</c> → <c>{users, next}</c>.</summary>
    public Dictionary<string, object?> Search(FieldMap p)
    {
        var field = p.OptionalString("field", 16) ?? "name";
        var limit = (int)Math.Clamp(p.OptionalInt("limit") ?? 25, 1, 200);
        var (users, next) = directory.Search(field, p.OptionalString("query", 256) ?? "", limit, p.OptionalString("cursor", 1024));
        var snapshot = directory.Snapshot;
        return new Dictionary<string, object?>
        {
            ["users"] = users.Select(u => (object?)ProfileEdit.View(u, snapshot, full: false)).ToList(),
            ["next"] = next,
        };
    }

    private Dictionary<string, object?> Get(AuthenticatedSession s, FieldMap p)
    {
        var userId = p.RequiredString("user", Identifiers.MaxIdLength);
        var snapshot = directory.Snapshot;
        var entry = snapshot.Find(userId);
        if (entry is null || entry.Deleted || (!entry.Active && !s.IsAdmin))
        {
            throw new ApiException(ErrorCode.UnknownUser, $"no user {userId} in the directory");
        }
        return ProfileEdit.View(entry, snapshot, full: s.IsAdmin || s.UserId == userId);
    }

    private async Task<object?> UpdateMeAsync(AuthenticatedSession s, FieldMap p)
    {
        var fields = p.OptionalMap("fields") ?? throw new ApiException(ErrorCode.BadField, "'fields' is required");
        var by = By(s);
        var (entry, _) = await directory.ChangeAsync(by, tx =>
        {
            var me = tx.RequireUser(s.UserId);
            var allowed = tx.CurrentPolicy.SelfEditable;
            return tx.UpdateProfile(me.Key, ProfileEdit.Apply(me.Profile, fields.Map, allowed), "user.update_self");
        }).ConfigureAwait(false);
        return ProfileEdit.View(entry, directory.Snapshot, full: true);
    }

    /// <summary>
    /// <c>{user}</c> → <c>{room_id, created}</c>: the caller's direct conversation with that person, created (and the
    /// person invited) when there is none, subject to the direct-message policy.
    /// </summary>
    private async Task<object?> StartDirectAsync(AuthenticatedSession s, FieldMap p)
    {
        var target = directory.Snapshot.Find(p.RequiredString("user", Identifiers.MaxIdLength));
        if (target is not { Active: true, Deleted: false })
        {
            throw new ApiException(ErrorCode.UnknownUser, "no such active user in the directory");
        }
        if (target.Key == s.UserKey)
        {
            throw new ApiException(ErrorCode.BadRequest, "a direct conversation needs someone else");
        }
        var pairKey = KeyCodec.Table(KeyCodec.TableDirect, Math.Min(s.UserKey, target.Key), Math.Max(s.UserKey, target.Key));
        if (store.Get(pairKey) is { } existing && rooms.Get(KeyCodec.ReadLong(existing)) is { } room
            && room.View.State.IsJoined(s.UserId) && room.View.State.Member(target.UserId)?.Membership is Membership.Join or Membership.Invite)
        {
            return new Dictionary<string, object?> { ["room_id"] = room.RoomId, ["created"] = false };
        }
        var outcome = await log.AppendAsync(new CreateRoomProposal(s.Actor, "", "", RoomKinds.Direct, HistoryVisibilities.Joined,
            InvitePolicies.Members, [target.UserId])).ConfigureAwait(false);
        if (!outcome.Ok)
        {
            throw new ApiException(outcome.Error!.Value, outcome.Message!);
        }
        var created = rooms.Find(outcome.RoomId!)!;
        // Cluster mode: through the log, so the pair finds this room on every node (room keys are the same everywhere).
        await audit.CommitAsync([DirectoryStore.PutRaw(pairKey, KeyCodec.Long(created.Key))], store.Write).ConfigureAwait(false);
        return new Dictionary<string, object?> { ["room_id"] = created.RoomId, ["created"] = true };
    }

    private async Task<object?> ArchiveAsync(AuthenticatedSession s, FieldMap p, bool archived)
    {
        var roomId = p.RequiredString("room", Identifiers.MaxIdLength);
        var outcome = await log.AppendAsync(new ArchiveProposal(s.Actor, roomId, archived, Privileged: s.IsAdmin)).ConfigureAwait(false);
        if (!outcome.Ok)
        {
            throw new ApiException(outcome.Error!.Value, outcome.Message!);
        }
        await audit.RecordAsync(By(s).Event(archived ? "room.archive" : "room.unarchive", roomId)).ConfigureAwait(false);
        return new Dictionary<string, object?> { ["seq"] = outcome.Events[^1].Seq };
    }

    /// <summary>The caller, with the address their session logged in from (calls arrive on the WebSocket, not over HTTP).</summary>
    private Principal By(AuthenticatedSession s) => new(s.UserId, accounts.GetSession(s.SessionKey)?.LastAddress ?? "");
}
