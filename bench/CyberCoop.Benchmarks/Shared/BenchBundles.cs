using System.Globalization;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Benchmarks.Shared;

/// <summary>
/// Bundles of validated indicators shaped like agent output (a domain sighting with sensor, tag and context, as the
/// load tool sends), so that serialization, signature and envelope benchmarks measure the sizes a gateway really
/// handles: 1 indicator ≈ 0.3 KB, 100 ≈ 30 KB, 1,000 ≈ 300 KB.
/// </summary>
internal static class BenchBundles
{
    public const string Origin = "spiffe://ee.cybercoop/gateway/tallinn";

    public const string Recipient = "spiffe://fi.cybercoop/gateway/helsinki";

    /// <summary>The serialized bytes of <see cref="Create"/>: what a gateway signs and seals.</summary>
    public static byte[] Serialized(int indicators) => Create(indicators).ToByteArray();

    /// <summary>A bundle of <paramref name="indicators"/> indicators, validated by the gateway's own validator.</summary>
    public static Bundle Create(int indicators)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(indicators);
        var validator = new SightingValidator(TimeProvider.System);
        var observed = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1));
        var bundle = new Bundle
        {
            BundleId = ByteString.CopyFrom(new byte[16]),
            Origin = Origin,
            CreatedAt = observed,
            FirstRecipient = Recipient,
        };
        for (var i = 0; i < indicators; i++)
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
            var outcome = validator.Validate(sighting, Origin, "agent-1");
            bundle.Indicators.Add(outcome.Indicator ?? throw new InvalidOperationException("bench sighting rejected: " + outcome.Error));
        }

        return bundle;
    }
}
