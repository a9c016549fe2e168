using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/TeamComms.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(TeamComms.Benchmarks.BenchConfig).Assembly).Run(args);
