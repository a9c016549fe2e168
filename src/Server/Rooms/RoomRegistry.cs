using System.Collections.Concurrent;
using System.Collections.Immutable;
using TeamComms.Protocol.Events;
using TeamComms.Server.Storage;

namespace TeamComms.Server.Rooms;

/// <summary>Rooms by key and by id, loaded lazily from storage and then kept in memory.</summary>
internal sealed class RoomRegistry(RoomStore rooms, EventStore events, WorkplaceStore workplace)
{
    private readonly ConcurrentDictionary<long, Room> _byKey = new();
    private readonly ConcurrentDictionary<string, long> _keys = new(StringComparer.Ordinal);

    public Room? Find(string roomId)
    {
        if (!_keys.TryGetValue(roomId, out var key))
        {
            if (rooms.FindRoomKey(roomId) is not { } stored)
            {
                return null;
            }
            key = stored;
            _keys.TryAdd(roomId, key);
        }
        return Get(key);
    }

    /// <summary>Every room this server has (loading those not yet in memory).</summary>
    public IEnumerable<Room> All()
    {
        foreach (var record in rooms.AllRooms())
        {
            if (Get(record.Key) is { } room)
            {
                yield return room;
            }
        }
    }

    public Room? Get(long key)
    {
        if (_byKey.TryGetValue(key, out var room))
        {
            return room;
        }
        var loaded = Load(key);
        return loaded is null ? null : _byKey.GetOrAdd(key, loaded);
    }

    /// <summary>Sequencer-only: registers a room created in the current batch.</summary>
    internal void Add(Room room)
    {
        _byKey[room.Key] = room;
        _keys[room.RoomId] = room.Key;
    }

    /// <summary>Sequencer-only: forgets a room whose creating batch failed.</summary>
    internal void Remove(Room room)
    {
        _byKey.TryRemove(room.Key, out _);
        _keys.TryRemove(room.RoomId, out _);
    }

    private Room? Load(long key)
    {
        if (rooms.GetRoom(key) is not { } record)
        {
            return null;
        }
        var members = ImmutableDictionary.CreateBuilder<string, MemberInfo>(StringComparer.Ordinal);
        var joined = 0;
        foreach (var (userId, m) in rooms.Members(key))
        {
            members[userId] = new MemberInfo(m.Membership, m.Role, m.Pos, m.Seq, m.JoinSeq, m.Managed);
            if (m.Membership == Membership.Join)
            {
                joined++;
            }
        }
        var state = new RoomState
        {
            RoomId = record.RoomId,
            Key = key,
            Creator = record.Creator,
            CreatedAt = record.CreatedAt,
            Name = record.Name,
            Topic = record.Topic,
            Kind = record.Kind,
            HistoryVisibility = record.HistoryVisibility,
            InvitePolicy = record.InvitePolicy,
            Archived = record.Archived,
            Members = members.ToImmutable(),
            JoinedCount = joined,
            Workplace = WorkplaceRoomState.FromRecord(workplace.GetRoomSettings(key)),
        };
        var head = RoomHead.Empty;
        if (events.TryGetHead(key, out var stored))
        {
            var ev = EventCodec.Read(stored.Wire);
            head = new RoomHead(stored.Seq, ev.Id, stored.Pos, stored.MessageCount, ev.Timestamp);
        }
        return new Room(key, record.RoomId, new RoomView(state, head));
    }
}
