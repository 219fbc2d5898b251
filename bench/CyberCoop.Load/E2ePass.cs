using System.Collections.Concurrent;
using System.Diagnostics;
using CyberCoop.Contracts.V1;
using Grpc.Core;

namespace CyberCoop.Load;

/// <summary>What one pass (empty stores, or stores pre-populated) measured.</summary>
internal sealed record PassResult
{
    public required long Prestored { get; init; }
    public required Rate IngestRate { get; init; }
    public required Rate EndToEnd { get; init; }
    public required int OfferedRate { get; init; }
    public required Percentiles Latency { get; init; }
    public required Percentiles IngestAck { get; init; }
    public required long RssA { get; init; }
    public required long RssB { get; init; }
    public required long PeakA { get; init; }
    public required long PeakB { get; init; }

    /// <summary>CPU time A and B spent per indicator in the throughput phase (microseconds).</summary>
    public required double CpuPerIndicatorA { get; init; }
    public required double CpuPerIndicatorB { get; init; }

    /// <summary>What A and B wrote (/proc/&lt;pid&gt;/io) during the throughput phase, over the indicators of that phase.</summary>
    public required IoCounters WrittenA { get; init; }
    public required IoCounters WrittenB { get; init; }
    public required long ThroughputIndicators { get; init; }

    /// <summary>A's start-up: process start to listening, and to its answer to the first agent batch (1,000 sightings).</summary>
    public required TimeSpan ListeningA { get; init; }
    public required TimeSpan FirstBatchA { get; init; }

    /// <summary>A's CPU time from process start to the answer to the first batch.</summary>
    public required TimeSpan StartCpuA { get; init; }

    /// <summary>CPU time A and B spent per indicator during the warm-up (the first minute of a fresh process: JIT included).</summary>
    public required double WarmupCpuPerIndicatorA { get; init; }
    public required double WarmupCpuPerIndicatorB { get; init; }
}

