using System.Diagnostics;

namespace CyberCoop.Load;

/// <summary>Everything one e2e run measured, with the machine's state.</summary>
internal sealed record LoadReport
{
    public required LoadOptions Options { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public required TimeSpan Duration { get; init; }
    public required string Machine { get; init; }
    public required string LoadBefore { get; init; }
    public required string LoadAfter { get; init; }
    public required Rate SqliteBaseline { get; init; }
    public required Rate GrpcBaseline { get; init; }
    public required long GrpcBytes { get; init; }
    public required PassResult Empty { get; init; }
    public PassResult? Prestored { get; init; }
    public TimeSpan PrepopulationTime { get; init; }

    /// <summary>The slower of the two baselines (indicators/s): the ceiling the targets are stated against.</summary>
    public double SlowerBaseline => Math.Min(SqliteBaseline.PerSecond, GrpcBaseline.PerSecond);
}

/// <summary>
/// The e2e run: the two baselines, then a pass on empty stores and a pass with <see cref="LoadOptions.Prestored"/>
/// indicators already stored, each against freshly started gateway processes in a temp directory that is removed
/// at the end.
/// </summary>
internal static class E2eRun
{
    public static async Task<LoadReport> RunAsync(LoadOptions options, TextWriter log, CancellationToken ct)
    {
        var started = DateTimeOffset.UtcNow;
        var stopwatch = Stopwatch.StartNew();
        var loadBefore = MachineInfo.LoadAverage();
        var root = Path.Combine(Path.GetTempPath(), "cybercoop-load", Guid.NewGuid().ToString("n"));
        try
        {
            await log.WriteLineAsync($"CyberCoop e2e load ({options.Mode}) in {root}; load average {loadBefore}");

            Rate sqlite;
            Rate grpc;
            long grpcBytes;
            PassResult empty;
            using (var federation = LoadFederation.Create(Path.Combine(root, "empty"), options.BundleSize))
            {
                var indicators = LoadData.Indicators("baseline", 0, options.BaselineIndicators, federation.A.GatewayId);
                sqlite = SqliteBaseline.Run(Path.Combine(root, "baseline"), indicators, options.BundleSize);
                await log.WriteLineAsync($"  baseline SQLite: {sqlite.PerSecond:N0} rows/s ({sqlite.Items:N0} rows, batches of {options.BundleSize:N0}); CPU {sqlite.CpuPerItem:F1} us/row; written {sqlite.Io.WrittenKbPer(sqlite.Items):F2} KB/row ({sqlite.Io.ToStorageKbPer(sqlite.Items):F2} KB dirtied)");
                (grpc, grpcBytes) = await GrpcBaseline.RunAsync(federation, indicators, options.BundleSize, ct);
                await log.WriteLineAsync($"  baseline gRPC: {grpc.PerSecond:N0} indicators/s ({grpcBytes / grpc.Elapsed.TotalSeconds / 1e6:N0} MB/s)");
                empty = await new E2ePass(federation, options, log).RunAsync(0, "empty", ct);
            }

            PassResult? prestored = null;
            var prepopulation = TimeSpan.Zero;
            if (options.Prestored > 0)
            {
                using var federation = LoadFederation.Create(Path.Combine(root, "stored"), options.BundleSize);
                await log.WriteLineAsync($"  pre-populating {options.Prestored:N0} indicators ...");
                prepopulation = await Prepopulation.RunAsync(federation, options.Prestored, log, ct);
                await log.WriteLineAsync($"  pre-populated in {prepopulation.TotalSeconds:F0} s");
                prestored = await new E2ePass(federation, options, log).RunAsync(options.Prestored, "stored", ct);
            }

            return new LoadReport
            {
                Options = options,
                StartedAt = started,
                Duration = stopwatch.Elapsed,
                Machine = MachineInfo.Describe(),
                LoadBefore = loadBefore,
                LoadAfter = MachineInfo.LoadAverage(),
                SqliteBaseline = sqlite,
                GrpcBaseline = grpc,
                GrpcBytes = grpcBytes,
                Empty = empty,
                Prestored = prestored,
                PrepopulationTime = prepopulation,
            };
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a temp directory.
            }
        }
    }
}
