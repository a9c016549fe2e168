using BenchmarkDotNet.Running;
using TeamComms.Benchmarks;

// The load generator's with/without encryption-at-rest comparison runs the server from here (see AtRestServe).
if (Environment.GetEnvironmentVariable(AtRestServe.Variable) is { Length: > 0 } mode)
{
    return await AtRestServe.RunAsync(args, mode);
}

// dotnet run -c Release --project bench/TeamComms.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(BenchConfig).Assembly).Run(args);
return 0;
