using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using TeamComms.Server.Storage;

namespace TeamComms.Benchmarks;

/// <summary>
/// The storage step of the append path with and without encryption at rest, in the same run: 256 stored events of a
/// room (the Event frame bytes, as the sequencer produces them) put into one <see cref="StoreBatch"/> and committed.
/// With encryption each value is sealed with the room's data key (XChaCha20-Poly1305, a random 24-byte nonce, a new
/// array); without it the plaintext value is stored (the test-only configuration). Results are per event.
/// </summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
public class AtRestBenchmarks
{
    private const int Batch = 256;
    private string _dir = null!;
    private RocksStore _store = null!;
    private StoreBatch _batch = null!;
    private byte[][] _values = null!;
    private long _seq;

    [Params(false, true)]
    public bool Encrypted { get; set; }

    [Params(false, true)]
    public bool Sync { get; set; }

    /// <summary>Size of the stored event (frame + count); 200 bytes is a short chat message with its envelope.</summary>
    [Params(200)]
    public int ValueBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "tc-bench-atrest-" + Guid.NewGuid().ToString("N"));
        _store = new RocksStore(_dir, new StorageOptions { SyncWrites = Sync, DisableEncryptionForTests = !Encrypted }, NullLogger.Instance);
        _batch = new StoreBatch(_store);
        _values = [.. Enumerable.Range(0, Batch).Select(_ => RandomNumberGenerator.GetBytes(ValueBytes))];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _batch.Dispose();
        _store.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "put 256 events + commit (per event)")]
    public void AppendBatch()
    {
        for (var i = 0; i < Batch; i++)
        {
            _batch.PutEvent(1, ++_seq, _values[i]);
        }
        _batch.Commit(durable: true);
        _batch.Clear();
    }
}
