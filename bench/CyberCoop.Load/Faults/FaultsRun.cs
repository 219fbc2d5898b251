using System.Diagnostics;
using System.Globalization;
using System.Text;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;

namespace CyberCoop.Load.Faults;

/// <summary>
/// The <c>faults</c> scenario runner: two real gateway processes (A and B, mTLS on loopback, real SQLite files) with a
/// <see cref="FaultProxy"/> on A's link to B. For each scenario A takes a steady offered load from an agent, the link
/// misbehaves for a set time, and the run records what B received: indicators offered (acknowledged by A), delivered
/// (stored at B), duplicates (a sighting stored twice), and the recovery time (from the end of the fault until B holds
/// everything A acknowledged before it ended). Then a long partition measures A's memory against its outbox depth.
/// </summary>
internal static class FaultsRun
{
    private const int PerBatch = 100;
    private static readonly TimeSpan s_batchInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_before = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_after = TimeSpan.FromSeconds(2);

    internal sealed record Scenario(string Name, Fault Fault, TimeSpan Duration);

    internal sealed record Row(string Fault, TimeSpan Duration, int Offered, int Delivered, long Duplicates, TimeSpan? Recovery);

    public static IReadOnlyList<Scenario> Scenarios(TimeSpan duration) =>
    [
        new("none (baseline)", Fault.Latency(TimeSpan.Zero, TimeSpan.Zero), duration),
        new("latency 200±100 ms both ways", Fault.Latency(TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(100)), duration),
        new("bandwidth 64 KiB/s both ways", Fault.Bandwidth(64 * 1024), duration),
        new("reset at random byte ≤32 KiB, both ways", Fault.Reset(32 * 1024), duration),
        new("reset at random byte ≤4 KiB, acks only", Fault.Reset(4 * 1024, FaultDirection.ServerToClient), duration),
        new("black hole A→B", Fault.BlackHole(FaultDirection.ClientToServer), duration),
        new("black hole B→A (acks lost)", Fault.BlackHole(FaultDirection.ServerToClient), duration),
        new("black hole both ways (half-open)", Fault.BlackHole(), duration),
        new("partition", Fault.Partition(), duration),
    ];

    public static async Task<int> RunAsync(TimeSpan duration, int outboxIndicators, TextWriter output, CancellationToken ct)
    {
        var root = Path.Combine(Path.GetTempPath(), "cybercoop-faults", Guid.NewGuid().ToString("n"));
        using var federation = LoadFederation.Create(root, bundleSize: 1000);
        foreach (var nation in new[] { federation.A, federation.B })
        {
            nation.Config = nation.Config with
            {
                Node = nation.Config.Node with
                {
                    Keepalive = new KeepaliveConfig { IntervalSeconds = 2, TimeoutSeconds = 2 },
                    Reconnect = new ReconnectConfig { MinBackoffMilliseconds = 200, MaxBackoffSeconds = 2, DeniedMaxBackoffSeconds = 10 },
                    Bundle = new BundleConfig { MaxIndicators = 1000, LingerMilliseconds = 50 },
                },
            };
        }

        await using var proxy = FaultProxy.Start(federation.B.Port);
        federation.A.Config = federation.A.Config with { Peers = [federation.A.Config.Peers.Single() with { Address = proxy.Address }] };
        foreach (var nation in new[] { federation.A, federation.B })
        {
            await File.WriteAllTextAsync(nation.ConfigPath, GatewayConfigFile.Serialize(nation.Config), ct);
        }

        var startTimeout = TimeSpan.FromSeconds(60);
        var rows = new List<Row>();
        string memory;
        await using (var b = await ChildProcess.StartAsync("gateway B", "CyberCoop.Gateway.dll", ["serve", "--config", federation.B.ConfigPath], federation.B.Port, startTimeout, ct))
        await using (var a = await ChildProcess.StartAsync("gateway A", "CyberCoop.Gateway.dll", ["serve", "--config", federation.A.ConfigPath], federation.A.Port, startTimeout, ct))
        {
            using var channel = LoadFederation.Channel(federation.A, federation.A.Certificate("agent"));
            var client = new Ingest.IngestClient(channel);
            var scenarios = Scenarios(duration);
            for (var i = 0; i < scenarios.Count; i++)
            {
                var row = await RunScenarioAsync(client, proxy, federation.B.DatabasePath, $"s{i}", scenarios[i], ct);
                rows.Add(row);
                await output.WriteLineAsync(Format(row));
            }

            memory = await OutboxMemoryAsync(client, proxy, a, federation.A.DatabasePath, federation.B.DatabasePath, outboxIndicators, output, ct);
            await a.StopAsync(TimeSpan.FromSeconds(30));
            await b.StopAsync(TimeSpan.FromSeconds(30));
        }

        // Duplicates: counted from B's store once it is stopped (a sighting stored twice shows as a count above 1).
        var duplicates = await DuplicatesByPrefixAsync(federation.B.DatabasePath, ct);
        rows = [.. rows.Select((r, i) => r with { Duplicates = duplicates.GetValueOrDefault($"s{i}") })];
        await output.WriteLineAsync();
        await output.WriteLineAsync($"Faults between two gateways, measured {DateTimeOffset.UtcNow:yyyy-MM-dd} on {Environment.ProcessorCount} cores, load average {MachineInfo.LoadAverage()}");
        await output.WriteLineAsync();
        await output.WriteLineAsync(Markdown(rows));
        await output.WriteLineAsync(memory);
        return rows.All(r => r.Delivered == r.Offered && r.Duplicates == 0) ? 0 : 1;
    }

