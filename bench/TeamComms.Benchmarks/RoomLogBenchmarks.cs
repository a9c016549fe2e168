using BenchmarkDotNet.Attributes;
using TeamComms.Protocol.Events;
using TeamComms.Server.Rooms;

namespace TeamComms.Benchmarks;

/// <summary>
/// Appending a batch of events through the real sequencer (<see cref="LocalRoomLog"/>): authorize, sequence, hash,
/// encode once, one RocksDB WriteBatch and one WAL sync per group commit. Results are per event.
/// </summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
public class RoomLogBenchmarks
{
    private const int Batch = 256;
    private BenchServer _server = null!;
    private Actor _actor;
    private string _room = null!;
    private byte[] _content = null!;
    private readonly Task<AppendOutcome>[] _pending = new Task<AppendOutcome>[Batch];
    private long _txn;

    [Params(true, false)]
    public bool Sync { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _server = BenchServer.Create(Sync);
        var (users, room) = _server.ProvisionAsync(2).GetAwaiter().GetResult();
        _actor = new Actor(users[1].UserId, users[1].Key, 2);
        _room = room;
        _content = BenchData.Content(64);
    }

    [GlobalCleanup]
    public void Cleanup() => _server.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(OperationsPerInvoke = Batch, Description = "append 256 sends, group commit (per event)")]
    public async Task AppendBatch()
    {
        for (var i = 0; i < Batch; i++)
        {
            _pending[i] = _server.Log.AppendAsync(new SendProposal(_actor, _room, "t" + (++_txn).ToString(System.Globalization.CultureInfo.InvariantCulture), EventTypes.Message, _content));
        }
        await Task.WhenAll(_pending);
    }
}