/// <summary>
/// One pass against two real gateway processes: start A and B (<c>CyberCoop.Gateway.dll serve --config</c>), warm up
/// until A's bundles reach B, then (a) push indicators as fast as the agent streams can and time ingest at A to
/// committed at B, (b) offer a fixed rate and take each indicator's latency from its send at the driver to its commit
/// at B, (c) sample both gateways' resident set size throughout.
/// </summary>
internal sealed class E2ePass(LoadFederation federation, LoadOptions options, TextWriter log)
{
    public async Task<PassResult> RunAsync(long prestored, string label, CancellationToken ct)
    {
        var startTimeout = TimeSpan.FromSeconds(90);
        var dll = options.GatewayDirectory is { } dir ? Path.GetFullPath(Path.Combine(dir, "CyberCoop.Gateway.dll")) : "CyberCoop.Gateway.dll";
        var (cpusA, cpusB) = Pinning(options.CoresPerGateway);
        await using var b = await ChildProcess.StartAsync("gateway B", dll, ["serve", "--config", federation.B.ConfigPath], federation.B.Port, startTimeout, ct, cpus: cpusB);
        var startA = Stopwatch.StartNew();
        await using var a = await ChildProcess.StartAsync("gateway A", dll, ["serve", "--config", federation.A.ConfigPath], federation.A.Port, startTimeout, ct, cpus: cpusA);
        var listeningA = startA.Elapsed;
        string Diagnostics() => $"--- A:\n{a.Tail}\n--- B:\n{b.Tail}";
        using var sampler = new MemorySampler(a, b);
        using var certificate = federation.A.Certificate("agent");
        using var channel = LoadFederation.Channel(federation.A, certificate);
        var client = new Ingest.IngestClient(channel);
        using var watch = new StoreWatch(federation.B.DatabasePath);

        // Start-up: the first agent batch answered (TLS handshake, JIT or precompiled code of the ingest path, first commit).
        var first = LoadData.Batch(label + "-first", 0, Math.Min(options.IngestBatch, 1_000), DateTimeOffset.UtcNow.AddMinutes(-1));
        if (await SubmitAsync(client, [first], ct) != first.Sightings.Count)
        {
            throw new InvalidOperationException($"A did not accept the first batch\n{Diagnostics()}");
        }

        var firstBatchA = startA.Elapsed;
        var startCpuA = a.CpuTime();

        // Warm-up: JIT, key fetch, the first bundle through.
        var warm = Stopwatch.StartNew();
        var (warmA0, warmB0) = (a.CpuTime(), b.CpuTime());
        await ThroughputAsync(client, label + "-warm", options.WarmupIndicators, watch, Diagnostics, ct);
        var warmCpuA = (a.CpuTime() - warmA0).TotalMicroseconds / options.WarmupIndicators;
        var warmCpuB = (b.CpuTime() - warmB0).TotalMicroseconds / options.WarmupIndicators;
        await log.WriteLineAsync($"  [{label}] gateways up and peered (A pid {a.Id}, B pid {b.Id}; {prestored:N0} indicators stored before start; pinned to CPUs {cpusA ?? "any"} / {cpusB ?? "any"}); A listening after {listeningA.TotalMilliseconds:F0} ms, first batch answered after {firstBatchA.TotalMilliseconds:F0} ms ({startCpuA.TotalMilliseconds:F0} ms CPU); warm-up of {options.WarmupIndicators:N0} took {warm.Elapsed.TotalSeconds:F1} s, CPU per indicator A {warmCpuA:F1} us, B {warmCpuB:F1} us");

        var (cpuA0, cpuB0) = (a.CpuTime(), b.CpuTime());
        var (ioA0, ioB0) = (a.Io(), b.Io());
        var (ingest, endToEnd) = await ThroughputAsync(client, label + "-tput", options.ThroughputIndicators, watch, Diagnostics, ct);
        var cpuA = (a.CpuTime() - cpuA0).TotalMicroseconds / options.ThroughputIndicators;
        var cpuB = (b.CpuTime() - cpuB0).TotalMicroseconds / options.ThroughputIndicators;
        var (ioA, ioB) = (a.Io() - ioA0, b.Io() - ioB0);
        var n = options.ThroughputIndicators;
        await log.WriteLineAsync($"  [{label}] throughput: {n:N0} indicators, ingest {ingest.PerSecond:N0}/s, end to end {endToEnd.PerSecond:N0}/s; CPU per indicator A {cpuA:F1} us, B {cpuB:F1} us; written per indicator A {ioA.WrittenKbPer(n):F2} KB ({ioA.ToStorageKbPer(n):F2} KB dirtied), B {ioB.WrittenKbPer(n):F2} KB ({ioB.ToStorageKbPer(n):F2} KB dirtied)");

        var (latency, ack) = await LatencyAsync(client, label + "-lat", watch, Diagnostics, ct);
        await log.WriteLineAsync($"  [{label}] latency at {options.OfferedRate:N0}/s: p50 {latency.P50:F0} ms, p95 {latency.P95:F0} ms, p99 {latency.P99:F0} ms (max {latency.Max:F0} ms)");

        var (rssA, rssB) = sampler.Max;
        var (_, peakA) = a.Memory();
        var (_, peakB) = b.Memory();
        await b.StopAsync(TimeSpan.FromSeconds(30));
        await a.StopAsync(TimeSpan.FromSeconds(30));
        return new PassResult
        {
            Prestored = prestored,
            IngestRate = ingest,
            EndToEnd = endToEnd,
            OfferedRate = options.OfferedRate,
            Latency = latency,
            IngestAck = ack,
            RssA = rssA,
            RssB = rssB,
            PeakA = peakA,
            PeakB = peakB,
            CpuPerIndicatorA = cpuA,
            CpuPerIndicatorB = cpuB,
            WrittenA = ioA,
            WrittenB = ioB,
            ThroughputIndicators = n,
            ListeningA = listeningA,
            FirstBatchA = firstBatchA,
            StartCpuA = startCpuA,
            WarmupCpuPerIndicatorA = warmCpuA,
            WarmupCpuPerIndicatorB = warmCpuB,
        };
    }

