using CyberCoop.Load;
using CyberCoop.Testing;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// The end-to-end load tool, run with tiny counts so it cannot rot: it must complete against real gateway processes
/// and report sane numbers. Never a speed threshold (CI machines are shared and noisy).
/// </summary>
public sealed class LoadToolSmokeTests
{
    private static readonly LoadOptions s_tiny = LoadOptions.Smoke with
    {
        ThroughputIndicators = 1_000,
        OfferedRate = 400,
        LatencyDuration = TimeSpan.FromSeconds(1),
        Prestored = 1_000,
        BaselineIndicators = 1_000,
    };

    [Fact]
    public async Task Load_tool_completes_against_real_gateways_and_reports_sane_numbers()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));

        var report = await E2eRun.RunAsync(s_tiny, TextWriter.Null, cts.Token);

        Assert.True(report.SqliteBaseline.PerSecond > 0);
        if (OperatingSystem.IsLinux())
        {
            Assert.InRange(report.SqliteBaseline.Io.WrittenKbPer(report.SqliteBaseline.Items), 0.1, 1_000);
        }

        Assert.True(report.GrpcBaseline.PerSecond > 0);
        Assert.True(report.GrpcBytes > 1_000 * 50, "a bundle of indicators is tens of bytes per indicator at least");
        foreach (var pass in new[] { report.Empty, report.Prestored! })
        {
            Assert.True(pass.EndToEnd.PerSecond > 0);
            Assert.True(pass.IngestRate.PerSecond >= pass.EndToEnd.PerSecond, "ingest at A finishes no later than commit at B");
            Assert.True(pass.ListeningA > TimeSpan.Zero && pass.FirstBatchA >= pass.ListeningA, "A answers its first batch after it listens");
            Assert.True(pass.StartCpuA > TimeSpan.Zero);
            Assert.True(pass.WarmupCpuPerIndicatorA > 0 && pass.WarmupCpuPerIndicatorB > 0);
            Assert.Equal(400, pass.Latency.Count);
            Assert.InRange(pass.Latency.P50, 0, pass.Latency.P95);
            Assert.InRange(pass.Latency.P95, pass.Latency.P50, pass.Latency.P99);
            Assert.InRange(pass.Latency.P99, pass.Latency.P95, pass.Latency.Max);
            Assert.True(pass.Latency.Max < 60_000, "every indicator arrived within the drain timeout");
            if (OperatingSystem.IsLinux())
            {
                Assert.InRange(pass.RssA, 10L << 20, 4L << 30);
                Assert.InRange(pass.RssB, 10L << 20, 4L << 30);
                // Every indicator is committed at A and at B: at least its row's worth of bytes written at each.
                Assert.InRange(pass.WrittenA.WrittenKbPer(pass.ThroughputIndicators), 0.1, 1_000);
                Assert.InRange(pass.WrittenB.WrittenKbPer(pass.ThroughputIndicators), 0.1, 1_000);
            }
        }

        Assert.Equal(1_000, report.Prestored!.Prestored);
    }

    [Fact]
    public async Task Abuse_scenario_completes_with_a_hostile_agent_process_that_is_refused()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));

        var report = await Load.Abuse.AbuseRun.RunAsync(runs: 1, sightings: 500, hostileStreams: 20, TextWriter.Null, cts.Token);

        Assert.Equal(["before", "attack", "after"], report.Phases.Select(p => p.Name));
        Assert.All(report.Phases, p => Assert.Single(p.Ingest));
        Assert.All(report.Phases, p => Assert.InRange(p.Exchange[0], p.Ingest[0], TimeSpan.FromMinutes(2)));
        Assert.True(report.IngestSlowdown > 0 && report.ExchangeSlowdown > 0);
        // 20 streams against the default quota of 8: the hostile process was refused, and its CPU was measured apart.
        Assert.True(report.HostileRefused > 0, report.Hostile);
        Assert.Contains("hostile agent", report.Phases[1].Cores.Keys);
        Assert.DoesNotContain("other errors (first", report.Hostile, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_tool_postgres_mode_completes_with_exact_counts_at_b_and_reports_sane_numbers()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(6));

        // Every phase of every pass throws unless B holds exactly the indicators sent, each counted once from A.
        var report = await E2eRun.RunAsync(s_tiny with { Postgres = true, Prestored = 0 }, TextWriter.Null, cts.Token);

        var pg = Assert.IsType<PostgresReport>(report.Postgres);
        Assert.Contains("PostgreSQL", pg.Version, StringComparison.Ordinal);
        foreach (var baseline in new[] { pg.Inserts, pg.Copy, pg.RowAtATime })
        {
            Assert.Equal(1_000, baseline.Client.Items);
            Assert.True(baseline.PerSecond > 0);
        }

        Assert.Equal(1, pg.OneProcess.ProcessesA);
        Assert.Equal(2, pg.TwoProcessesA.ProcessesA);
        foreach (var pass in new[] { pg.OneProcess, pg.TwoProcessesA })
        {
            Assert.True(pass.EndToEnd.PerSecond > 0);
            Assert.True(pass.IngestRate.PerSecond >= pass.EndToEnd.PerSecond, "ingest at A finishes no later than commit at B");
            Assert.True(pass.ListeningA > TimeSpan.Zero && pass.FirstBatchA >= pass.ListeningA, "A answers its first batch after it listens");
            Assert.True(pass.StartCpuA > TimeSpan.Zero);
            Assert.True(pass.WarmupCpuPerIndicatorA > 0 && pass.WarmupCpuPerIndicatorB > 0);
            Assert.Equal(400, pass.Latency.Count);
            Assert.InRange(pass.Latency.P99, pass.Latency.P50, pass.Latency.Max);
            if (OperatingSystem.IsLinux())
            {
                Assert.True(pass.CpuPerIndicatorA > 0 && pass.CpuPerIndicatorB > 0 && pass.CpuPerIndicatorServer > 0, "CPU read for A, B and the server");
                // The server wrote every indicator at A's and B's database (WAL and tables): at least a row's worth each.
                Assert.InRange(pass.WrittenServer.WrittenKbPer(pass.ThroughputIndicators), 0.2, 1_000);
            }

            // Each indicator costs at least its insert at A and at B (pg_stat_statements of the tool's cluster).
            Assert.True(pass.StatementsPerIndicator >= 0.002, $"statements per indicator {pass.StatementsPerIndicator}");
            Assert.NotEmpty(pass.TopStatements);
        }

        var table = LoadReportWriter.PostgresMarkdown(report);
        Assert.Contains("two processes of A active-active", table, StringComparison.Ordinal);
        Assert.Contains("raw PostgreSQL binary COPY", table, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Store_watch_fails_a_phase_when_the_receiver_lost_an_indicator_or_counted_one_twice()
    {
        using var dir = new TempDirectory();
        var nation = new NationMaterial(dir.Path, "b", "b.watch.cybercoop");
        const string Peer = "spiffe://a.watch.cybercoop/gateway/gw-a";
        await using (var store = await Gateway.Storage.GatewayStore.OpenAsync(nation.DatabasePath, TimeProvider.System, CancellationToken.None))
        {
            var items = LoadData.Indicators("watch", 0, 3, Peer).Select(Gateway.Pipeline.ValidationOutcome.Valid).ToList();
            await store.CommitIngestAsync("spiffe://b.watch.cybercoop/agent/sensor-1", new byte[16], items, CancellationToken.None);
        }

        using var watch = StoreWatch.Of(nation);
        SetReceived(nation.DatabasePath, Peer, 3);
        watch.AssertExactly(0, 0, Peer, 3, "exact", () => "");

        var lost = Assert.Throws<InvalidOperationException>(() => watch.AssertExactly(0, 0, Peer, 4, "lost", () => ""));
        Assert.Contains("holds 3 new rows", lost.Message, StringComparison.Ordinal);
        SetReceived(nation.DatabasePath, Peer, 4); // one indicator accepted in two envelopes: a change dispatched twice
        var twice = Assert.Throws<InvalidOperationException>(() => watch.AssertExactly(0, 0, Peer, 3, "twice", () => ""));
        Assert.Contains("counted 4 indicators received", twice.Message, StringComparison.Ordinal);
        nation.Ca.Dispose();
    }

    private static void SetReceived(string path, string peer, long received)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO peer_counters (peer, indicators_received) VALUES ($p, $n) ON CONFLICT (peer) DO UPDATE SET indicators_received = excluded.indicators_received";
        command.Parameters.AddWithValue("$p", peer);
        command.Parameters.AddWithValue("$n", received);
        command.ExecuteNonQuery();
    }

    [Fact]
    public void Report_tables_replace_their_blocks_in_the_performance_doc_and_keep_the_rest()
    {
        var path = Path.Combine(Path.GetTempPath(), "cybercoop-tests", Guid.NewGuid().ToString("n") + ".md");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        try
        {
            File.WriteAllText(path, "# Performance\n\n## Crypto primitives\n\nkept\n");

            LoadReportWriter.WriteInto(path, "| first |\n");
            LoadReportWriter.WritePostgresInto(path, "| pg first |\n");
            LoadReportWriter.WriteInto(path, "| second |\n");
            LoadReportWriter.WritePostgresInto(path, "| pg second |\n");

            var text = File.ReadAllText(path);
            Assert.Contains("## Crypto primitives\n\nkept", text, StringComparison.Ordinal);
            Assert.Contains("| second |", text, StringComparison.Ordinal);
            Assert.DoesNotContain("| first |", text, StringComparison.Ordinal);
            Assert.Single(System.Text.RegularExpressions.Regex.Matches(text, "load-tool:begin"));
            // The PostgreSQL table has a block of its own: each run replaces it and leaves the SQLite block alone.
            Assert.Contains("| pg second |", text, StringComparison.Ordinal);
            Assert.DoesNotContain("| pg first |", text, StringComparison.Ordinal);
            Assert.Single(System.Text.RegularExpressions.Regex.Matches(text, "load-tool-postgres:begin"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("writes", "--stored", "abc")]
    [InlineData("writes", "--stored")]
    [InlineData("writes", "--foo")]
    [InlineData("writes", "--stored", "-5")]
    public async Task Writes_with_a_bad_stored_count_is_refused_with_usage_before_any_work(params string[] args)
    {
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        int code;
        try
        {
            code = await LoadCommand.RunAsync(args);
        }
        finally
        {
            Console.SetError(previous);
        }

        Assert.Equal(2, code);
        Assert.Contains("expected '--stored <n>'", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("usage: CyberCoop.Load", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--cores", "0", "--cores: expected a whole number from 1 to")]
    [InlineData("--cores", "999", "--cores: expected a whole number from 1 to")]
    [InlineData("--cores", "x", "--cores: expected a whole number from 1 to")]
    [InlineData("--stored", "-1", "--stored: expected a whole number of indicators")]
    [InlineData("--gateway", "/nonexistent-folder", "--gateway: no CyberCoop.Gateway.dll (or Native AOT cybercoop-gateway) in")]
    public async Task E2e_with_a_bad_cores_stored_or_gateway_argument_is_refused_before_any_work(string option, string value, string message)
    {
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        int code;
        try
        {
            code = await LoadCommand.RunAsync(["e2e", "--no-doc", option, value]);
        }
        finally
        {
            Console.SetError(previous);
        }

        Assert.Equal(2, code);
        Assert.Contains(message, error.ToString(), StringComparison.Ordinal);
    }
}
