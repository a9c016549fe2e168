using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using TeamComms.Server.Storage;

namespace TeamComms.Benchmarks;

/// <summary>
/// The encryption step alone, per stored event: sealing on the append path and opening on the read path
/// (XChaCha20-Poly1305 with the room's cached data key), against copying the plaintext value as the unencrypted
/// store effectively does.
/// </summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
public class AtRestSealBenchmarks
{
    private string _dir = null!;
    private RocksStore _store = null!;
    private StoreBatch _batch = null!;
    private byte[] _value = null!;
    private byte[] _sealed = null!;

    [Params(200, 4096)]
    public int ValueBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "tc-bench-seal-" + Guid.NewGuid().ToString("N"));
        _store = new RocksStore(_dir, new StorageOptions { SyncWrites = false }, NullLogger.Instance);
        _batch = new StoreBatch(_store);
        _value = RandomNumberGenerator.GetBytes(ValueBytes);
        _batch.PutEvent(1, 1, _value); // creates the room's data key
        _batch.Commit();
        _batch.Clear();
        _sealed = _store.AtRest!.SealEvent(1, 2, _value, _batch);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _batch.Dispose();
        _store.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Baseline = true, Description = "copy plaintext value (no encryption)")]
    public byte[] Copy() => (byte[])_value.Clone();

    [Benchmark(Description = "seal event (append path)")]
    public byte[] Seal() => _store.AtRest!.SealEvent(1, 2, _value, _batch);

    [Benchmark(Description = "open event (read path)")]
    public byte[] Open() => _store.AtRest!.OpenEvent(1, 2, _sealed);
}
