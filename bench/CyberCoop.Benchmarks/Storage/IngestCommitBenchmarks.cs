using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Benchmarks.Storage;

/// <summary>
/// Throughput of the ingest path for 10,000-sighting batches on a real SQLite file:
/// <c>CommitNew</c> = store only (all new indicators), <c>CommitMerge</c> = store only (every item merges into an
/// existing record), <c>ValidateAndCommit</c> = SightingValidator + store. Reported per indicator
/// (OperationsPerInvoke), so indicators/s = 1 s / Mean.
/// Run: dotnet run -c Release --project bench/CyberCoop.Benchmarks -- --filter '*IngestCommit*'
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 10)]
public class IngestCommitBenchmarks
{
    private const int BatchSize = 10_000;
    private const string Node = "spiffe://ee.cybercoop/gateway/tallinn";

    private readonly SightingValidator _validator = new(TimeProvider.System);
    private string _directory = string.Empty;
    private GatewayStore? _store;
    private ValidationOutcome[] _items = [];
    private Sighting[] _sightings = [];
    private int _batch;

    /// <summary>synchronous=FULL (true, the default) or NORMAL.</summary>
    [Params(true, false)]
    public bool Durable { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "cybercoop-bench", Guid.NewGuid().ToString("N"));
        _store = GatewayStore.OpenAsync(Path.Combine(_directory, "bench.db"), TimeProvider.System, new StoreOptions { DurableAgainstPowerLoss = Durable }, CancellationToken.None).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store!.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_directory, recursive: true);
    }

    [IterationSetup(Targets = [nameof(CommitNew)])]
    public void NewBatch() => _items = MakeItems(++_batch);

    [IterationSetup(Targets = [nameof(CommitMerge)])]
    public void MergeBatch()
    {
        // The same 10,000 values every iteration: after the first, every item merges.
        _batch++;
        _items = MakeItems(0);
    }

    [IterationSetup(Targets = [nameof(ValidateAndCommit)])]
    public void SightingBatch()
    {
        var offset = ++_batch * BatchSize;
        var observed = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1));
        _sightings = new Sighting[BatchSize];
        for (var i = 0; i < BatchSize; i++)
        {
            var n = offset + i;
            _sightings[i] = new Sighting
            {
                Type = IndicatorType.Ipv4,
                Value = $"{(n >> 24) & 255}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}",
                Tlp = Tlp.Green,
                Confidence = 70,
                ObservedAt = observed,
                Sensor = "suricata-dmz",
                Tags = { "c2" },
                Context = { ["signature_id"] = "2031337" },
            };
        }
    }

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public int CommitNew() => Commit(_items);

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public int CommitMerge() => Commit(_items);

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public int ValidateAndCommit()
    {
        var items = new ValidationOutcome[_sightings.Length];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = _validator.Validate(_sightings[i], Node, "agent-1");
        }

        return Commit(items);
    }

    private int Commit(ValidationOutcome[] items) =>
        _store!.CommitIngestAsync("agent-1", BitConverter.GetBytes(_batch), items, CancellationToken.None).GetAwaiter().GetResult().Results.Count;

    private static ValidationOutcome[] MakeItems(int batch)
    {
        var offset = batch * BatchSize;
        var seen = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1));
        var items = new ValidationOutcome[BatchSize];
        for (var i = 0; i < BatchSize; i++)
        {
            var n = offset + i;
            var value = $"{(n >> 24) & 255}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}";
            items[i] = ValidationOutcome.Valid(new Indicator
            {
                Id = IndicatorIds.Compute(IndicatorType.Ipv4, value),
                Type = IndicatorType.Ipv4,
                Value = value,
                Tlp = Tlp.Green,
                Confidence = 70,
                FirstSeen = seen,
                LastSeen = seen,
                Tags = { "c2" },
                OriginDomain = "ee.cybercoop",
                Observations =
                {
                    new Observation
                    {
                        Node = Node,
                        Sensor = "agent-1/suricata-dmz",
                        Count = 1,
                        Confidence = 70,
                        FirstSeen = seen,
                        LastSeen = seen,
                        Context = { ["signature_id"] = "2031337" },
                    },
                },
            });
        }

        return items;
    }
}
