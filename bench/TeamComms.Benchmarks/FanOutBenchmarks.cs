using System.Net.WebSockets;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using TeamComms.Server.Accounts;
using TeamComms.Server.Connections;
using TeamComms.Server.FanOut;

namespace TeamComms.Benchmarks;

/// <summary>
/// Fan-out of one event to 1,000 connection queues, as the dispatcher does it: walk the room's connection set and
/// call <see cref="ClientConnection.DeliverDeferred"/> with the shared frame bytes. The queues are held (as during a
/// resume) so no socket is involved; each iteration then drains every queue into a write buffer as the writer
/// would, so the rings stay at their working size. Results are per recipient and must allocate 0 bytes.
/// </summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
public class FanOutBenchmarks
{
    private const int Recipients = 1000;
    private BenchServer _server = null!;
    private readonly ConnectionSet _set = new();
    private readonly byte[] _buffer = new byte[64 * 1024];
    private ReadOnlyMemory<byte> _frame;
    private long _pos;

    [GlobalSetup]
    public void Setup()
    {
        _server = BenchServer.Create(syncWrites: false);
        var services = _server.Services.GetRequiredService<ConnectionServices>();
        for (var i = 0; i < Recipients; i++)
        {
            var socket = WebSocket.CreateFromStream(Stream.Null, new WebSocketCreationOptions { IsServer = true });
            var session = new AuthenticatedSession(i + 1, i + 1, $"u{i:D5}@bench.local", "bench", [], long.MaxValue);
            _set.Add(new ClientConnection(socket, services, session, null, "127.0.0.1"));
        }
        _frame = BenchData.EventFrame(BenchData.Content(64), 1);
    }

    [GlobalCleanup]
    public void Cleanup() => _server.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(OperationsPerInvoke = Recipients, Description = "deliver 1 event to 1,000 queues (per recipient)")]
    public void Deliver()
    {
        var pos = ++_pos;
        foreach (var connection in _set.Items)
        {
            connection.DeliverDeferred(_frame, pos, 1);
        }
    }

    [Benchmark(OperationsPerInvoke = Recipients, Description = "deliver + writer drain into its buffer (per recipient)")]
    public int DeliverAndDrain()
    {
        var pos = ++_pos;
        foreach (var connection in _set.Items)
        {
            connection.DeliverDeferred(_frame, pos, 1);
        }
        var total = 0;
        foreach (var connection in _set.Items)
        {
            total += connection.Queue.Drain(_buffer, out _, out _, out _);
        }
        return total;
    }

    [IterationCleanup(Target = nameof(Deliver))]
    public void DrainAll()
    {
        foreach (var connection in _set.Items)
        {
            while (connection.Queue.Drain(_buffer, out _, out var oversized, out _) > 0 || !oversized.IsEmpty)
            {
            }
        }
    }
}
