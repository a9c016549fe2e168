namespace TeamComms.Server.Rooms;

/// <summary>
/// A room log whose positions can run behind another node's (cluster mode): a client resuming with a token from a
/// node that is ahead waits here until this node has applied up to that position.
/// </summary>
internal interface IPositionWaiter
{
    Task<bool> WaitForPositionAsync(long position, TimeSpan timeout);
}
