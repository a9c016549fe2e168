namespace TeamComms.Server.Rooms;

/// <summary>
/// Company policy consulted by the sequencer when a room is created or someone is invited. It runs on the sequencer
/// thread, so it answers from memory. A non-null answer refuses the proposal with <c>policy_violation</c> and is the
/// message the client sees.
/// </summary>
internal interface IRoomPolicy
{
    /// <summary>May <paramref name="actor"/> create a room of <paramref name="kind"/> inviting <paramref name="invite"/>?</summary>
    string? CheckCreate(Actor actor, string kind, IReadOnlyList<string> invite);

    /// <summary>May <paramref name="actor"/> invite <paramref name="target"/> to <paramref name="room"/>?</summary>
    string? CheckInvite(Actor actor, RoomState room, string target);
}
