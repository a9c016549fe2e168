using TeamComms.Protocol.Events;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.CompanyDirectory;

/// <summary>How much work a plan took: the evidence that recomputation is incremental.</summary>
internal sealed record PlanStats(int ChangedUsers, long RuleEvaluations, int RoomsTouched, int Wants);

/// <summary>
/// Turns a directory transaction into membership wants, incrementally: a changed user is evaluated against the
/// bound rules that could match their old or new profile (<see cref="RuleIndex"/>), and only rooms bound to a rule
/// whose answer changed get a want; a changed rule is evaluated over everyone, but only for the rooms bound to it; a changed binding is
/// evaluated for that room only. Nothing scans every room or rebuilds every membership.
/// </summary>
internal static class MembershipPlanner
{
    public static List<MembershipWant> Plan(DirectoryTransaction tx, DirectorySnapshot after, RoomStore roomStore,
        RoomRegistry rooms, out PlanStats stats)
    {
        var before = tx.Base;
        var wants = new Dictionary<(long Room, long User), MembershipWant>();
        var beforeSubject = new RuleSubject(before.Groups);
        var afterSubject = new RuleSubject(after.Groups);
        var roomsBefore = before.RoomsByRule();
        var roomsAfter = after.RoomsByRule();
        var boundRules = roomsBefore.Keys.Union(roomsAfter.Keys).ToList();
        var indexBefore = new RuleIndex(before, boundRules);
        var indexAfter = new RuleIndex(after, boundRules);
        var ruleCandidates = new HashSet<long>();
        // Rooms each person was added to by hand, built once (not once per person) and only if someone needs it.
        var manualRooms = new Lazy<Dictionary<long, List<long>>>(() =>
        {
            var map = new Dictionary<long, List<long>>();
            foreach (var binding in after.Bindings.Values)
            {
                foreach (var userKey in binding.Include)
                {
                    if (!map.TryGetValue(userKey, out var list))
                    {
                        map[userKey] = list = [];
                    }
                    list.Add(binding.RoomKey);
                }
            }
            return map;
        });
        long evaluations = 0;
        var touchedRooms = new HashSet<long>();

        bool MatchBefore(long rule, DirectoryEntry? e)
        {
            if (e is not { Active: true, Deleted: false } || !before.Rules.TryGetValue(rule, out var r))
            {
                return false;
            }
            evaluations++;
            return r.Expression.Matches(beforeSubject.For(e));
        }

        bool MatchAfter(long rule, DirectoryEntry? e)
        {
            if (e is not { Active: true, Deleted: false } || !after.Rules.TryGetValue(rule, out var r))
            {
                return false;
            }
            evaluations++;
            return r.Expression.Matches(afterSubject.For(e));
        }

        IEnumerable<long> RoomsOf(long rule) =>
            (roomsBefore.TryGetValue(rule, out var a) ? a : []).Concat(roomsAfter.TryGetValue(rule, out var b) ? b : []).Distinct();

        void Want(long roomKey, long userKey, string reason)
        {
            touchedRooms.Add(roomKey);
            var entry = after.Users.GetValueOrDefault(userKey);
            if (entry is null)
            {
                return;
            }
            var binding = after.Bindings.GetValueOrDefault(roomKey);
            WantKind kind;
            if (!entry.Active || entry.Deleted || (binding?.Exclude.Contains(userKey) ?? false))
            {
                kind = WantKind.Leave;
                reason = entry.Active ? "excluded by an admin" : "deactivated";
            }
            else if (binding is not null && binding.Rules.Any(r => MatchAfter(r, entry)))
            {
                kind = WantKind.JoinManaged;
            }
            else if (binding?.Include.Contains(userKey) ?? false)
            {
                kind = WantKind.JoinManual;
                reason = "added by an admin";
            }
            else
            {
                kind = WantKind.LeaveIfManaged;
            }
            wants[(roomKey, userKey)] = new MembershipWant(roomKey, entry.UserId, userKey, kind, reason);
        }

        // 1. People who changed: only rules bound to rooms, only rooms whose rule answer changed.
        foreach (var (key, entry) in tx.Users)
        {
            if (tx.Deactivations.ContainsKey(key))
            {
                foreach (var (roomKey, row) in roomStore.UserRooms(key))
                {
                    if (row.Membership is Membership.Join or Membership.Invite)
                    {
                        touchedRooms.Add(roomKey);
                        wants[(roomKey, key)] = new MembershipWant(roomKey, entry.UserId, key, WantKind.Leave, "deactivated");
                    }
                }
                continue;
            }
            if (!entry.Active || entry.Deleted)
            {
                continue;
            }
            var old = before.Users.GetValueOrDefault(key);
            var affected = new HashSet<long>();
            // Only rules that could match the old or the new profile can change their answer.
            ruleCandidates.Clear();
            indexBefore.Candidates(old, beforeSubject, ruleCandidates);
            indexAfter.Candidates(entry, afterSubject, ruleCandidates);
            foreach (var rule in ruleCandidates)
            {
                if (MatchBefore(rule, old) != MatchAfter(rule, entry))
                {
                    affected.UnionWith(RoomsOf(rule));
                }
            }
            if (old is not { Active: true } && manualRooms.Value.TryGetValue(key, out var included))
            {
                // Joined or came back: manual memberships apply again too.
                affected.UnionWith(included);
            }
            foreach (var roomKey in affected)
            {
                Want(roomKey, key, "directory rule");
            }
        }

        // 2. Rules that changed: everyone, but only for the rooms bound to that rule.
        foreach (var ruleKey in tx.Rules.Keys)
        {
            var bound = RoomsOf(ruleKey).ToList();
            if (bound.Count == 0)
            {
                continue;
            }
            foreach (var entry in after.Users.Values)
            {
                if (MatchBefore(ruleKey, before.Users.GetValueOrDefault(entry.Key)) != MatchAfter(ruleKey, entry))
                {
                    foreach (var roomKey in bound)
                    {
                        Want(roomKey, entry.Key, "directory rule");
                    }
                }
            }
        }

        // 3. Rooms whose binding changed: that room only.
        foreach (var roomKey in tx.Bindings.Keys)
        {
            var b0 = before.Bindings.GetValueOrDefault(roomKey);
            var b1 = after.Bindings.GetValueOrDefault(roomKey);
            var candidates = new HashSet<long>();
            var rules = (b0?.Rules ?? []).Union(b1?.Rules ?? []).ToList();
            if (rules.Count > 0)
            {
                foreach (var entry in after.Users.Values)
                {
                    if (rules.Any(r => MatchAfter(r, entry) || MatchBefore(r, before.Users.GetValueOrDefault(entry.Key))))
                    {
                        candidates.Add(entry.Key);
                    }
                }
            }
            candidates.UnionWith(b0?.Include ?? []);
            candidates.UnionWith(b1?.Include ?? []);
            candidates.UnionWith(b0?.Exclude ?? []);
            candidates.UnionWith(b1?.Exclude ?? []);
            if (rooms.Get(roomKey) is { } room)
            {
                foreach (var (userId, member) in room.View.State.Members)
                {
                    if (member is { Membership: Membership.Join, Managed: true } && after.ByUserId.TryGetValue(userId, out var userKey))
                    {
                        candidates.Add(userKey);
                    }
                }
            }
            foreach (var userKey in candidates)
            {
                Want(roomKey, userKey, "directory rule");
            }
        }

        var result = wants.Values.OrderBy(w => w.RoomKey).ThenBy(w => w.UserKey).ToList();
        result.AddRange(tx.ExplicitWants);
        touchedRooms.UnionWith(tx.ExplicitWants.Select(w => w.RoomKey));
        stats = new PlanStats(tx.Users.Count, evaluations, touchedRooms.Count, result.Count);
        return result;
    }
}
