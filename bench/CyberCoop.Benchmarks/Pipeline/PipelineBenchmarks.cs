using BenchmarkDotNet.Attributes;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Policy;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Benchmarks.Pipeline;

/// <summary>
/// Per-indicator CPU cost of the pipeline stages that run for every sighting (validate) and for every
/// (indicator, peer) pair (outbound policy with redaction), and of a merge.
/// Run: dotnet run -c Release --project bench/CyberCoop.Benchmarks -- --filter '*PipelineBenchmarks*'
/// </summary>
[MemoryDiagnoser]
public class PipelineBenchmarks
{
    private const string Node = "spiffe://ee.cybercoop/gateway/tallinn";
    private const string CanonicalUrl = "http://update-check.evil.example/wp-content/plugins/gate.php?id=4411&k=b64";
    private readonly SightingValidator _validator = new(TimeProvider.System);
    private readonly OutboundPolicyEvaluator _outbound = new();
    private readonly OutboundPolicy _policy = new() { MinConfidence = 50, Sectors = ["energy", "finance"], BlockedTags = ["internal"] };
    private Sighting _sighting = new();
    private Indicator _indicator = new();
    private Indicator _other = new();

    [GlobalSetup]
    public void Setup()
    {
        _sighting = new Sighting
        {
            Type = IndicatorType.Url,
            Value = "HTTP://Evil.Example:80/a/../gate.php?id=1#x",
            Tlp = Tlp.Green,
            Confidence = 70,
            ObservedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1)),
            Sensor = "suricata-dmz",
            Tags = { "c2", "Phishing" },
            Sectors = { "energy" },
            Context = { ["signature_id"] = "2031337" },
        };
        _indicator = _validator.Validate(_sighting, Node, "agent-1").Indicator!;
        _other = _validator.Validate(_sighting, "spiffe://lv.cybercoop/gateway/riga", "agent-9").Indicator!;
    }

    [Benchmark]
    public Indicator? ValidateUrlSighting() => _validator.Validate(_sighting, Node, "agent-1").Indicator;

    /// <summary>A URL as sensors log it, already canonical: recognised by the scan (A of the A/B pair).</summary>
    [Benchmark]
    public string NormalizeCanonicalUrl() => IndicatorNormalizer.Normalize(IndicatorType.Url, CanonicalUrl).Value;

    /// <summary>The same URL through System.Uri, as every URL went before the scan (B of the pair).</summary>
    [Benchmark]
    public string NormalizeCanonicalUrlWithUri() => IndicatorNormalizer.NormalizeUrlWithUri(CanonicalUrl).Value;

    [Benchmark]
    public string NormalizeIpv4() => IndicatorNormalizer.Normalize(IndicatorType.Ipv4, "198.51.100.77").Value;

    [Benchmark]
    public string ComputeId() => IndicatorIds.Compute(IndicatorType.Ipv4, "198.51.100.77");

    [Benchmark]
    public bool EvaluateOutbound() => _outbound.Evaluate(_indicator, _policy, DateTimeOffset.UtcNow).Shared;

    [Benchmark]
    public Indicator Merge() => IndicatorMerger.Merge(_indicator, _other);
}