    private static async Task<Row> RunScenarioAsync(Ingest.IngestClient client, FaultProxy proxy, string receiverDatabase, string prefix, Scenario scenario, CancellationToken ct)
    {
        using var call = client.Submit(cancellationToken: ct);
        var acknowledged = 0;
        var acknowledgedAtFaultEnd = 0;
        var lastBatchAtFaultEnd = -1;
        var batch = 0;
        var clock = Stopwatch.StartNew();
        var faultStart = s_before;
        var faultEnd = s_before + scenario.Duration;
        IDisposable? fault = null;
        Stopwatch? sinceEnd = null;
        try
        {
            while (clock.Elapsed < faultEnd + s_after)
            {
                if (fault is null && sinceEnd is null && clock.Elapsed >= faultStart)
                {
                    fault = proxy.Apply(scenario.Fault);
                }

                if (fault is not null && clock.Elapsed >= faultEnd)
                {
                    fault.Dispose();
                    fault = null;
                    sinceEnd = Stopwatch.StartNew();
                    acknowledgedAtFaultEnd = acknowledged;
                    lastBatchAtFaultEnd = batch - 1;
                }

                var request = new IngestBatch { BatchId = ByteString.CopyFromUtf8($"{prefix}-{batch}") };
                for (var i = 0; i < PerBatch; i++)
                {
                    request.Sightings.Add(Sighting($"{prefix}-b{batch:D6}-{i:D3}.faults.example"));
                }

                await call.RequestStream.WriteAsync(request, ct);
                if (!await call.ResponseStream.MoveNext(ct))
                {
                    throw new InvalidOperationException("gateway A ended the ingest stream");
                }

                acknowledged += call.ResponseStream.Current.Items.Count(item => item.Outcome == ItemOutcome.Accepted);
                batch++;
                await Task.Delay(s_batchInterval, ct);
            }
        }
        finally
        {
            fault?.Dispose();
        }

        await call.RequestStream.CompleteAsync();
        sinceEnd ??= Stopwatch.StartNew();

        // Recovery: until B holds every indicator A acknowledged before the fault ended; then the rest.
        var bound = $"{prefix}-b{lastBatchAtFaultEnd + 1:D6}";
        TimeSpan? recovery = null;
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(120))
        {
            if (Count(receiverDatabase, prefix + "-b", bound) >= acknowledgedAtFaultEnd)
            {
                recovery = sinceEnd.Elapsed;
                break;
            }

            await Task.Delay(50, ct);
        }

        var delivered = 0L;
        while (deadline.Elapsed < TimeSpan.FromSeconds(120) && (delivered = Count(receiverDatabase, prefix + "-b", prefix + "-c")) < acknowledged)
        {
            await Task.Delay(50, ct);
        }