    /// <summary>taskset CPU lists for A and B (see <see cref="LoadOptions.CoresPerGateway"/>).</summary>
    private static (string? A, string? B) Pinning(int? cores)
    {
        if (cores is not { } n)
        {
            return (null, null);
        }

        var machine = Environment.ProcessorCount;
        if (n < 1 || n > machine)
        {
            throw new ArgumentOutOfRangeException(nameof(cores), $"--cores {n}: this machine has {machine} CPUs");
        }

        static string List(int from, int count) => count == 1
            ? from.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{from}-{from + count - 1}");
        return (List(0, n), List(machine - n, n));
    }

    /// <summary>Pushes <paramref name="total"/> new indicators through A's Ingest; rates of ingest at A and of commit at B.</summary>
    private async Task<(Rate Ingest, Rate EndToEnd)> ThroughputAsync(Ingest.IngestClient client, string space, int total, StoreWatch watch, Func<string> diagnostics, CancellationToken ct)
    {
        var observedAt = DateTimeOffset.UtcNow.AddMinutes(-1);
        var batches = new List<IngestBatch>();
        for (var first = 0; first < total; first += options.IngestBatch)
        {
            batches.Add(LoadData.Batch(space, first, Math.Min(options.IngestBatch, total - first), observedAt));
        }

        var mark = watch.MaxRowId();
        var stopwatch = Stopwatch.StartNew();
        var streams = Enumerable.Range(0, options.AgentStreams)
            .Select(s => SubmitAsync(client, batches.Where((_, i) => i % options.AgentStreams == s).ToList(), ct))
            .ToList();
        var accepted = (await Task.WhenAll(streams)).Sum();
        var ingested = stopwatch.Elapsed;
        if (accepted != total)
        {
            throw new InvalidOperationException($"A accepted {accepted} of {total} new indicators\n{diagnostics()}");
        }

        await watch.WaitForAsync(mark, total, options.DrainTimeout, diagnostics, ct);
        return (new Rate(total, ingested), new Rate(total, stopwatch.Elapsed));
    }

    /// <summary>One agent stream with two batches in flight; returns how many items were accepted.</summary>
    private static async Task<int> SubmitAsync(Ingest.IngestClient client, IReadOnlyList<IngestBatch> batches, CancellationToken ct)
    {
        using var call = client.Submit(cancellationToken: ct);
        using var inFlight = new SemaphoreSlim(2, 2);
        var reader = Task.Run(async () =>
        {
            var accepted = 0;
            for (var i = 0; i < batches.Count; i++)
            {
                if (!await call.ResponseStream.MoveNext(ct))
                {
                    throw new InvalidOperationException($"A closed the ingest stream after {i} of {batches.Count} batches");
                }

                accepted += call.ResponseStream.Current.Items.Count(r => r.Outcome == ItemOutcome.Accepted);
                inFlight.Release();
            }

            return accepted;
        }, ct);

        foreach (var batch in batches)
        {
            await inFlight.WaitAsync(ct);
            await call.RequestStream.WriteAsync(batch, ct);
        }

        var result = await reader;
        await call.RequestStream.CompleteAsync();
        return result;
    }

