using System.Diagnostics;
using System.Globalization;
using System.Text;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Configuration;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;

namespace CyberCoop.Load.Abuse;

/// <summary>
/// The <c>abuse</c> scenario (threat model 5.6, issue 13): two real gateway processes A and B with A's per-identity
/// limits at their defaults; a good agent (the load tool) sends runs of sightings into A before, during and after a
/// hostile agent certificate, in its own process (<see cref="HostileAgent"/>), holds 200 streams open on A and pushes
/// batches flat out on each. Each run records the good agent's ingest time (first batch sent to last answer) and the
/// exchange time (until B holds every sighting of the run). The slow-down is attack / mean(before, after), medians of
/// the runs of each phase; the CPU each process used in each phase shows where the machine's time went.
/// </summary>
internal static class AbuseRun
{
    private const int BatchSize = 500;

    internal sealed record Phase(string Name, List<TimeSpan> Ingest, List<TimeSpan> Exchange, Dictionary<string, double> Cores, TimeSpan Wall);

    /// <summary>The phases before, under and after the attack, the slow-downs, and the hostile agent's own counts.</summary>
    internal sealed record AbuseReport(IReadOnlyList<Phase> Phases, double IngestSlowdown, double ExchangeSlowdown, string Hostile, long HostileRefused);

    public static async Task<AbuseReport> RunAsync(int runs, int sightings, int hostileStreams, TextWriter output, CancellationToken ct)
    {
        var root = Path.Combine(Path.GetTempPath(), "cybercoop-abuse", Guid.NewGuid().ToString("n"));
        using var federation = LoadFederation.Create(root, bundleSize: 1000);
        // The limits an operator gets: the scenario measures what they protect.
        federation.A.EditNode(node => node with { Limits = new LimitsConfig() });
        federation.A.WriteConfig();
        federation.A.IssueAgent("hostile");
        var loadBefore = MachineInfo.LoadAverage();
        var startTimeout = TimeSpan.FromSeconds(60);
        var phases = new List<Phase>();
        string hostileReport;
        await using (var b = await ChildProcess.StartAsync("gateway B", "CyberCoop.Gateway.dll", ["serve", "--config", federation.B.ConfigPath], federation.B.Port, startTimeout, ct))
        await using (var a = await ChildProcess.StartAsync("gateway A", "CyberCoop.Gateway.dll", ["serve", "--config", federation.A.ConfigPath], federation.A.Port, startTimeout, ct))
        {
            using var channel = LoadFederation.Channel(federation.A, federation.A.Certificate("agent"));
            var client = new Ingest.IngestClient(channel);
            using var watch = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = federation.B.DatabasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            watch.Open();
            var processes = new Dictionary<string, Func<TimeSpan>> { ["A"] = a.CpuTime, ["B"] = b.CpuTime, ["good agent"] = ProcStat.Self };
            var run = 0;

            async Task<Phase> PhaseAsync(string name, int count, Dictionary<string, Func<TimeSpan>> measured)
            {
                var ingest = new List<TimeSpan>();
                var exchange = new List<TimeSpan>();
                var cpu0 = measured.ToDictionary(p => p.Key, p => p.Value());
                var wall = Stopwatch.StartNew();
                for (var i = 0; i < count; i++)
                {
                    var (ingested, delivered) = await GoodRunAsync(client, watch, $"r{run++}", sightings, ct);
                    ingest.Add(ingested);
                    exchange.Add(delivered);
                    // The good agent's bucket refills between runs: the scenario measures the hostile agent, not the good one's own limit.
                    await Task.Delay(TimeSpan.FromSeconds((double)sightings / new LimitsConfig().AgentSightingsPerSecond), ct);
                }

                var cores = measured.ToDictionary(p => p.Key, p => (p.Value() - cpu0[p.Key]).TotalSeconds / wall.Elapsed.TotalSeconds);
                var phase = new Phase(name, ingest, exchange, cores, wall.Elapsed);
                await output.WriteLineAsync($"  {name}: ingest {Ms(ingest)}; exchange {Ms(exchange)}; cores {string.Join(", ", cores.Select(c => $"{c.Key} {c.Value:F2}"))}");
                return phase;
            }

            await output.WriteLineAsync($"abuse: gateways A and B in {root}; good agent {runs} runs of {sightings:N0} sightings per phase; hostile {hostileStreams} streams; load average {loadBefore}");
            await PhaseAsync("warm-up", 2, processes);
            phases.Add(await PhaseAsync("before", runs, processes));

            await using (var hostile = ChildProcess.Start("hostile agent", "CyberCoop.Load.dll",
                ["hostile", "--address", federation.A.Address, "--certificate", federation.A.File("hostile.crt"), "--key", federation.A.File("hostile.key"),
                 "--root", federation.A.RootPath, "--streams", hostileStreams.ToString(CultureInfo.InvariantCulture)]))
            {
                // Full pressure first: every stream opened (and most refused) at least once.
                var deadline = Stopwatch.StartNew();
                while (!hostile.Output.Contains(HostileAgent.FullPressure, StringComparison.Ordinal))
                {
                    if (hostile.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(60))
                    {
                        throw new InvalidOperationException("the hostile agent did not reach full pressure:\n" + hostile.Tail);
                    }

                    await Task.Delay(100, ct);
                }

                var attackProcesses = new Dictionary<string, Func<TimeSpan>>(processes) { ["hostile agent"] = hostile.CpuTime };
                phases.Add(await PhaseAsync("attack", runs, attackProcesses));
                await hostile.StopAsync(TimeSpan.FromSeconds(30));
                hostileReport = hostile.Output.Split('\n').LastOrDefault(l => l.StartsWith("hostile:", StringComparison.Ordinal))?.Trim() ?? hostile.Tail;
            }

            phases.Add(await PhaseAsync("after", runs, processes));
            await a.StopAsync(TimeSpan.FromSeconds(30));
            await b.StopAsync(TimeSpan.FromSeconds(30));
        }

        var before = phases[0];
        var attack = phases[1];
        var after = phases[2];
        double Ratio(Func<Phase, List<TimeSpan>> of) => Median(of(attack)).TotalSeconds / ((Median(of(before)).TotalSeconds + Median(of(after)).TotalSeconds) / 2);
        var ingestRatio = Ratio(p => p.Ingest);
        var exchangeRatio = Ratio(p => p.Exchange);
        await output.WriteLineAsync();
        await output.WriteLineAsync($"Abuse: one agent certificate with {hostileStreams} streams, measured {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC on {MachineInfo.Describe()}; " +
                                    $"load average {loadBefore} before, {MachineInfo.LoadAverage()} after");
        await output.WriteLineAsync();
        await output.WriteLineAsync(Markdown(phases, sightings));
        await output.WriteLineAsync();
        await output.WriteLineAsync($"Slow-down of the good agent under attack (median of the attack runs / mean of the before and after medians): ingest x{ingestRatio:F2}, exchange with B x{exchangeRatio:F2}.");
        await output.WriteLineAsync(hostileReport);
        var refused = System.Text.RegularExpressions.Regex.Match(hostileReport, @"([\d,]+) refused");
        return new AbuseReport(phases, ingestRatio, exchangeRatio, hostileReport,
            refused.Success ? long.Parse(refused.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture) : 0);
    }

