using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Tests.Pipeline;

public sealed class IndicatorMergerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    internal static Indicator Make(Tlp tlp, string node, string sensor, uint count, uint confidence, DateTimeOffset seen, params string[] tags)
    {
        var ts = Timestamp.FromDateTimeOffset(seen);
        var indicator = new Indicator
        {
            Id = IndicatorIds.Compute(IndicatorType.Ipv4, "192.0.2.1"),
            Type = IndicatorType.Ipv4,
            Value = "192.0.2.1",
            Tlp = tlp,
            Confidence = confidence,
            FirstSeen = ts,
            LastSeen = ts,
            OriginDomain = "ee.cybercoop",
        };
        indicator.Tags.Add(tags);
        indicator.Observations.Add(new Observation { Node = node, Sensor = sensor, Count = count, Confidence = confidence, FirstSeen = ts, LastSeen = ts });
        return indicator;
    }

    [Fact]
    public void Merge_never_lowers_the_tlp()
    {
        var existing = Make(Tlp.Red, "n1", "s1", 1, 50, T0);
        var incoming = Make(Tlp.Clear, "n2", "s2", 1, 50, T0);

        Assert.Equal(Tlp.Red, IndicatorMerger.Merge(existing, incoming).Tlp);
        Assert.Equal(Tlp.Red, IndicatorMerger.Merge(incoming, existing).Tlp);
    }

    [Fact]
    public void Observations_of_different_sources_are_all_kept()
    {
        var existing = Make(Tlp.Green, "spiffe://ee.cybercoop/gateway/a", "agent/s1", 2, 60, T0);
        var incoming = Make(Tlp.Green, "spiffe://lv.cybercoop/gateway/b", "agent/s1", 5, 70, T0.AddHours(1));

        var merged = IndicatorMerger.Merge(existing, incoming);

        Assert.Equal(2, merged.Observations.Count);
        Assert.Equal(T0, merged.FirstSeen.ToDateTimeOffset());
        Assert.Equal(T0.AddHours(1), merged.LastSeen.ToDateTimeOffset());
    }

    [Fact]
    public void Same_source_accumulates_counts_and_widens_its_window()
    {
        var existing = Make(Tlp.Green, "n1", "s1", 2, 60, T0.AddHours(1));
        var incoming = Make(Tlp.Green, "n1", "s1", 3, 40, T0);

        var merged = IndicatorMerger.Merge(existing, incoming);

        var observation = Assert.Single(merged.Observations);
        Assert.Equal(5u, observation.Count);
        Assert.Equal(T0, observation.FirstSeen.ToDateTimeOffset());
        Assert.Equal(T0.AddHours(1), observation.LastSeen.ToDateTimeOffset());
        Assert.Equal(60u, observation.Confidence); // the older sighting does not override the newer assessment
    }

    [Fact]
    public void Latest_state_merge_keeps_the_larger_count_so_redelivery_does_not_inflate()
    {
        var existing = Make(Tlp.Green, "n1", "s1", 7, 60, T0);
        var incoming = Make(Tlp.Green, "n1", "s1", 7, 60, T0);

        var merged = IndicatorMerger.Merge(existing, incoming, 1.0, ObservationMerge.LatestState);

        Assert.Equal(7u, Assert.Single(merged.Observations).Count);
    }

    [Fact]
    public void Confidence_is_the_noisy_or_of_trust_weighted_sources()
    {
        // 1 - (1 - 0.6)(1 - 0.5*0.8) = 1 - 0.4*0.6 = 0.76
        var existing = Make(Tlp.Green, "n1", "s1", 1, 60, T0);
        var incoming = Make(Tlp.Green, "n2", "s2", 1, 80, T0);

        var merged = IndicatorMerger.Merge(existing, incoming, 0.5);

        Assert.Equal(76u, merged.Confidence);
        Assert.Equal(40u, merged.Observations[1].Confidence);
    }

    [Fact]
    public void A_source_repeating_itself_does_not_raise_confidence()
    {
        var existing = Make(Tlp.Green, "n1", "s1", 1, 50, T0);
        var merged = existing;
        for (var i = 0; i < 10; i++)
        {
            merged = IndicatorMerger.Merge(merged, Make(Tlp.Green, "n1", "s1", 1, 50, T0.AddMinutes(i)));
        }

        Assert.Equal(50u, merged.Confidence);
        Assert.Equal(11u, merged.Observations[0].Count);
    }

    [Fact]
    public void Tags_are_united_and_origin_domain_of_the_existing_record_is_kept()
    {
        var existing = Make(Tlp.Green, "n1", "s1", 1, 50, T0, "c2");
        var incoming = Make(Tlp.Green, "n2", "s2", 1, 50, T0, "c2", "apt29");
        incoming.OriginDomain = "lv.cybercoop";

        var merged = IndicatorMerger.Merge(existing, incoming);

        Assert.Equal(["c2", "apt29"], merged.Tags);
        Assert.Equal("ee.cybercoop", merged.OriginDomain);
    }

    [Fact]
    public void Valid_until_takes_the_later_time_and_unset_means_no_expiry()
    {
        var existing = Make(Tlp.Green, "n1", "s1", 1, 50, T0);
        existing.ValidUntil = Timestamp.FromDateTimeOffset(T0.AddDays(1));
        var incoming = Make(Tlp.Green, "n2", "s2", 1, 50, T0);
        incoming.ValidUntil = Timestamp.FromDateTimeOffset(T0.AddDays(2));

        Assert.Equal(T0.AddDays(2), IndicatorMerger.Merge(existing, incoming).ValidUntil.ToDateTimeOffset());
        incoming.ValidUntil = null;
        Assert.Null(IndicatorMerger.Merge(existing, incoming).ValidUntil);
    }

    [Fact]
    public void Inputs_are_not_modified()
    {
        var existing = Make(Tlp.Green, "n1", "s1", 1, 50, T0);
        var incoming = Make(Tlp.Red, "n1", "s1", 4, 90, T0.AddHours(1));
        var existingBefore = existing.Clone();
        var incomingBefore = incoming.Clone();

        _ = IndicatorMerger.Merge(existing, incoming, 0.5);

        Assert.Equal(existingBefore, existing);
        Assert.Equal(incomingBefore, incoming);
    }

    [Fact]
    public void Observations_are_bounded_dropping_the_least_recently_seen()
    {
        var merged = Make(Tlp.Green, "n0", "s", 1, 10, T0);
        for (var i = 1; i <= IndicatorLimits.MaxObservations; i++)
        {
            merged = IndicatorMerger.Merge(merged, Make(Tlp.Green, "n" + i, "s", 1, 10, T0.AddMinutes(i)));
        }

        Assert.Equal(IndicatorLimits.MaxObservations, merged.Observations.Count);
        Assert.DoesNotContain(merged.Observations, o => o.Node == "n0");
    }

    [Fact]
    public void Merging_different_indicators_or_bad_weights_is_refused()
    {
        var a = Make(Tlp.Green, "n1", "s1", 1, 50, T0);
        var b = a.Clone();
        b.Id = IndicatorIds.Compute(IndicatorType.Ipv4, "192.0.2.2");
        b.Value = "192.0.2.2";

        Assert.Throws<ArgumentException>(() => IndicatorMerger.Merge(a, b));
        Assert.Throws<ArgumentOutOfRangeException>(() => IndicatorMerger.Merge(a, a, 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => IndicatorMerger.Merge(a, a, double.NaN));
    }
}
