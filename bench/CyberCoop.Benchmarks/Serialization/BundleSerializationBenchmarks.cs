using System.Globalization;
using BenchmarkDotNet.Attributes;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Benchmarks.Serialization;

/// <summary>
/// Protobuf cost of a bundle per size: serialize (what the origin does before signing) and parse (what the receiver
/// does after opening), for bundles of validated indicators shaped like agent output (observation with context).
/// Run: dotnet run -c Release --project bench/CyberCoop.Benchmarks -- --filter '*BundleSerialization*'
/// </summary>
[MemoryDiagnoser]
public class BundleSerializationBenchmarks
{
    private const string Node = "spiffe://ee.cybercoop/gateway/tallinn";
    private Bundle _bundle = new();
    private byte[] _bytes = [];

    [Params(1, 100, 1_000)]
    public int Indicators { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var validator = new SightingValidator(TimeProvider.System);
        var observed = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1));
        _bundle = new Bundle
        {
            BundleId = ByteString.CopyFrom(new byte[16]),
            Origin = Node,
            CreatedAt = observed,
            FirstRecipient = "spiffe://fi.cybercoop/gateway/helsinki",
        };
        for (var i = 0; i < Indicators; i++)
        {
            var n = i.ToString(CultureInfo.InvariantCulture);
            var sighting = new Sighting
            {
                Type = IndicatorType.Domain,
                Value = "c2-" + n + ".bench.example",
                Tlp = Tlp.Green,
                Confidence = 70,
                ObservedAt = observed,
                Sensor = "suricata-dmz",
                Count = 1,
                Tags = { "c2" },
                Context = { ["signature"] = "ET MALWARE bench", ["internal_host"] = "ws-" + n + ".internal" },
            };
            _bundle.Indicators.Add(validator.Validate(sighting, Node, "agent-1").Indicator!);
        }

        _bytes = _bundle.ToByteArray();
    }

    [Benchmark]
    public byte[] Serialize() => _bundle.ToByteArray();

    [Benchmark]
    public Bundle Parse() => Bundle.Parser.ParseFrom(_bytes);
}
