using TeamComms.Client;
using TeamComms.Protocol;

namespace TeamComms.Tests.Cluster;

/// <summary>Cluster mode's safety properties: revocation everywhere before the call returns; refusing a lost log.</summary>
[Trait("Stage", "cluster")]
public sealed class ClusterSafetyTests
{
    [Fact]
    public async Task RevokeOnOneNode_SessionClosedOnEveryNodeBeforeTheCallReturns_AndDataLossAlarmWhenTheStreamIsRecreated()
    {
        await using var cluster = await ClusterHarness.StartAsync();
        using var admin = await cluster.AdminAsync(0);
        await admin.CreateUserAsync("carol", "Carol", password: "carol-password-1");
        using var phone = new TeamCommsHttpClient(cluster.Url(1));
        var phoneLogin = await phone.LoginAsync("carol", "carol-password-1");
        using var laptop = new TeamCommsHttpClient(cluster.Url(0));
        laptop.AccessToken = (await laptop.LoginAsync("carol", "carol-password-1")).AccessToken;
        await using var on2 = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(1), phoneLogin.AccessToken);
        await using var on3 = await ClusterBasicsTests.ConnectEventuallyAsync(cluster.Url(2), phoneLogin.AccessToken);

        // Revoked on node 1 (where neither connection is).
        await laptop.RevokeSessionAsync(phoneLogin.SessionId);

        // The call returned: node 3 has applied the revocation already, so the token is refused there at once, with
        // no waiting; and the connections on nodes 2 and 3 were closed with "session revoked".
        var wsOn3 = new TeamCommsHttpClient(cluster.Url(2)).WebSocketUrl;
        await Assert.ThrowsAnyAsync<Exception>(() => TeamCommsConnection.ConnectAsync(wsOn3, phoneLogin.AccessToken, new ClientOptions { AutoReconnect = false }));
        await on2.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        await on3.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(CloseCode.SessionRevoked, on2.CloseCode);
        Assert.Equal(CloseCode.SessionRevoked, on3.CloseCode);

        // JetStream "loses" the log: the stream is deleted (and a node creates a new, empty one). A node that applied
        // the old log refuses to start, with the alarm, rather than serve from a log that lost what it applied.
        for (var i = 0; i < 3; i++)
        {
            await cluster.KillNodeAsync(i);
        }
        await cluster.Nats.DeleteStreamAsync(ClusterHarness.Stream);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => cluster.StartNodeAsync(0));
        Assert.Contains("CLUSTER ALARM", ex.Message, StringComparison.Ordinal);
        Assert.Contains("is not the one this node applied", ex.Message, StringComparison.Ordinal);
    }
}
