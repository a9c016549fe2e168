using TeamComms.Server.Hosting;
using TeamComms.Server.Rooms;

namespace TeamComms.Server.Federation;

/// <summary>
/// After each durable batch: marks the rooms hosted here that other servers participate in, so that their senders
/// push the new events. Runs on the sequencer thread, so it only records and signals.
/// </summary>
internal sealed class FederationCommitSink(FederationSenders senders, RoomRegistry rooms, PartnerTable partners, ServerIdentity identity) : ICommitSink
{
    private readonly string _serverName = identity.ServerName;

    public void OnCommitted(IReadOnlyList<CommittedEvent> batch)
    {
        if (!partners.Enabled)
        {
            return;
        }
        long lastRoom = -1;
        foreach (var ev in batch)
        {
            if (ev.RoomId.Length <= 18 || !ev.RoomId.AsSpan(18).SequenceEqual(_serverName))
            {
                continue; // a copy of a room hosted elsewhere
            }
            if (ev.Membership is { } change && Protocol.Identifiers.ServerOf(change.UserId) is var target && target != _serverName)
            {
                senders.For(target).MarkDirty(ev.RoomKey); // also a server whose last user just left gets the leave
            }
            if (ev.RoomKey == lastRoom)
            {
                continue;
            }
            lastRoom = ev.RoomKey;
            if (rooms.Get(ev.RoomKey) is not { } room)
            {
                continue;
            }
            foreach (var (server, info) in RoomParticipation.Servers(room.View.State, _serverName))
            {
                if (info.Participates)
                {
                    senders.For(server).MarkDirty(ev.RoomKey);
                }
            }
        }
    }
}
