using BenchmarkDotNet.Attributes;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Policy;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Benchmarks.Pipeline;

/// <summary>
/// The per-indicator managed work on the e2e path, over the load tool's mix (domain, IPv6, URL, SHA-256; sensor, two
/// context entries and a tag per sighting), 1,000 indicators per operation: validating agent sightings at the origin,
/// the outbound policy with the default redaction (full evaluation with rule details, and the dispatcher's path), the audit details of a 1,000-indicator bundle, and the receiver's
/// inbound policy (re-validation and trust weight). Divide by 1,000 for per-indicator figures.
/// Run: dotnet run -c Release --project bench/CyberCoop.Benchmarks -- --filter '*DispatchPathBenchmarks*'
/// </summary>
[MemoryDiagnoser]
public class DispatchPathBenchmarks
{
    private const int Count = 1_000;
    private const string Node = "spiffe://ee.cybercoop/gateway/tallinn";
    private readonly SightingValidator _validator = new(TimeProvider.System);
    private readonly OutboundPolicyEvaluator _outbound = new();
    private readonly InboundPolicyEvaluator _inbound = new(TimeProvider.System);
    private readonly OutboundPolicy _policy = new();
    private readonly InboundPolicy _inboundPolicy = new();
    private readonly RelayContext _relay = new() { HopCount = 0, BundleRelayAllowed = false, Origin = Node, Sender = Node };
    private Sighting[] _sightings = [];
    private Indicator[] _indicators = [];
    private string[] _ids = [];

    [GlobalSetup]
    public void Setup()
    {
        var observedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1));
        _sightings = new Sighting[Count];
        for (var i = 0; i < Count; i++)
        {
            var n = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var (type, value) = (i % 4) switch
            {
                0 => (IndicatorType.Domain, $"c2-{n}.bench.example"),
                1 => (IndicatorType.Ipv6, $"fd12:3456:7800::{i:x}"),
                2 => (IndicatorType.Url, $"http://dl.bench.example/payload/{n}.bin?id={n}"),
                _ => (IndicatorType.Sha256, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i)))),
            };
            var sighting = new Sighting { Type = type, Value = value, Tlp = Tlp.Green, Confidence = 70, ObservedAt = observedAt, Sensor = "suricata-dmz", Count = 1 };
            sighting.Tags.Add("load-test");
            sighting.Context["signature"] = "ET MALWARE load test";
            sighting.Context["internal_host"] = $"ws-{i % 500}.internal";
            _sightings[i] = sighting;
        }

        _indicators = [.. _sightings.Select(s => _validator.Validate(s, Node, "agent-1").Indicator!)];
        _ids = [.. _indicators.Select(i => i.Id)];
    }

    [Benchmark]
    public int ValidateSightings()
    {
        var valid = 0;
        foreach (var sighting in _sightings)
        {
            valid += _validator.Validate(sighting, Node, "agent-1").IsValid ? 1 : 0;
        }

        return valid;
    }

    [Benchmark]
    public int OutboundPolicyAndRedaction()
    {
        var shared = 0;
        var now = DateTimeOffset.UtcNow;
        foreach (var indicator in _indicators)
        {
            shared += _outbound.Evaluate(indicator, _policy, now).Redacted is null ? 0 : 1;
        }

        return shared;
    }

    /// <summary>What OutboundDispatcher.Plan runs per indicator: the decision without rule details, the compiled redaction.</summary>
    [Benchmark]
    public int DispatcherDecideAndRedact()
    {
        var shared = 0;
        var now = DateTimeOffset.UtcNow;
        var mask = OutboundPolicyEvaluator.MaskOf(_policy.Redact);
        foreach (var indicator in _indicators)
        {
            if (OutboundPolicyEvaluator.Decide(indicator, _policy, now, out _) == OutboundDecision.SharedReason)
            {
                shared += OutboundPolicyEvaluator.Redact(indicator, mask).Observations.Count;
            }
        }

        return shared;
    }

    [Benchmark]
    public int Redact()
    {
        var sensors = 0;
        foreach (var indicator in _indicators)
        {
            sensors += OutboundPolicyEvaluator.Redact(indicator, _policy.Redact).Observations[0].Sensor.Length;
        }

        return sensors;
    }

    [Benchmark]
    public int AuditDetailsOfBundle() => AuditDetails.Indicators(_ids).Length;

    [Benchmark]
    public int InboundPolicy()
    {
        var accepted = 0;
        foreach (var indicator in _indicators)
        {
            accepted += _inbound.Evaluate(indicator, _inboundPolicy, _relay).Action == InboundAction.Accept ? 1 : 0;
        }

        return accepted;
    }
}
