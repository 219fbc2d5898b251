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

    /// <summary>Largest RSS sample of A's processes (the larger one when A runs two) and of B.</summary>
    public required long RssA { get; init; }
    public required long RssB { get; init; }
    public required long PeakA { get; init; }
    public required long PeakB { get; init; }

    /// <summary>CPU time A (all its processes) and B spent per indicator in the throughput phase (microseconds).</summary>
    public required double CpuPerIndicatorA { get; init; }
    public required double CpuPerIndicatorB { get; init; }

    /// <summary>What A (all its processes) and B wrote (/proc/&lt;pid&gt;/io) during the throughput phase, over the indicators of that phase.</summary>
    public required IoCounters WrittenA { get; init; }
    public required IoCounters WrittenB { get; init; }
    public required long ThroughputIndicators { get; init; }

    /// <summary>A's start-up (its first process): process start to listening, and to its answer to the first agent batch (1,000 sightings).</summary>
    public TimeSpan ListeningA { get; init; }
    public TimeSpan FirstBatchA { get; init; }

    /// <summary>A's CPU time (its first process) from process start to the answer to the first batch.</summary>
    public TimeSpan StartCpuA { get; init; }

    /// <summary>CPU time A and B spent per indicator during the warm-up (the first minute of a fresh process: JIT included).</summary>
    public double WarmupCpuPerIndicatorA { get; init; }
    public double WarmupCpuPerIndicatorB { get; init; }

    /// <summary>Gateway processes of A that shared the load (2: active-active on one PostgreSQL database).</summary>
    public int ProcessesA { get; init; } = 1;

    /// <summary>CPU of the PostgreSQL server's processes per indicator in the throughput phase (0 on SQLite).</summary>
    public double CpuPerIndicatorServer { get; init; }

    /// <summary>What the PostgreSQL server's processes wrote in the throughput phase (zeros on SQLite).</summary>
    public IoCounters WrittenServer { get; init; }

    /// <summary>Statements (round trips) the PostgreSQL server executed per indicator in the throughput phase, A's and B's together (0 on SQLite).</summary>
    public double StatementsPerIndicator { get; init; }

    /// <summary>The statements executed most often in the throughput phase, with calls per indicator (empty on SQLite).</summary>
    public IReadOnlyList<(double PerIndicator, string Query)> TopStatements { get; init; } = [];
}

/// <summary>
/// One pass against real gateway processes: start B and A (<c>CyberCoop.Gateway.dll serve --config</c>; with
/// <paramref name="processesA"/> 2, two processes of A active-active on its PostgreSQL database, each agent stream and
/// latency batch sent to one of them in turn), warm up until A's bundles reach B, then (a) push indicators as fast as
/// the agent streams can and time ingest at A to committed at B, (b) offer a fixed rate and take each indicator's
/// latency from its send at the driver to its commit at B, (c) sample the gateways' resident set size throughout.
/// After each phase B must hold exactly the indicators sent, each once, each counted once as received from A.
/// With <paramref name="server"/> the PostgreSQL server's CPU time and writes are measured as well.
/// </summary>
internal sealed class E2ePass(LoadFederation federation, LoadOptions options, TextWriter log, PostgresCluster? server = null, int processesA = 1)
{
    public async Task<PassResult> RunAsync(long prestored, string label, CancellationToken ct)
    {
        var startTimeout = TimeSpan.FromSeconds(90);
        var endpointsA = new List<(string Config, int Port)> { (federation.A.ConfigPath, federation.A.Port) };
        if (processesA == 2)
        {
            endpointsA.Add(LoadFederation.WriteSecondProcess(federation.A));
        }
        else if (processesA != 1)
        {
            throw new ArgumentOutOfRangeException(nameof(processesA), processesA, "one or two processes of A");
        }

        var dll = options.GatewayDirectory is { } dir
            ? LoadOptions.GatewayProgram(dir) ?? throw new FileNotFoundException($"no gateway program in '{dir}'")
            : "CyberCoop.Gateway.dll";
        var (cpusA, cpusB) = Pinning(options.CoresPerGateway);
        await using var b = await ChildProcess.StartAsync("gateway B", dll, ["serve", "--config", federation.B.ConfigPath], federation.B.Port, startTimeout, ct, cpus: cpusB);
        var a = new List<ChildProcess>();
        try
        {
            var startA = Stopwatch.StartNew();
            var listeningA = TimeSpan.Zero;
            foreach (var (config, port) in endpointsA)
            {
                a.Add(await ChildProcess.StartAsync($"gateway A{a.Count + 1}", dll, ["serve", "--config", config], port, startTimeout, ct, cpus: cpusA));
                listeningA = listeningA == TimeSpan.Zero ? startA.Elapsed : listeningA;
            }

            await log.WriteLineAsync($"  [{label}] gateways pinned to CPUs {cpusA ?? "any"} (A) / {cpusB ?? "any"} (B); {(options.GatewayDirectory is null ? "build beside the load tool" : dll)}");
            return await MeasureAsync(a, b, endpointsA, prestored, label, (startA, listeningA), ct);
        }
        finally
        {
            foreach (var process in a)
            {
                await process.DisposeAsync();
            }
        }
    }