    /// <summary>
    /// Offers <see cref="LoadOptions.OfferedRate"/> indicators/s for <see cref="LoadOptions.LatencyDuration"/> as an
    /// agent would (a small batch every tick, sent on schedule whether or not earlier batches were answered), then
    /// returns each indicator's propagation latency (driver send to commit at B) and the agent's ack latency at A.
    /// </summary>
    private async Task<(Percentiles Propagation, Percentiles Ack)> LatencyAsync(Ingest.IngestClient client, string space, StoreWatch watch, Func<string> diagnostics, CancellationToken ct)
    {
        var total = (long)(options.OfferedRate * options.LatencyDuration.TotalSeconds);
        var mark = watch.MaxRowId();
        var sentAt = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var pending = new ConcurrentQueue<(long WallMs, long Ticks)>();
        var acks = new List<double>();
        using var call = client.Submit(cancellationToken: ct);
        var batches = 0L;
        var reader = Task.Run(async () =>
        {
            while (await call.ResponseStream.MoveNext(ct))
            {
                var now = Stopwatch.GetTimestamp();
                pending.TryDequeue(out var sent);
                acks.Add(Stopwatch.GetElapsedTime(sent.Ticks, now).TotalMilliseconds);
                foreach (var item in call.ResponseStream.Current.Items)
                {
                    if (item.Outcome != ItemOutcome.Accepted)
                    {
                        throw new InvalidOperationException($"A did not accept a new indicator: {item.Outcome} {item.Reason}");
                    }

                    sentAt[item.IndicatorId] = sent.WallMs;
                }
            }
        }, ct);

        var observedAt = DateTimeOffset.UtcNow.AddMinutes(-1);
        var start = Stopwatch.GetTimestamp();
        using var timer = new PeriodicTimer(options.AgentTick);
        long sent = 0;
        while (sent < total && await timer.WaitForNextTickAsync(ct))
        {
            var due = Math.Min(total, (long)(Stopwatch.GetElapsedTime(start).TotalSeconds * options.OfferedRate));
            while (sent < due)
            {
                var n = (int)Math.Min(due - sent, 5_000);
                var batch = LoadData.Batch(space, sent, n, observedAt);
                pending.Enqueue((DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Stopwatch.GetTimestamp()));
                await call.RequestStream.WriteAsync(batch, ct);
                batches++;
                sent += n;
            }
        }

        await call.RequestStream.CompleteAsync();
        await reader;
        await watch.WaitForAsync(mark, total, options.DrainTimeout, diagnostics, ct);
        var latencies = new List<double>((int)total);
        foreach (var (id, committedMs) in watch.RowsAfter(mark))
        {
            if (sentAt.TryGetValue(id, out var sentMs))
            {
                latencies.Add(Math.Max(0, committedMs - sentMs));
            }
        }

        if (latencies.Count != total)
        {
            throw new InvalidOperationException($"matched {latencies.Count} of {total} indicators at B to their send times\n{diagnostics()}");
        }

        return (Percentiles.Of(latencies), Percentiles.Of(acks));
    }

    /// <summary>Samples both gateways' VmRSS every 200 ms and keeps the largest value seen.</summary>
    private sealed class MemorySampler : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private long _maxA;
        private long _maxB;

        public MemorySampler(ChildProcess a, ChildProcess b)
        {
            _loop = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    Sample(a, ref _maxA);
                    Sample(b, ref _maxB);
                    try
                    {
                        await Task.Delay(200, _stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            });
        }

        public (long A, long B) Max => (Interlocked.Read(ref _maxA), Interlocked.Read(ref _maxB));

        private static void Sample(ChildProcess process, ref long max)
        {
            var (rss, _) = process.Memory();
            if (rss > Interlocked.Read(ref max))
            {
                Interlocked.Exchange(ref max, rss);
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _loop.Wait(TimeSpan.FromSeconds(2));
            _stop.Dispose();
        }
    }
}

/// <summary>Latency percentiles in milliseconds.</summary>
internal sealed record Percentiles(int Count, double P50, double P95, double P99, double Max)
{
    public static Percentiles Of(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0)
        {
            return new Percentiles(0, 0, 0, 0, 0);
        }

        var sorted = values.Order().ToArray();
        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return new Percentiles(sorted.Length, At(0.50), At(0.95), At(0.99), sorted[^1]);
    }
}
