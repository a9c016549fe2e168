using System.Diagnostics;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using NATS.Client.Core;

namespace TeamComms.Load.Targets;

/// <summary>
/// NATS core, the fastest non-persistent reference: one subject per room (<c>load.room.N</c>), one NATS.Net
/// connection per member subscribed to its room, publishing the same payload bytes. Nothing is durable and nothing
/// is acknowledged. A member the server drops as a slow consumer counts as evicted; core NATS has no resume, so what
/// it missed is lost.
/// </summary>
internal sealed partial class NatsTarget(LoadOptions options) : ILoadTarget
{
    private string _url = "nats://127.0.0.1:4222";

    public string Name => "nats";
    public ServerProcess? Server { get; private set; }
    public IReadOnlyDictionary<string, int> Errors => new Dictionary<string, int>();

    public void Attach(Run run)
    {
    }

    public async Task StartAsync(CancellationToken ct)
    {
        if (options.Url is { } url)
        {
            _url = url;
            return;
        }
        var (process, address) = await ServerProcess.StartAsync("nats-server", ["-a", "127.0.0.1", "-p", "-1"],
            new Dictionary<string, string>(), ListeningRegex(), options.ServerCpus, null, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        Server = process;
        _url = "nats://" + address;
    }

    public Task ProvisionAsync(int rooms, int roomSize, CancellationToken ct) => Task.CompletedTask;

    public Task ProvisionIdleAsync(int count, CancellationToken ct) => Task.CompletedTask;

    private NatsOpts Opts(string name) => NatsOpts.Default with
    {
        Url = _url,
        Name = name,
        // Wait instead of dropping: a full client buffer must push back to the server (which then judges the slow
        // consumer), never silently lose messages on the client side.
        SubPendingChannelCapacity = 8192,
        SubPendingChannelFullMode = BoundedChannelFullMode.Wait,
    };

    public async Task<IMemberConnection> ConnectAsync(Member member, CancellationToken ct)
    {
        var connection = new Connection(new NatsConnection(Opts($"m{member.Room}.{member.Index}")), member, $"load.room.{member.Room}", options.Payload);
        await connection.OpenAsync(ct).ConfigureAwait(false);
        return connection;
    }

    public async Task<IAsyncDisposable> ConnectIdleAsync(int n, CancellationToken ct)
    {
        var nats = new NatsConnection(Opts($"idle{n}"));
        await nats.ConnectAsync().ConfigureAwait(false);
        var sub = await nats.SubscribeCoreAsync<NatsMemoryOwner<byte>>($"load.idle.{n}", cancellationToken: ct).ConfigureAwait(false);
        return new IdleConnection(nats, sub);
    }

    public async ValueTask DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed class IdleConnection(NatsConnection nats, INatsSub<NatsMemoryOwner<byte>> sub) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await sub.DisposeAsync().ConfigureAwait(false);
            await nats.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed class Connection(NatsConnection nats, Member member, string subject, int payload) : IMemberConnection
    {
        private INatsSub<NatsMemoryOwner<byte>> _sub = null!;
        private Task _receive = Task.CompletedTask;

        public async Task OpenAsync(CancellationToken ct)
        {
            nats.ConnectionDisconnected += (_, _) =>
            {
                Interlocked.Increment(ref member.Evictions);
                return ValueTask.CompletedTask;
            };
            await nats.ConnectAsync().ConfigureAwait(false);
            _sub = await nats.SubscribeCoreAsync<NatsMemoryOwner<byte>>(subject, cancellationToken: ct).ConfigureAwait(false);
            _receive = ReceiveLoopAsync();
        }

        private async Task ReceiveLoopAsync()
        {
            var reader = _sub.Msgs;
            try
            {
                while (await reader.WaitToReadAsync().ConfigureAwait(false))
                {
                    var now = Stopwatch.GetTimestamp();
                    var n = 0;
                    while (reader.TryRead(out var msg))
                    {
                        using var data = msg.Data;
                        member.OnPayload(data.Span, now);
                        n++;
                    }
                    await member.PaceAsync(n).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
            {
            }
        }

        public void Send(int index, long intendedTicks)
        {
            var bytes = new byte[payload];
            Payload.Write(bytes, member.Room, index, intendedTicks);
            var publish = nats.PublishAsync(subject, bytes);
            if (!publish.IsCompletedSuccessfully)
            {
                _ = publish.AsTask();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _sub.DisposeAsync().ConfigureAwait(false);
            await nats.DisposeAsync().ConfigureAwait(false);
        }
    }

    [GeneratedRegex(@"Listening for client connections on (\S+)")]
    private static partial Regex ListeningRegex();
}
