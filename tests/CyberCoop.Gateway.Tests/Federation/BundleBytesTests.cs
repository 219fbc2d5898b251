using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Federation;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Tests.Federation;

/// <summary>The dispatcher writes bundles itself (each indicator's size computed once); the bytes must be the generated code's.</summary>
public sealed class BundleBytesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private static List<Indicator> Indicators(int count, int seed)
    {
        var random = new Random(seed);
        var list = new List<Indicator>();
        for (var i = 0; i < count; i++)
        {
            var indicator = new Indicator
            {
                Id = Guid.NewGuid().ToString("D"),
                Type = (IndicatorType)random.Next(1, 15),
                Value = new string('v', random.Next(1, 400)) + "ü€" + i,
                Tlp = (Tlp)random.Next(0, 6),
                Confidence = (uint)random.Next(0, 101),
                FirstSeen = random.Next(2) == 0 ? null : Timestamp.FromDateTimeOffset(Now.AddSeconds(-random.Next(100_000))),
                LastSeen = Timestamp.FromDateTimeOffset(Now),
                Description = random.Next(3) == 0 ? string.Empty : new string('d', random.Next(0, 300)),
                OriginDomain = "ee.cybercoop",
            };
            indicator.Tags.Add(Enumerable.Range(0, random.Next(0, 5)).Select(t => $"tag-{t}"));
            for (var o = random.Next(0, 4); o > 0; o--)
            {
                var observation = new Observation { Node = "spiffe://ee.cybercoop/gateway/a", Count = (uint)random.Next(0, 1_000_000), Confidence = 50 };
                for (var c = random.Next(0, 40); c > 0; c--)
                {
                    observation.Context[$"key-{c}"] = new string('c', random.Next(0, 256));
                }

                indicator.Observations.Add(observation);
            }

            list.Add(indicator);
        }

        return list;
    }

    private static Bundle Header(bool relay, uint maxHops, string firstRecipient) => new()
    {
        BundleId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()),
        Origin = "spiffe://ee.cybercoop/gateway/tallinn",
        CreatedAt = Timestamp.FromDateTimeOffset(Now),
        RelayAllowed = relay,
        MaxHops = maxHops,
        FirstRecipient = firstRecipient,
    };

    [Theory]
    [InlineData(0, true, 3u, "spiffe://lv.cybercoop/gateway/riga")]
    [InlineData(1, false, 0u, "")]
    [InlineData(7, false, 0u, "spiffe://lv.cybercoop/gateway/riga")]
    [InlineData(300, true, 200u, "")]
    [InlineData(1000, true, 1u, "spiffe://lv.cybercoop/gateway/riga")]
    public void Bundle_bytes_are_those_of_the_generated_serializer(int count, bool relay, uint maxHops, string firstRecipient)
    {
        var indicators = Indicators(count, seed: count);
        var bundle = Header(relay, maxHops, firstRecipient);
        var expected = bundle.Clone();
        expected.Indicators.Add(indicators);

        var bytes = OutboundDispatcher.SerializeBundle(bundle, indicators);

        Assert.Equal(expected.ToByteArray(), bytes);
        Assert.Equal(expected, Bundle.Parser.ParseFrom(bytes));
        Assert.Empty(bundle.Indicators);
    }

    [Fact]
    public void Bundle_that_already_carries_indicators_is_refused()
    {
        var bundle = Header(false, 0, "");
        bundle.Indicators.Add(Indicators(1, seed: 1));

        Assert.Throws<ArgumentException>(() => OutboundDispatcher.SerializeBundle(bundle, Indicators(2, seed: 2)));
    }
}