    /// <summary>One run of the good agent: <paramref name="sightings"/> new sightings in batches of 500 on one stream.</summary>
    private static async Task<(TimeSpan Ingest, TimeSpan Exchange)> GoodRunAsync(Ingest.IngestClient client, SqliteConnection watch, string label, int sightings, CancellationToken ct)
    {
        var mark = Scalar(watch, "SELECT COALESCE(MAX(rid), 0) FROM indicators", null);
        var observed = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1));
        var clock = Stopwatch.StartNew();
        using (var call = client.Submit(cancellationToken: ct))
        {
            for (var first = 0; first < sightings; first += BatchSize)
            {
                var batch = new IngestBatch { BatchId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()) };
                for (var i = first; i < Math.Min(sightings, first + BatchSize); i++)
                {
                    batch.Sightings.Add(new Sighting
                    {
                        Type = IndicatorType.Domain,
                        Value = $"{label}-{i}.good.example",
                        Tlp = Tlp.Green,
                        Confidence = 80,
                        ObservedAt = observed,
                        Count = 1,
                    });
                }

                await call.RequestStream.WriteAsync(batch, ct);
                if (!await call.ResponseStream.MoveNext(ct))
                {
                    throw new InvalidOperationException("A ended the good agent's stream without an answer");
                }

                var refused = call.ResponseStream.Current.Items.Count(item => item.Outcome != ItemOutcome.Accepted);
                if (refused > 0)
                {
                    throw new InvalidOperationException($"A did not accept {refused} of the good agent's sightings");
                }
            }

            await call.RequestStream.CompleteAsync();
            while (await call.ResponseStream.MoveNext(ct))
            {
            }
        }

        var ingest = clock.Elapsed;
        var pattern = label + "-%";
        while (Scalar(watch, "SELECT COUNT(*) FROM indicators WHERE rid > $mark AND value LIKE $pattern", (mark, pattern)) < sightings)
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new TimeoutException($"B did not receive the {sightings:N0} sightings of run {label} within 2 minutes");
            }

            await Task.Delay(5, ct);
        }

        return (ingest, clock.Elapsed);
    }

    private static long Scalar(SqliteConnection connection, string sql, (long Mark, string Pattern)? parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (parameters is { } p)
        {
            command.Parameters.AddWithValue("$mark", p.Mark);
            command.Parameters.AddWithValue("$pattern", p.Pattern);
        }

        return (long)command.ExecuteScalar()!;
    }

    private static TimeSpan Median(List<TimeSpan> values) => values.Order().ElementAt(values.Count / 2);

    private static string Ms(List<TimeSpan> values) =>
        $"median {Median(values).TotalMilliseconds:F0} ms ({string.Join(", ", values.Select(v => v.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture)))})";

    internal static string Markdown(IReadOnlyList<Phase> phases, int sightings)
    {
        var names = phases.SelectMany(p => p.Cores.Keys).Distinct().ToList();
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"| phase | good agent ingest, {sightings:N0} sightings (median, ms) | until all at B (median, ms) | ");
        text.AppendJoin(" | ", names.Select(n => $"CPU {n} (cores)")).AppendLine(" |");
        text.Append("|---|---:|---:|").AppendJoin("", names.Select(_ => "---:|")).AppendLine();
        foreach (var phase in phases)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {phase.Name} | {Median(phase.Ingest).TotalMilliseconds:N0} | {Median(phase.Exchange).TotalMilliseconds:N0} | ");
            text.AppendJoin(" | ", names.Select(n => phase.Cores.TryGetValue(n, out var c) ? c.ToString("F2", CultureInfo.InvariantCulture) : "–")).AppendLine(" |");
        }

        return text.ToString().TrimEnd();
    }
}
