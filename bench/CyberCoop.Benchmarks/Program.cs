using System.Reflection;
using BenchmarkDotNet.Running;
using CyberCoop.Benchmarks.Crypto;

// "--crypto-cputime": ops per CPU-second for the primitives compared with `openssl speed` (which also
// counts user CPU time), for a fair ratio on a shared, loaded machine. Everything else: BenchmarkDotNet.
if (args.Length > 0 && args[0] == "--crypto-cputime")
{
    CpuTimeComparison.Run(args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3.0);
    return;
}

// "--eve-cputime [rounds]": the EVE parsing cases in process CPU time, round-robin (Agent/EveCpuTimeComparison.cs).
if (args.Length > 0 && args[0] == "--eve-cputime")
{
    CyberCoop.Benchmarks.Agent.EveCpuTimeComparison.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 15);
    return;
}

BenchmarkSwitcher.FromAssembly(Assembly.GetExecutingAssembly()).Run(args);
