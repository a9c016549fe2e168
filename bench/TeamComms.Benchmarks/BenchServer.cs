using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TeamComms.Server.Accounts;
using TeamComms.Server.Hosting;
using TeamComms.Server.Rooms;
using TeamComms.Server.Storage;

namespace TeamComms.Benchmarks;

/// <summary>
/// The server's real services (RocksDB in a temporary directory, the sequencer, the fan-out) built through
/// <see cref="TeamCommsApp.Build"/> but not listening: benchmarks call them directly.
/// </summary>
internal sealed class BenchServer : IAsyncDisposable
{
    private readonly string _dir;

    private BenchServer(WebApplication app, string dir)
    {
        App = app;
        _dir = dir;
    }

    public WebApplication App { get; }
    public IServiceProvider Services => App.Services;
    public IRoomLog Log => Services.GetRequiredService<IRoomLog>();

    public static BenchServer Create(bool syncWrites)
    {
        var dir = Path.Combine(Path.GetTempPath(), "tc-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var app = TeamCommsApp.Build(
        [
            "--data", dir,
            "--TeamComms:ServerName=bench.local",
            "--TeamComms:Storage:MinFreeBytes=0",
            $"--TeamComms:Storage:SyncWrites={syncWrites}",
            "--TeamComms:Accounts:Argon2MemoryKiB=8",
            "--TeamComms:Accounts:Argon2Passes=1",
            "--TeamComms:Metrics:Enabled=false",
        ], b => b.Logging.ClearProviders());
        return new BenchServer(app, dir);
    }

    /// <summary>Creates <paramref name="count"/> users (one password hash) and one room they have all joined.</summary>
    public async Task<(List<UserRecord> Users, string RoomId)> ProvisionAsync(int count)
    {
        var accounts = Services.GetRequiredService<AccountService>();
        var users = await accounts.CreateUsersBulkAsync(
            Enumerable.Range(0, count).Select(i => ($"u{i:D5}", $"User {i}")).ToList(), "bench-password");
        var owner = new Actor(users[0].UserId, users[0].Key, 1);
        var outcome = await Log.AppendAsync(new ProvisionRoomProposal(owner, "bench", users.Skip(1).Select(u => u.UserId).ToList()));
        if (!outcome.Ok)
        {
            throw new InvalidOperationException(outcome.Message);
        }
        return (users, outcome.RoomId!);
    }

    public async ValueTask DisposeAsync()
    {
        (Log as IDisposable)?.Dispose();
        Services.GetRequiredService<TeamComms.Server.FanOut.FanOutHub>().Dispose();
        Services.GetRequiredService<RocksStore>().Dispose();
        await App.DisposeAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
