using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Policy;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Tests.Policy;

public sealed class OutboundPolicyEvaluatorTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly OutboundPolicyEvaluator _evaluator = new();

    private static Indicator Indicator(Tlp tlp = Tlp.Green, uint confidence = 80, params string[] tags)
    {
        var seen = Timestamp.FromDateTimeOffset(Now.AddHours(-2));
        var indicator = new Indicator
        {
            Id = IndicatorIds.Compute(IndicatorType.Domain, "evil.example"),
            Type = IndicatorType.Domain,
            Value = "evil.example",
            Tlp = tlp,
            Confidence = confidence,
            FirstSeen = seen,
            LastSeen = seen,
            Description = "C2 of campaign X seen from host db01.internal",
            Sectors = { "energy" },
            OriginDomain = "ee.cybercoop",
        };
        indicator.Tags.Add(tags.Length == 0 ? ["c2"] : tags);
        indicator.Observations.Add(new Observation
        {
            Node = "spiffe://ee.cybercoop/gateway/tallinn",
            Sensor = "agent-1/suricata-dmz",
            Count = 12,
            Confidence = confidence,
            FirstSeen = seen,
            LastSeen = seen,
            Context = { ["internal_host"] = "db01.internal" },
        });
        return indicator;
    }

    [Fact]
    public void Green_indicator_within_default_policy_is_shared_with_sensor_and_context_redacted()
    {
        var decision = _evaluator.Evaluate(Indicator(), new OutboundPolicy(), Now);

        Assert.True(decision.Shared);
        Assert.Equal("shared", decision.Reason);
        Assert.Equal(OutboundPolicyEvaluator.RuleCodes, decision.Rules.Select(r => r.Code));
        Assert.All(decision.Rules, r => Assert.True(r.Passed, r.Detail));
        var sent = Assert.Single(decision.Redacted!.Observations);
        Assert.Equal(string.Empty, sent.Sensor);
        Assert.Empty(sent.Context);
        Assert.Equal(12u, sent.Count);
        Assert.Equal("spiffe://ee.cybercoop/gateway/tallinn", sent.Node);
    }

    [Fact]
    public void Redaction_returns_a_copy_and_leaves_the_original_untouched()
    {
        var original = Indicator();
        var before = original.Clone();
        var policy = new OutboundPolicy { Redact = ["sensor", "context", "count", "node", "description", "tags"] };

        var decision = _evaluator.Evaluate(original, policy, Now);

        Assert.Equal(before, original);
        var sent = decision.Redacted!;
        Assert.Equal(string.Empty, sent.Description);
        Assert.Empty(sent.Tags);
        Assert.Equal(0u, sent.Observations[0].Count);
        Assert.Equal(string.Empty, sent.Observations[0].Node);
        Assert.Equal(original.Id, sent.Id);
        Assert.Equal(original.Value, sent.Value);
    }

    [Theory]
    [InlineData(Tlp.Clear, true)]
    [InlineData(Tlp.Green, true)]
    [InlineData(Tlp.Amber, true)]
    [InlineData(Tlp.AmberStrict, false)]
    [InlineData(Tlp.Red, false)]
    public void Default_ceiling_is_amber(Tlp tlp, bool shared)
    {
        var decision = _evaluator.Evaluate(Indicator(tlp), new OutboundPolicy(), Now);

        Assert.Equal(shared, decision.Shared);
        if (!shared)
        {
            Assert.Equal("tlp-above-ceiling", decision.Reason);
            Assert.Null(decision.Redacted);
        }
    }

    [Fact]
    public void Red_does_not_leave_with_a_red_ceiling_alone()
    {
        var decision = _evaluator.Evaluate(Indicator(Tlp.Red), new OutboundPolicy { TlpCeiling = Tlp.Red }, Now);

        Assert.False(decision.Shared);
        Assert.Equal("red-not-allowed", decision.Reason);
    }

    [Fact]
    public void Red_does_not_leave_with_allow_red_but_a_lower_ceiling()
    {
        var decision = _evaluator.Evaluate(Indicator(Tlp.Red), new OutboundPolicy { AllowRed = true, TlpCeiling = Tlp.AmberStrict }, Now);

        Assert.False(decision.Shared);
        Assert.Equal("tlp-above-ceiling", decision.Reason);
        Assert.False(decision.Rules.Single(r => r.Code == "red-not-allowed").Passed);
    }

    [Fact]
    public void Red_leaves_only_to_a_peer_named_for_red()
    {
        var decision = _evaluator.Evaluate(Indicator(Tlp.Red), new OutboundPolicy { AllowRed = true, TlpCeiling = Tlp.Red }, Now);

        Assert.True(decision.Shared);
    }

    [Fact]
    public void Unspecified_tlp_is_treated_as_red()
    {
        var decision = _evaluator.Evaluate(Indicator(Tlp.Unspecified), new OutboundPolicy { TlpCeiling = Tlp.AmberStrict }, Now);

        Assert.False(decision.Shared);
        Assert.Equal("tlp-above-ceiling", decision.Reason);
    }

    [Fact]
    public void Type_not_in_allowed_types_is_withheld()
    {
        var decision = _evaluator.Evaluate(Indicator(), new OutboundPolicy { AllowedTypes = [IndicatorType.Ipv4, IndicatorType.Sha256] }, Now);

        Assert.False(decision.Shared);
        Assert.Equal("type-not-allowed", decision.Reason);
        Assert.Contains("domain", decision.Rules.Single(r => r.Code == "type-not-allowed").Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Confidence_below_minimum_is_withheld()
    {
        var decision = _evaluator.Evaluate(Indicator(confidence: 40), new OutboundPolicy { MinConfidence = 50 }, Now);

        Assert.Equal("below-min-confidence", decision.Reason);
    }

    [Fact]
    public void Expired_indicator_is_withheld()
    {
        var indicator = Indicator();
        indicator.ValidUntil = Timestamp.FromDateTimeOffset(Now.AddMinutes(-1));

        Assert.Equal("expired", _evaluator.Evaluate(indicator, new OutboundPolicy(), Now).Reason);
    }

    [Fact]
    public void Sector_filter_requires_a_shared_sector()
    {
        Assert.Equal("sector-mismatch", _evaluator.Evaluate(Indicator(), new OutboundPolicy { Sectors = ["health", "finance"] }, Now).Reason);
        Assert.True(_evaluator.Evaluate(Indicator(), new OutboundPolicy { Sectors = ["Health", "ENERGY"] }, Now).Shared);
    }

    [Fact]
    public void Blocked_tag_withholds_and_required_tags_must_all_be_present()
    {
        Assert.Equal("blocked-tag", _evaluator.Evaluate(Indicator(tags: ["c2", "internal-only"]), new OutboundPolicy { BlockedTags = ["internal-only"] }, Now).Reason);
        Assert.Equal("missing-required-tag", _evaluator.Evaluate(Indicator(tags: ["c2"]), new OutboundPolicy { RequiredTags = ["c2", "shareable"] }, Now).Reason);
        Assert.True(_evaluator.Evaluate(Indicator(tags: ["c2", "shareable"]), new OutboundPolicy { RequiredTags = ["c2", "shareable"] }, Now).Shared);
    }

    [Fact]
    public void Embargo_withholds_until_first_seen_plus_the_delay_and_says_when()
    {
        var policy = new OutboundPolicy { Embargo = TimeSpan.FromHours(6) };

        var decision = _evaluator.Evaluate(Indicator(), policy, Now);

        Assert.False(decision.Shared);
        Assert.Equal("embargoed", decision.Reason);
        Assert.Equal(Now.AddHours(4), decision.EmbargoUntil);
        Assert.True(_evaluator.Evaluate(Indicator(), policy, Now.AddHours(4)).Shared);
    }

    [Fact]
    public void Every_rule_is_reported_even_after_the_first_failure()
    {
        var policy = new OutboundPolicy { TlpCeiling = Tlp.Clear, MinConfidence = 90, BlockedTags = ["c2"] };

        var decision = _evaluator.Evaluate(Indicator(), policy, Now);

        Assert.Equal("tlp-above-ceiling", decision.Reason);
        Assert.Equal(OutboundPolicyEvaluator.RuleCodes.Count, decision.Rules.Count);
        Assert.Equal(["tlp-above-ceiling", "below-min-confidence", "blocked-tag"], decision.Rules.Where(r => !r.Passed).Select(r => r.Code));
    }

    [Fact]
    public void Unknown_redaction_field_fails_closed()
    {
        Assert.Throws<ArgumentException>(() => OutboundPolicyEvaluator.Redact(Indicator(), ["hostname"]));
    }
}
