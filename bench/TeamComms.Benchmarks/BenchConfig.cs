using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;

namespace TeamComms.Benchmarks;

/// <summary>
/// One short job for every class: the machine has 2 cores shared with other work, so fewer, longer-lived
/// iterations; allocations per operation come from MemoryDiagnoser.
/// </summary>
public sealed class BenchConfig : ManualConfig
{
    public BenchConfig()
    {
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(10));
        AddDiagnoser(MemoryDiagnoser.Default);
    }
}
