using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Policy;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Time.Testing;

namespace CyberCoop.Gateway.Tests.Policy;

public sealed class InboundPolicyEvaluatorTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly InboundPolicyEvaluator _evaluator = new(new FakeTimeProvider(Now));

    private static RelayContext Direct => new() { HopCount = 0, BundleRelayAllowed = false, Origin = "spiffe://ee.cybercoop/gateway/a", Sender = "spiffe://ee.cybercoop/gateway/a" };

    private static RelayContext Relayed(bool allowed, int? maxHops = 2) => new()
    {
        HopCount = 1,
        BundleRelayAllowed = allowed,
        Origin = "spiffe://ee.cybercoop/gateway/a",
        Sender = "spiffe://lv.cybercoop/gateway/b",
        MaxHops = maxHops,
    };

    private static Indicator Received(Tlp tlp = Tlp.Green, uint confidence = 80)
    {
        var seen = Timestamp.FromDateTimeOffset(Now.AddHours(-1));
        return new Indicator
        {
            Id = IndicatorIds.Compute(IndicatorType.Ipv4, "192.0.2.1"),
            Type = IndicatorType.Ipv4,
            Value = "192.0.2.1",
            Tlp = tlp,
            Confidence = confidence,
            FirstSeen = seen,
            LastSeen = seen,
            OriginDomain = "ee.cybercoop",
            Observations = { new Observation { Node = "spiffe://ee.cybercoop/gateway/a", Confidence = confidence, Count = 2, FirstSeen = seen, LastSeen = seen } },
        };
    }

    [Fact]
    public void Accepted_indicator_has_confidence_scaled_by_trust_weight()
    {
        var original = Received(confidence: 80);

        var decision = _evaluator.Evaluate(original, new InboundPolicy { TrustWeight = 0.5 }, Direct);

        Assert.Equal(InboundAction.Accept, decision.Action);
        Assert.Equal(40u, decision.Indicator!.Confidence);
        Assert.Equal(40u, decision.Indicator.Observations[0].Confidence);
        Assert.Equal(80u, original.Confidence);
    }

    [Fact]
    public void Tlp_below_the_floor_is_raised()
    {
        var decision = _evaluator.Evaluate(Received(Tlp.Clear), new InboundPolicy { TlpFloor = Tlp.Amber }, Direct);

        Assert.Equal(Tlp.Amber, decision.Indicator!.Tlp);
    }

    [Fact]
    public void Quarantine_mode_quarantines_instead_of_accepting()
    {
        var decision = _evaluator.Evaluate(Received(), new InboundPolicy { Mode = InboundMode.Quarantine, TrustWeight = 0.2 }, Direct);

        Assert.Equal(InboundAction.Quarantine, decision.Action);
        Assert.Equal("quarantined", decision.Reason);
        Assert.Equal(16u, decision.Indicator!.Confidence);
    }

    [Fact]
    public void Type_not_allowed_is_rejected()
    {
        var decision = _evaluator.Evaluate(Received(), new InboundPolicy { AllowedTypes = [IndicatorType.Sha256] }, Direct);

        Assert.Equal(InboundAction.Reject, decision.Action);
        Assert.Equal("type-not-allowed", decision.Reason);
        Assert.Null(decision.Indicator);
    }

    [Theory]
    [InlineData(Tlp.Amber)]
    [InlineData(Tlp.AmberStrict)]
    [InlineData(Tlp.Red)]
    public void Relayed_content_above_green_is_not_entitled(Tlp tlp)
    {
        var decision = _evaluator.Evaluate(Received(tlp), new InboundPolicy(), Relayed(allowed: true));

        Assert.Equal(InboundAction.Reject, decision.Action);
        Assert.Equal("relay-not-entitled", decision.Reason);
    }

    [Fact]
    public void Relayed_content_the_origin_did_not_allow_to_relay_is_rejected()
    {
        var decision = _evaluator.Evaluate(Received(Tlp.Green), new InboundPolicy(), Relayed(allowed: false));

        Assert.Equal("relay-not-entitled", decision.Reason);
        Assert.Contains("did not allow relay", decision.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Relayed_content_beyond_the_hop_limit_is_rejected()
    {
        var context = Relayed(allowed: true, maxHops: 1) with { HopCount = 2 };

        Assert.Equal("relay-not-entitled", _evaluator.Evaluate(Received(Tlp.Clear), new InboundPolicy(), context).Reason);
    }

    [Fact]
    public void Relayed_green_content_with_relay_allowed_is_accepted()
    {
        Assert.Equal(InboundAction.Accept, _evaluator.Evaluate(Received(Tlp.Green), new InboundPolicy(), Relayed(allowed: true)).Action);
    }

    [Fact]
    public void Amber_received_directly_from_the_origin_is_accepted()
    {
        Assert.Equal(InboundAction.Accept, _evaluator.Evaluate(Received(Tlp.Amber), new InboundPolicy(), Direct).Action);
    }

    [Fact]
    public void Indicator_whose_id_does_not_match_its_value_is_rejected()
    {
        var forged = Received();
        forged.Id = IndicatorIds.Compute(IndicatorType.Ipv4, "192.0.2.99");

        var decision = _evaluator.Evaluate(forged, new InboundPolicy(), Direct);

        Assert.Equal("invalid-indicator", decision.Reason);
        Assert.Contains("id:", decision.Detail, StringComparison.Ordinal);
    }

    public static TheoryData<string, Action<Indicator>> BadReceived => new()
    {
        { "not in canonical form", i => i.Value = " 192.0.2.1" },
        { "not a valid IPv4 address", i => i.Value = "192.0.2.01" },
        { "tlp: is unspecified", i => i.Tlp = Tlp.Unspecified },
        { "type: unknown indicator type 77", i => i.Type = (IndicatorType)77 },
        { "confidence: 101 is above 100", i => i.Confidence = 101 },
        { "first_seen: ", i => i.FirstSeen = new Timestamp { Seconds = 1 } },
        { "last_seen: ", i => i.LastSeen = Timestamp.FromDateTimeOffset(Now.AddDays(3)) },
        { "tags[0]: must be lower case", i => i.Tags.Add("UPPER") },
        { "observations[0].confidence: 300 is above 100", i => i.Observations[0].Confidence = 300 },
        { "observations[1].sensor: contains a control character", i => i.Observations.Add(new Observation { Node = "spiffe://lv.cybercoop/gateway/b", Sensor = "agent\u0007" }) },
        { "observations[1].node: is longer than 256 characters", i => i.Observations.Add(new Observation { Node = new string('n', 300) }) },
        { "observations[1].context: has an empty key", i => i.Observations.Add(new Observation { Node = "n", Context = { [""] = "v" } }) },
        { "observations[1].last_seen: ", i => i.Observations.Add(new Observation { Node = "n", LastSeen = Timestamp.FromDateTimeOffset(Now.AddDays(3)) }) },
        { "description: is longer than 1024 bytes", i => i.Description = new string('x', 2000) },
    };

    [Theory]
    [MemberData(nameof(BadReceived))]
    public void Malformed_received_indicator_is_rejected_naming_the_field(string fragment, Action<Indicator> breakIt)
    {
        var indicator = Received();
        breakIt(indicator);

        var decision = _evaluator.Evaluate(indicator, new InboundPolicy(), Direct);

        Assert.Equal(InboundAction.Reject, decision.Action);
        Assert.Equal("invalid-indicator", decision.Reason);
        Assert.Contains(fragment, decision.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Full_trust_at_or_above_the_floor_accepts_the_received_instance_unchanged()
    {
        var original = Received(Tlp.Amber, confidence: 80);
        var before = original.Clone();

        var decision = _evaluator.Evaluate(original, new InboundPolicy { TrustWeight = 1.0, TlpFloor = Tlp.Green }, Direct);

        Assert.Equal(InboundAction.Accept, decision.Action);
        Assert.Same(original, decision.Indicator);
        Assert.Equal(before, original);
    }

    [Fact]
    public void Partial_trust_or_a_raised_floor_accepts_an_adjusted_copy_and_leaves_the_received_one_untouched()
    {
        var original = Received(Tlp.Clear, confidence: 80);
        var before = original.Clone();

        var weighted = _evaluator.Evaluate(original, new InboundPolicy { TrustWeight = 0.9 }, Direct);
        var floored = _evaluator.Evaluate(original, new InboundPolicy { TlpFloor = Tlp.Green }, Direct);

        Assert.NotSame(original, weighted.Indicator);
        Assert.Equal(72u, weighted.Indicator!.Confidence);
        Assert.Equal(72u, weighted.Indicator.Observations[0].Confidence);
        Assert.NotSame(original, floored.Indicator);
        Assert.Equal(Tlp.Green, floored.Indicator!.Tlp);
        Assert.Equal(80u, floored.Indicator.Confidence);
        Assert.Equal(before, original);
    }

    [Fact]
    public void An_observation_whose_confidence_the_weight_changes_gets_a_copy_even_when_the_indicator_confidence_does_not()
    {
        var original = Received(confidence: 0);
        original.Observations[0].Confidence = 50;

        var decision = _evaluator.Evaluate(original, new InboundPolicy { TrustWeight = 0.5 }, Direct);

        Assert.NotSame(original, decision.Indicator);
        Assert.Equal(25u, decision.Indicator!.Observations[0].Confidence);
        Assert.Equal(50u, original.Observations[0].Confidence);
    }
}
