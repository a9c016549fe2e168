using TeamComms.Server.Accounts;

namespace TeamComms.Server.Connections;

/// <summary>
/// Told when a device confirms receipt (a Received frame): everything it should get up to <c>position</c> has
/// arrived. Called on the connection's reader; must be quick and must not throw.
/// </summary>
internal interface IDeliveryObserver
{
    void OnReceived(AuthenticatedSession session, long position);
}
