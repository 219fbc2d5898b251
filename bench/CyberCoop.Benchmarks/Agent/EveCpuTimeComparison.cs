using System.Diagnostics;
using System.Globalization;

namespace CyberCoop.Benchmarks.Agent;

/// <summary>
/// The <see cref="EveParsingBenchmarks"/> cases measured in process CPU time, round-robin (each round runs every case
/// once over 20,000 lines), median per case: on a shared, loaded machine wall-clock means mostly measure the other
/// tenants, while CPU time per line and the ratios within one round do not. Run:
/// dotnet run -c Release --project bench/CyberCoop.Benchmarks -- --eve-cputime [rounds]
/// </summary>
internal static class EveCpuTimeComparison
{
    public static void Run(int rounds)
    {
        var b = new EveParsingBenchmarks();
        b.Setup();
        (string Group, string Name, Func<int> Run)[] cases =
        [
            ("RealMix", "Baseline_Utf8JsonReader", b.Baseline_Utf8JsonReader_RealMix),
            ("RealMix", "EveParser", b.RealMix),
            ("AlertsOnly", "Baseline_Utf8JsonReader", b.Baseline_Utf8JsonReader_AlertsOnly),
            ("AlertsOnly", "EveParser", b.AlertsOnly),
            ("RealAlerts", "Baseline_Utf8JsonReader", b.Baseline_Utf8JsonReader_RealAlerts),
            ("RealAlerts", "EveParser", b.RealAlerts),
        ];
        var samples = cases.Select(_ => new List<double>()).ToArray();
        var process = Process.GetCurrentProcess();
        for (var round = -2; round < rounds; round++)
        {
            for (var i = 0; i < cases.Length; i++)
            {
                var allocated = GC.GetAllocatedBytesForCurrentThread();
                process.Refresh();
                var start = process.TotalProcessorTime;
                cases[i].Run();
                process.Refresh();
                if (round >= 0)
                {
                    samples[i].Add((process.TotalProcessorTime - start).TotalSeconds * 1e9 / EveParsingBenchmarks.Lines);
                }

                if (round == rounds - 1)
                {
                    samples[i].Add(-(GC.GetAllocatedBytesForCurrentThread() - allocated) / (double)EveParsingBenchmarks.Lines);
                }
            }
        }

        Console.WriteLine($"EVE parsing, process CPU time per line, median of {rounds} rounds of {EveParsingBenchmarks.Lines:N0} lines per case");
        Console.WriteLine("| group | case | CPU ns / line | lines / CPU-second | allocated / line | vs. Utf8JsonReader baseline |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|");
        double baseline = 0;
        for (var i = 0; i < cases.Length; i++)
        {
            var bytes = Math.Max(0, -samples[i][^1]);
            var times = samples[i].Take(samples[i].Count - 1).Order().ToList();
            var median = times[times.Count / 2];
            if (cases[i].Name.StartsWith("Baseline", StringComparison.Ordinal))
            {
                baseline = median;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {cases[i].Group} | {cases[i].Name} | {median:F0} | {1e9 / median:N0} | {bytes:F0} B | {median / baseline:F2} |"));
        }
    }
}
