using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Tests.Storage;

internal static class StoreFixtures
{
    public const string Node = "spiffe://ee.cybercoop/gateway/tallinn";
    public static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    public static Indicator Ipv4(int i, Tlp tlp = Tlp.Green, uint count = 1, string sensor = "agent-1/s", uint confidence = 50)
    {
        var value = $"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}";
        var seen = Timestamp.FromDateTimeOffset(Now.AddMinutes(-10));
        return new Indicator
        {
            Id = IndicatorIds.Compute(IndicatorType.Ipv4, value),
            Type = IndicatorType.Ipv4,
            Value = value,
            Tlp = tlp,
            Confidence = confidence,
            FirstSeen = seen,
            LastSeen = seen,
            OriginDomain = "ee.cybercoop",
            Observations = { new Observation { Node = Node, Sensor = sensor, Count = count, Confidence = confidence, FirstSeen = seen, LastSeen = seen } },
        };
    }

    public static byte[] Id(byte n) => [.. Enumerable.Repeat(n, 16)];
}
