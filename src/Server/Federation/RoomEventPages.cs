using TeamComms.Protocol;
using TeamComms.Protocol.Events;
using TeamComms.Protocol.Federation;
using TeamComms.Server.Hosting;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Federation;

/// <summary>
/// Serves pages of a hosted room's log to participating servers (backfill). A server sees a room only if one of its
/// users has a membership in it; content is included only where one of its users may read it.
/// </summary>
internal sealed class RoomEventPages(RoomRegistry rooms, EventStore events, ServerKeyRing keys, ServerIdentity identity, TimeProvider time)
{
    public EventPage Page(string requester, string roomId, long from, int limit)
    {
        if (!Identifiers.IsValidRoomId(roomId) || Identifiers.ServerOf(roomId) != identity.ServerName || rooms.Find(roomId) is not { } room)
        {
            throw new ApiException(ErrorCode.UnknownRoom, "no such room on this server");
        }
        var view = room.View;
        if (!RoomParticipation.Servers(view.State, identity.ServerName).TryGetValue(requester, out var info))
        {
            // Same answer as for a room that does not exist: a partner learns nothing about rooms it has no users in.
            throw new ApiException(ErrorCode.UnknownRoom, "no such room on this server");
        }
        limit = Math.Clamp(limit, 1, FederationLimits.MaxEventsPerBatch);
        from = Math.Max(from, 1);
        var end = info.Participates ? view.Head.Seq : Math.Min(view.Head.Seq, info.LastMembershipSeq);
        var stored = from > end ? [] : events.ReadRange(room.Key, from, end, forward: true, limit: limit);
        var wires = new List<ReadOnlyMemory<byte>>(stored.Count);
        RoomEvent? last = null;
        foreach (var s in stored)
        {
            var e = EventCodec.Read(s.Wire);
            wires.Add(info.ContentVisible(s.Seq, e.Type) ? s.Wire : RoomParticipation.StripContent(s.Wire));
            last = e;
        }
        Checkpoint? checkpoint = null;
        if (last is not null)
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var (keyId, sig) = keys.Sign(Checkpoint.SigningInput(roomId, last.Seq, last.Id, now));
            checkpoint = new Checkpoint(roomId, last.Seq, last.Id, now, keyId, sig);
        }
        return new EventPage(new RoomBatch(roomId, wires, checkpoint), end);
    }
}
