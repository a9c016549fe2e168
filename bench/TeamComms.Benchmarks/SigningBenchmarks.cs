using BenchmarkDotNet.Attributes;
using TeamComms.Crypto;

namespace TeamComms.Benchmarks;

/// <summary>Ed25519 (NSec/libsodium): the cost of a checkpoint signature, once per batch.</summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
public class SigningBenchmarks
{
    private SigningKey _key = null!;
    private byte[] _publicKey = null!;
    private readonly byte[] _message = new byte[8 + 8 + 32]; // a checkpoint: (room, seq, head hash)
    private byte[] _signature = null!;

    [GlobalSetup]
    public void Setup()
    {
        _key = SigningKey.Generate();
        _publicKey = _key.PublicKey;
        Random.Shared.NextBytes(_message);
        _signature = _key.Sign(_message);
    }

    [GlobalCleanup]
    public void Cleanup() => _key.Dispose();

    [Benchmark(Description = "Ed25519 sign (48-byte checkpoint)")]
    public byte[] Sign() => _key.Sign(_message);

    [Benchmark(Description = "Ed25519 verify")]
    public bool Verify() => SigningKey.Verify(_publicKey, _message, _signature);
}
