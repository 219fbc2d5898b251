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

    /// <summary>The PostgreSQL passes, when the run had <see cref="LoadOptions.Postgres"/>.</summary>
    public PostgresReport? Postgres { get; init; }

    /// <summary>The slower of the two baselines (indicators/s): the ceiling the targets are stated against.</summary>
    public double SlowerBaseline => Math.Min(SqliteBaseline.PerSecond, GrpcBaseline.PerSecond);
}

/// <summary>The PostgreSQL part of a run: the server, its raw baselines, and the passes with one and two processes of A.</summary>
internal sealed record PostgresReport
{
    public required string Version { get; init; }
    public required string LoadBefore { get; init; }
    public required PostgresBaselineResult Inserts { get; init; }
    public required PostgresBaselineResult Copy { get; init; }
    public required PostgresBaselineResult RowAtATime { get; init; }
    public required PassResult OneProcess { get; init; }
    public required PassResult TwoProcessesA { get; init; }
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

            PostgresReport? postgres = null;
            if (options.Postgres)
            {
                postgres = await PostgresAsync(options, Path.Combine(root, "pg"), log, ct);
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
                Postgres = postgres,
            };
        }
        finally
        {
            try
            {
                if (Directory.Exists(root))
                {
                    Directory.Delete(root, recursive: true);
                }
            }
            catch (IOException)
            {
                // Best effort: a temp directory.
            }
        }
    }

    /// <summary>
    /// The PostgreSQL passes on a throwaway cluster of the local installation with its durable defaults (fsync and
    /// synchronous_commit on): the raw baselines into a database of their own, then both nations on PostgreSQL
    /// (a database each, same server) with one process each, then with two processes of A on A's database.
    /// </summary>
    private static async Task<PostgresReport> PostgresAsync(LoadOptions options, string directory, TextWriter log, CancellationToken ct)
    {
        var loadBefore = MachineInfo.LoadAverage();
        // pg_stat_statements counts the statements (round trips) each indicator costs; it is the one non-default setting.
        await using var server = await PostgresCluster.StartAsync(directory, durable: true, ["shared_preload_libraries=pg_stat_statements"]);
        await log.WriteLineAsync($"  PostgreSQL: {server.Version}, throwaway cluster on 127.0.0.1:{server.Port} (fsync and synchronous_commit on); load average {loadBefore}");
        async Task<string> DatabaseAsync(string name)
        {
            await using (var connection = new Npgsql.NpgsqlConnection(server.ConnectionString))
            {
                await connection.OpenAsync(ct);
                await using var command = new Npgsql.NpgsqlCommand($"CREATE DATABASE {name}", connection);
                await command.ExecuteNonQueryAsync(ct);
            }

            return new Npgsql.NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = name }.ConnectionString;
        }

        await using (var connection = new Npgsql.NpgsqlConnection(server.ConnectionString))
        {
            await connection.OpenAsync(ct);
            await using var command = new Npgsql.NpgsqlCommand("CREATE EXTENSION pg_stat_statements", connection);
            await command.ExecuteNonQueryAsync(ct);
        }

        PostgresBaselineResult inserts;
        PostgresBaselineResult copy;
        PostgresBaselineResult rowAtATime;
        PassResult one;
        using (var federation = LoadFederation.Create(Path.Combine(directory, "one"), options.BundleSize, await DatabaseAsync("a1"), await DatabaseAsync("b1")))
        {
            var indicators = LoadData.Indicators("baseline", 0, options.BaselineIndicators, federation.A.GatewayId);
            (inserts, copy, rowAtATime) = await PostgresBaseline.RunAsync(server, await DatabaseAsync("baseline"), indicators, options.BundleSize, ct);
            foreach (var (name, result) in new[] { ("batched inserts", inserts), ("binary COPY", copy), ("row-at-a-time prepared inserts", rowAtATime) })
            {
                await log.WriteLineAsync($"  baseline PostgreSQL {name}: {result.PerSecond:N0} rows/s ({result.Client.Items:N0} rows, batches of {options.BundleSize:N0}); CPU client {result.Client.CpuPerItem:F1} us/row, server {result.ServerCpuPerItem:F1} us/row; server wrote {result.ServerIo.WrittenKbPer(result.Client.Items):F2} KB/row ({result.ServerIo.ToStorageKbPer(result.Client.Items):F2} KB dirtied)");
            }

            one = await new E2ePass(federation, options, log, server).RunAsync(0, "pg-1", ct);
        }

        PassResult two;
        using (var federation = LoadFederation.Create(Path.Combine(directory, "two"), options.BundleSize, await DatabaseAsync("a2"), await DatabaseAsync("b2")))
        {
            two = await new E2ePass(federation, options, log, server, processesA: 2).RunAsync(0, "pg-2a", ct);
        }

        return new PostgresReport { Version = server.Version, LoadBefore = loadBefore, Inserts = inserts, Copy = copy, RowAtATime = rowAtATime, OneProcess = one, TwoProcessesA = two };
    }
}
