using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using TeamComms.Crypto.Age;
using TeamComms.Crypto.Escrow;
using TeamComms.Server.Backups;
using TeamComms.Server.Hosting;
using TeamComms.Server.Keys;
using TeamComms.Server.Storage;
using TeamComms.Server.Storage.Encryption;

namespace TeamComms.Benchmarks;

/// <summary>
/// Backup and restore of a data directory of <see cref="GiB"/> GiB (encrypted events with incompressible content, so
/// the files are as large as the data). Backup: checkpoint, tar, age (ChaCha20-Poly1305 STREAM) to the escrow key,
/// SHA-256, signed manifest. Restore: manifest check, 3-of-5 share recombination, age decrypt, untar, SHA-256 check,
/// rewrap of every data key under a new KEK. Throughput = backup file size / mean time.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 0, iterationCount: 3)]
public class BackupBenchmarks
{
    private string _root = null!;
    private RocksStore _store = null!;
    private BackupService _backups = null!;
    private AgeIdentity _escrow = null!;
    private List<(string, string)> _shares = null!;
    private string _backupFile = null!;
    private int _restores;

    [Params(2)]
    public int GiB { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _root = Path.Combine(Path.GetTempPath(), "tc-bench-backup-" + Guid.NewGuid().ToString("N"));
        _escrow = AgeIdentity.Generate();
        _shares = [.. EscrowKey.Split(_escrow, 5, 3).Take(3).Select(s => ($"share-{s.Index}", s.ToString()))];
        var keys = new KeyOptions { EscrowRecipient = _escrow.Recipient.ToString() };
        _store = new RocksStore(Path.Combine(_root, "data"), new StorageOptions { SyncWrites = false, Compression = false }, NullLogger.Instance, keys);
        // 4 KiB events across 64 rooms until the data reaches the target size.
        var value = new byte[4096];
        var target = (long)GiB << 30;
        using (var batch = new StoreBatch(_store))
        {
            for (long i = 0, written = 0; written < target; i++, written += value.Length)
            {
                RandomNumberGenerator.Fill(value);
                batch.PutEvent(1 + (i % 64), 1 + (i / 64), value);
                if (batch.Count >= 512)
                {
                    batch.Commit(durable: false);
                    batch.Clear();
                }
            }
            batch.Commit(durable: true);
        }
        _store.Flush();
        _backups = new BackupService(_store, new ServerIdentity("bench.local"),
            Options.Create(new BackupOptions { Directory = Path.Combine(_root, "backups") }), TimeProvider.System, new NoAudit(), NullLogger<BackupService>.Instance);
        _backupFile = _backups.CreateAsync("bench").GetAwaiter().GetResult().Path;
        Console.WriteLine($"// data directory: {DirectorySize(Path.Combine(_root, "data")) / 1e9:F2} GB; backup file: {new FileInfo(_backupFile).Length / 1e9:F2} GB");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        _escrow.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Benchmark(Description = "online backup (checkpoint + tar + age + sha256)")]
    public void Backup()
    {
        var (_, path) = _backups.CreateAsync("bench").GetAwaiter().GetResult();
        File.Delete(path);
        File.Delete(path + ".manifest.json");
    }

    [Benchmark(Description = "restore (age decrypt + untar + sha256 + rewrap)")]
    public void Restore()
    {
        var target = Path.Combine(_root, "restored-" + (++_restores));
        BackupRestorer.Restore(new RestoreRequest { BackupFile = _backupFile, DataDirectory = target, Shares = _shares }, NullLogger.Instance);
        Directory.Delete(target, recursive: true);
    }

    private static long DirectorySize(string dir) => Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

    private sealed class NoAudit : ISecurityAuditSink
    {
        public void Record(string action, string actor, IReadOnlyDictionary<string, string> details)
        {
        }
    }
}