        return new Row(scenario.Name, scenario.Duration, acknowledged, (int)delivered, 0, recovery);
    }

    private static async Task<string> OutboxMemoryAsync(Ingest.IngestClient client, FaultProxy proxy, ChildProcess a, string senderDatabase, string receiverDatabase,
        int indicators, TextWriter output, CancellationToken ct)
    {
        var report = new StringBuilder();
        using (proxy.Apply(Fault.Partition()))
        {
            using var call = client.Submit(cancellationToken: ct);
            var samples = new List<(long Queued, long QueuedBytes, long Rss)>();
            var batches = indicators / 1000;
            for (var b = 0; b < batches; b++)
            {
                var request = new IngestBatch { BatchId = ByteString.CopyFromUtf8($"outbox-{b}") };
                for (var i = 0; i < 1000; i++)
                {
                    request.Sightings.Add(Sighting($"outbox-b{b:D6}-{i:D3}.faults.example"));
                }

                await call.RequestStream.WriteAsync(request, ct);
                if (!await call.ResponseStream.MoveNext(ct))
                {
                    throw new InvalidOperationException("gateway A ended the ingest stream");
                }

                if ((b + 1) % Math.Max(1, batches / 5) == 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), ct); // let the dispatcher queue what was taken
                    var (queued, bytes) = Outbox(senderDatabase);
                    samples.Add((queued, bytes, a.Memory().Rss));
                    await output.WriteLineAsync($"outbox: {queued:N0} indicators queued ({bytes / (1024 * 1024.0):F1} MiB of envelopes), A's RSS {a.Memory().Rss / (1024 * 1024.0):F0} MiB");
                }
            }

            await call.RequestStream.CompleteAsync();
            report.AppendLine();
            report.AppendLine("Outbox depth against memory of gateway A while B is partitioned away:");
            report.AppendLine();
            report.AppendLine("| indicators queued | envelopes on disk | RSS of A |");
            report.AppendLine("|---:|---:|---:|");
            foreach (var (queued, bytes, rss) in samples)
            {
                report.AppendLine(CultureInfo.InvariantCulture, $"| {queued:N0} | {bytes / (1024 * 1024.0):F1} MiB | {rss / (1024 * 1024.0):F0} MiB |");
            }
        }

        var drain = Stopwatch.StartNew();
        while (drain.Elapsed < TimeSpan.FromMinutes(10) && Count(receiverDatabase, "outbox-b", "outbox-c") < indicators)
        {
            await Task.Delay(200, ct);
        }

        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"After the partition: {Count(receiverDatabase, "outbox-b", "outbox-c"):N0} of {indicators:N0} delivered in {drain.Elapsed.TotalSeconds:F0} s.");
        return report.ToString();
    }

    private static Sighting Sighting(string value) => new()
    {
        Type = IndicatorType.Domain,
        Value = value,
        Tlp = Tlp.Amber,
        Confidence = 80,
        ObservedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1)),
        Sensor = "faults",
        Count = 1,
    };

    /// <summary>Indicators stored with a value in [from, to), read by a second connection while the node runs.</summary>
    private static long Count(string database, string from, string to)
    {
        using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM indicators WHERE value >= $from AND value < $to";
        command.Parameters.AddWithValue("$from", from);
        command.Parameters.AddWithValue("$to", to);
        return (long)command.ExecuteScalar()!;
    }

    private static (long Indicators, long Bytes) Outbox(string database)
    {
        using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(SUM(indicator_count), 0), COALESCE(SUM(length(envelope)), 0) FROM outbox";
        using var reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private static async Task<Dictionary<string, long>> DuplicatesByPrefixAsync(string database, CancellationToken ct)
    {
        var duplicates = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var store = await GatewayStore.OpenAsync(database, TimeProvider.System, ct);
        await foreach (var indicator in store.ReadAllIndicatorsAsync(ct))
        {
            var prefix = indicator.Value[..Math.Max(0, indicator.Value.IndexOf('-', StringComparison.Ordinal))];
            var extra = indicator.Observations.Sum(o => (long)o.Count) - 1;
            duplicates[prefix] = duplicates.GetValueOrDefault(prefix) + Math.Max(0, extra);
        }

        return duplicates;
    }

    private static string Format(Row row) =>
        $"{row.Fault}: offered {row.Offered}, delivered {row.Delivered}, recovery {(row.Recovery is { } r ? $"{r.TotalSeconds:F1} s" : "not within 120 s")}";

    internal static string Markdown(IReadOnlyList<Row> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| fault | duration | offered | delivered | duplicates | recovery time |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var row in rows)
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {row.Fault} | {row.Duration.TotalSeconds:F0} s | {row.Offered:N0} | {row.Delivered:N0} | {row.Duplicates} | {(row.Recovery is { } r ? $"{r.TotalSeconds:F1} s" : "> 120 s")} |");
        }

        return sb.ToString();
    }
}