    private async Task<PassResult> MeasureAsync(List<ChildProcess> a, ChildProcess b, List<(string Config, int Port)> endpointsA, long prestored, string label,
        (Stopwatch Since, TimeSpan Listening) startA, CancellationToken ct)
    {
        string Diagnostics() => string.Concat(a.Select(p => $"--- {p.Name}:\n{p.Tail}\n")) + $"--- B:\n{b.Tail}";
        using var sampler = new MemorySampler(a, b);
        using var certificate = federation.A.Certificate("agent");
        var channels = endpointsA.Select(e => LoadFederation.Channel(federation.A, certificate, $"https://127.0.0.1:{e.Port}")).ToList();
        try
        {
            var clients = channels.Select(c => new Ingest.IngestClient(c)).ToList();
            using var watch = StoreWatch.Of(federation.B);

            // Start-up: the first agent batch answered by A's first process (TLS handshake, JIT or precompiled code of the
            // ingest path, first commit). Not counted by the store watch: B receives it with the warm-up.
            var first = LoadData.Batch(label + "-first", 0, Math.Min(options.IngestBatch, 1_000), DateTimeOffset.UtcNow.AddMinutes(-1));
            var beforeFirst = watch.MaxRowId();
            if (await SubmitAsync(clients[0], [first], ct) != first.Sightings.Count)
            {
                throw new InvalidOperationException($"A did not accept the first batch\n{Diagnostics()}");
            }

            var firstBatchA = startA.Since.Elapsed;
            var startCpuA = a[0].CpuTime();
            // It reaches B before the warm-up starts, so the warm-up's exact count at B holds only the warm-up's indicators.
            await watch.WaitForAsync(beforeFirst, first.Sightings.Count, options.DrainTimeout, Diagnostics, ct);

            TimeSpan CpuA() => a.Aggregate(TimeSpan.Zero, (sum, p) => sum + p.CpuTime());

            // Warm-up: JIT, key fetch, the first bundle through.
            var warm = Stopwatch.StartNew();
            var (warmA0, warmB0) = (CpuA(), b.CpuTime());
            await ThroughputAsync(clients, label + "-warm", options.WarmupIndicators, watch, Diagnostics, ct);
            var warmCpuA = (CpuA() - warmA0).TotalMicroseconds / options.WarmupIndicators;
            var warmCpuB = (b.CpuTime() - warmB0).TotalMicroseconds / options.WarmupIndicators;
            await log.WriteLineAsync($"  [{label}] gateways up and peered (A pid {string.Join(", ", a.Select(p => p.Id))}, B pid {b.Id}; {prestored:N0} indicators stored before start); A listening after {startA.Listening.TotalMilliseconds:F0} ms, first batch answered after {firstBatchA.TotalMilliseconds:F0} ms ({startCpuA.TotalMilliseconds:F0} ms CPU); warm-up of {options.WarmupIndicators:N0} took {warm.Elapsed.TotalSeconds:F1} s, CPU per indicator A {warmCpuA:F1} us, B {warmCpuB:F1} us");

            IoCounters IoA() => a.Aggregate(default(IoCounters), (sum, p) => Add(sum, p.Io()));
            var (cpuA0, cpuB0) = (CpuA(), b.CpuTime());
            var (ioA0, ioB0) = (IoA(), b.Io());
            server?.ResetStatements();
            var (cpuS0, ioS0) = server?.Usage() ?? default;
            var (ingest, endToEnd) = await ThroughputAsync(clients, label + "-tput", options.ThroughputIndicators, watch, Diagnostics, ct);
            var n = options.ThroughputIndicators;
            var cpuA = (CpuA() - cpuA0).TotalMicroseconds / n;
            var cpuB = (b.CpuTime() - cpuB0).TotalMicroseconds / n;
            var (ioA, ioB) = (IoA() - ioA0, b.Io() - ioB0);
            var (cpuS1, ioS1) = server?.Usage() ?? default;
            var cpuS = (cpuS1 - cpuS0).TotalMicroseconds / n;
            var statements = (server?.StatementCalls() ?? 0) / (double)n;
            var top = server?.TopStatements(12).Select(t => (t.Calls / (double)n, t.Query)).ToList() ?? [];
            var ioS = ioS1 - ioS0;
            var serverText = server is null ? "" : $"; PostgreSQL server CPU {cpuS:F1} us, written {ioS.WrittenKbPer(n):F2} KB ({ioS.ToStorageKbPer(n):F2} KB dirtied), {statements:F1} statements per indicator";
            await log.WriteLineAsync($"  [{label}] throughput: {n:N0} indicators, ingest {ingest.PerSecond:N0}/s, end to end {endToEnd.PerSecond:N0}/s; CPU per indicator A {cpuA:F1} us, B {cpuB:F1} us; written per indicator A {ioA.WrittenKbPer(n):F2} KB ({ioA.ToStorageKbPer(n):F2} KB dirtied), B {ioB.WrittenKbPer(n):F2} KB ({ioB.ToStorageKbPer(n):F2} KB dirtied){serverText}");

            foreach (var (perIndicator, query) in top)
            {
                await log.WriteLineAsync($"    {perIndicator,7:F3} per indicator: {(query.Length > 150 ? query[..150] + " ..." : query)}");
            }

            var (latency, ack) = await LatencyAsync(clients, label + "-lat", watch, Diagnostics, ct);
            await log.WriteLineAsync($"  [{label}] latency at {options.OfferedRate:N0}/s: p50 {latency.P50:F0} ms, p95 {latency.P95:F0} ms, p99 {latency.P99:F0} ms (max {latency.Max:F0} ms)");

            var (rssA, rssB) = sampler.Max;
            var peakA = a.Max(p => p.Memory().Peak);
            var (_, peakB) = b.Memory();
            await b.StopAsync(TimeSpan.FromSeconds(30));
            foreach (var process in a)
            {
                await process.StopAsync(TimeSpan.FromSeconds(30));
            }

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
                ListeningA = startA.Listening,
                FirstBatchA = firstBatchA,
                StartCpuA = startCpuA,
                WarmupCpuPerIndicatorA = warmCpuA,
                WarmupCpuPerIndicatorB = warmCpuB,
                ProcessesA = a.Count,
                CpuPerIndicatorServer = cpuS,
                WrittenServer = ioS,
                StatementsPerIndicator = statements,
                TopStatements = top,
            };
        }
        finally
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }
        }
    }

    private static IoCounters Add(IoCounters x, IoCounters y) => new(x.Written + y.Written, x.ToStorage + y.ToStorage);

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
    private async Task<(Rate Ingest, Rate EndToEnd)> ThroughputAsync(IReadOnlyList<Ingest.IngestClient> clients, string space, int total, StoreWatch watch, Func<string> diagnostics, CancellationToken ct)
    {
        var observedAt = DateTimeOffset.UtcNow.AddMinutes(-1);
        var batches = new List<IngestBatch>();
        for (var first = 0; first < total; first += options.IngestBatch)
        {
            batches.Add(LoadData.Batch(space, first, Math.Min(options.IngestBatch, total - first), observedAt));
        }

        var mark = watch.MaxRowId();
        var receivedBefore = watch.ReceivedFrom(federation.A.GatewayId);
        var stopwatch = Stopwatch.StartNew();
        // At least one stream per process of A; stream s goes to process s mod processes.
        var streamCount = Math.Max(options.AgentStreams, clients.Count);
        var streams = Enumerable.Range(0, streamCount)
            .Select(s => SubmitAsync(clients[s % clients.Count], batches.Where((_, i) => i % streamCount == s).ToList(), ct))
            .ToList();
        var accepted = (await Task.WhenAll(streams)).Sum();
        var ingested = stopwatch.Elapsed;
        if (accepted != total)
        {
            throw new InvalidOperationException($"A accepted {accepted} of {total} new indicators\n{diagnostics()}");
        }

        await watch.WaitForAsync(mark, total, options.DrainTimeout, diagnostics, ct);
        var elapsed = stopwatch.Elapsed;
        watch.AssertExactly(mark, receivedBefore, federation.A.GatewayId, total, space, diagnostics);
        return (new Rate(total, ingested), new Rate(total, elapsed));
    }

    /// <summary>One agent stream with two batches in flight; returns how many items were accepted.</summary>
    private static async Task<int> SubmitAsync(Ingest.IngestClient client, IReadOnlyList<IngestBatch> batches, CancellationToken ct)
    {
        using var call = client.Submit(cancellationToken: ct);
        using var inFlight = new SemaphoreSlim(2, 2);
        // A failed stream ends the writer below too (it would otherwise wait for a window the reader never frees).
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(ct);
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
        _ = reader.ContinueWith(
            _ =>
            {
                try
                {
                    failed.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // The submission already ended.
                }
            },
            CancellationToken.None, TaskContinuationOptions.NotOnRanToCompletion, TaskScheduler.Default);

        try
        {
            foreach (var batch in batches)
            {
                await inFlight.WaitAsync(failed.Token);
                await call.RequestStream.WriteAsync(batch, failed.Token);
            }
        }
        catch (OperationCanceledException) when (reader.IsFaulted)
        {
            // The reader's error (A ended the stream) is the one to report.
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
    private async Task<(Percentiles Propagation, Percentiles Ack)> LatencyAsync(IReadOnlyList<Ingest.IngestClient> clients, string space, StoreWatch watch, Func<string> diagnostics, CancellationToken ct)
    {
        var total = (long)(options.OfferedRate * options.LatencyDuration.TotalSeconds);
        var mark = watch.MaxRowId();
        var receivedBefore = watch.ReceivedFrom(federation.A.GatewayId);
        var sentAt = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var acks = new ConcurrentBag<double>();
        // One agent stream per process of A; batches go to them in turn.
        var calls = clients.Select(c => (Call: c.Submit(cancellationToken: ct), Pending: new ConcurrentQueue<(long WallMs, long Ticks)>())).ToList();
        try
        {
            var readers = calls.Select(c => Task.Run(async () =>
            {
                while (await c.Call.ResponseStream.MoveNext(ct))
                {
                    var now = Stopwatch.GetTimestamp();
                    c.Pending.TryDequeue(out var sent);
                    acks.Add(Stopwatch.GetElapsedTime(sent.Ticks, now).TotalMilliseconds);
                    foreach (var item in c.Call.ResponseStream.Current.Items)
                    {
                        if (item.Outcome != ItemOutcome.Accepted)
                        {
                            throw new InvalidOperationException($"A did not accept a new indicator: {item.Outcome} {item.Reason}");
                        }

                        sentAt[item.IndicatorId] = sent.WallMs;
                    }
                }
            }, ct)).ToList();

            var observedAt = DateTimeOffset.UtcNow.AddMinutes(-1);
            var start = Stopwatch.GetTimestamp();
            using var timer = new PeriodicTimer(options.AgentTick);
            long sent = 0;
            var batches = 0;
            while (sent < total && await timer.WaitForNextTickAsync(ct))
            {
                var due = Math.Min(total, (long)(Stopwatch.GetElapsedTime(start).TotalSeconds * options.OfferedRate));
                while (sent < due)
                {
                    var n = (int)Math.Min(due - sent, 5_000);
                    var batch = LoadData.Batch(space, sent, n, observedAt);
                    var (call, pending) = calls[batches++ % calls.Count];
                    pending.Enqueue((DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Stopwatch.GetTimestamp()));
                    await call.RequestStream.WriteAsync(batch, ct);
                    sent += n;
                }
            }

            foreach (var (call, _) in calls)
            {
                await call.RequestStream.CompleteAsync();
            }

            await Task.WhenAll(readers);
        }
        finally
        {
            foreach (var (call, _) in calls)
            {
                call.Dispose();
            }
        }

        await watch.WaitForAsync(mark, total, options.DrainTimeout, diagnostics, ct);
        watch.AssertExactly(mark, receivedBefore, federation.A.GatewayId, total, space, diagnostics);
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

        return (Percentiles.Of(latencies), Percentiles.Of(acks.ToList()));
    }

    /// <summary>Samples the gateways' VmRSS every 200 ms and keeps the largest value seen (of A's processes, and of B).</summary>
    private sealed class MemorySampler : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private long _maxA;
        private long _maxB;

        public MemorySampler(IReadOnlyList<ChildProcess> a, ChildProcess b)
        {
            _loop = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    foreach (var process in a)
                    {
                        Sample(process, ref _maxA);
                    }

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
