namespace TeamComms.Tests.Infrastructure;

/// <summary>One real server shared by a test class (tests create their own users and rooms, so they do not interfere).</summary>
public sealed class SharedServer : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
