using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Policy;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Tests.Policy;

/// <summary>
/// The outbound redaction builds its copy field by field (no Clone() of context maps it would clear) and skips the copy
/// when nothing is removed; these tests hold it to the plain clone-then-clear definition.
/// </summary>
public sealed class RedactionTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private static readonly string[] Fields =
        [RedactableFields.Sensor, RedactableFields.Context, RedactableFields.Count, RedactableFields.Node, RedactableFields.Description, RedactableFields.Tags];

    private static Indicator Full()
    {
        var indicator = new Indicator
        {
            Id = IndicatorIds.Compute(IndicatorType.Domain, "evil.example"),
            Type = IndicatorType.Domain,
            Value = "evil.example",
            Tlp = Tlp.Amber,
            Confidence = 77,
            FirstSeen = Timestamp.FromDateTimeOffset(Now.AddHours(-3)),
            LastSeen = Timestamp.FromDateTimeOffset(Now.AddHours(-1)),
            ValidUntil = Timestamp.FromDateTimeOffset(Now.AddDays(30)),
            Tags = { "c2", "apt-x" },
            Sectors = { "energy", "finance" },
            Description = "C2 seen from host db01.internal",
            OriginDomain = "ee.cybercoop",
        };
        indicator.Observations.Add(new Observation
        {
            Node = "spiffe://ee.cybercoop/gateway/tallinn",
            Sensor = "agent-1/suricata-dmz",
            Count = 12,
            FirstSeen = Timestamp.FromDateTimeOffset(Now.AddHours(-3)),
            LastSeen = Timestamp.FromDateTimeOffset(Now.AddHours(-2)),
            Context = { ["internal_host"] = "db01.internal", ["signature"] = "ET MALWARE x" },
            Confidence = 70,
        });
        indicator.Observations.Add(new Observation
        {
            Node = "spiffe://ee.cybercoop/gateway/tartu",
            Sensor = "agent-2/zeek",
            Count = 3,
            FirstSeen = Timestamp.FromDateTimeOffset(Now.AddHours(-2)),
            LastSeen = Timestamp.FromDateTimeOffset(Now.AddHours(-1)),
            Context = { ["uid"] = "C1x2" },
            Confidence = 40,
        });
        return indicator;
    }

    /// <summary>The definition the redaction is held to: a full clone with the named fields cleared.</summary>
    private static Indicator CloneThenClear(Indicator indicator, IEnumerable<string> fields)
    {
        var copy = indicator.Clone();
        foreach (var field in fields)
        {
            switch (field)
            {
                case RedactableFields.Description: copy.Description = string.Empty; break;
                case RedactableFields.Tags: copy.Tags.Clear(); break;
                case RedactableFields.Sensor: foreach (var o in copy.Observations) { o.Sensor = string.Empty; } break;
                case RedactableFields.Context: foreach (var o in copy.Observations) { o.Context.Clear(); } break;
                case RedactableFields.Count: foreach (var o in copy.Observations) { o.Count = 0; } break;
                case RedactableFields.Node: foreach (var o in copy.Observations) { o.Node = string.Empty; } break;
                default: throw new ArgumentException(field, nameof(fields));
            }
        }

        return copy;
    }

    [Fact]
    public void The_redaction_knows_every_field_of_indicator_and_observation()
    {
        // A field added to the proto must be added to OutboundPolicyEvaluator.Redact's copy (and here), or it would be
        // dropped silently from everything shared.
        Assert.Equal(
            ["id", "type", "value", "tlp", "confidence", "first_seen", "last_seen", "valid_until", "tags", "sectors", "observations", "description", "origin_domain"],
            Indicator.Descriptor.Fields.InFieldNumberOrder().Select(f => f.Name));
        Assert.Equal(
            ["node", "sensor", "count", "first_seen", "last_seen", "context", "confidence"],
            Observation.Descriptor.Fields.InFieldNumberOrder().Select(f => f.Name));
    }

    [Fact]
    public void Every_combination_of_redacted_fields_equals_clone_then_clear()
    {
        for (var bits = 0; bits < 1 << Fields.Length; bits++)
        {
            var fields = Fields.Where((_, i) => (bits & (1 << i)) != 0).ToArray();
            var original = Full();
            var before = original.Clone();

            var sent = OutboundPolicyEvaluator.Redact(original, fields);

            Assert.Equal(CloneThenClear(before, fields), sent);
            Assert.Equal(before, original);
        }
    }

    [Fact]
    public void Default_redaction_still_removes_sensor_and_context_of_every_observation()
    {
        var sent = OutboundPolicyEvaluator.Redact(Full(), new OutboundPolicy().Redact);

        Assert.All(sent.Observations, o =>
        {
            Assert.Equal(string.Empty, o.Sensor);
            Assert.Empty(o.Context);
            Assert.NotEqual(0u, o.Count);
            Assert.NotEqual(string.Empty, o.Node);
        });
        Assert.Equal(2, sent.Observations.Count);
    }

    [Fact]
    public void Redacted_copy_shares_no_mutable_state_with_the_original()
    {
        var original = Full();
        var before = original.Clone();

        var sent = OutboundPolicyEvaluator.Redact(original, [RedactableFields.Sensor]);
        sent.FirstSeen.Seconds++;
        sent.Observations[0].LastSeen.Seconds++;
        sent.Observations[0].Context["added"] = "x";
        sent.Tags.Add("added");
        sent.Sectors.Add("added");

        Assert.Equal(before, original);
    }

    [Fact]
    public void Redaction_that_removes_nothing_returns_the_same_instance_unchanged()
    {
        var indicator = Full();
        indicator.Description = string.Empty;
        indicator.Tags.Clear();
        foreach (var o in indicator.Observations)
        {
            o.Sensor = string.Empty;
            o.Context.Clear();
        }

        var before = indicator.Clone();

        Assert.Same(indicator, OutboundPolicyEvaluator.Redact(indicator, [.. Fields.Except([RedactableFields.Count, RedactableFields.Node])]));
        Assert.Same(indicator, OutboundPolicyEvaluator.Redact(indicator, []));
        Assert.Equal(before, indicator);
    }

    [Theory]
    [InlineData(RedactableFields.Sensor)]
    [InlineData(RedactableFields.Context)]
    [InlineData(RedactableFields.Count)]
    [InlineData(RedactableFields.Node)]
    [InlineData(RedactableFields.Description)]
    [InlineData(RedactableFields.Tags)]
    public void Redaction_of_a_present_field_returns_a_copy_without_it(string field)
    {
        var original = Full();

        var sent = OutboundPolicyEvaluator.Redact(original, [field]);

        Assert.NotSame(original, sent);
        Assert.NotEqual(original, sent);
        Assert.Equal(CloneThenClear(original, [field]), sent);
    }

    [Fact]
    public void Field_names_are_case_insensitive_and_unknown_names_fail_closed()
    {
        Assert.Equal(RedactionMask.Sensor | RedactionMask.Tags, OutboundPolicyEvaluator.MaskOf(["SENSOR", "Tags"]));
        Assert.Throws<ArgumentException>(() => OutboundPolicyEvaluator.MaskOf(["sensor", "hostname"]));
        Assert.Throws<ArgumentException>(() => OutboundPolicyEvaluator.Redact(Full(), ["internal_host"]));
    }

    [Fact]
    public void Decide_agrees_with_the_full_evaluation_for_every_rule()
    {
        var policies = new OutboundPolicy[]
        {
            new(),
            new() { TlpCeiling = Tlp.Green },
            new() { TlpCeiling = Tlp.Red },
            new() { TlpCeiling = Tlp.Red, AllowRed = true },
            new() { AllowedTypes = [IndicatorType.Ipv4] },
            new() { AllowedTypes = [IndicatorType.Domain, IndicatorType.Url] },
            new() { MinConfidence = 80 },
            new() { Sectors = ["health"] },
            new() { Sectors = [" Energy "] },
            new() { BlockedTags = ["APT-X"] },
            new() { RequiredTags = ["c2", "shareable"] },
            new() { RequiredTags = ["c2"] },
            new() { Embargo = TimeSpan.FromHours(6) },
            new() { Embargo = TimeSpan.FromHours(1) },
            new() { TlpCeiling = Tlp.Green, MinConfidence = 90, BlockedTags = ["c2"], Embargo = TimeSpan.FromDays(1) },
        };
        var indicators = new List<Indicator>();
        foreach (var tlp in new[] { Tlp.Unspecified, Tlp.Clear, Tlp.Green, Tlp.Amber, Tlp.AmberStrict, Tlp.Red, (Tlp)9 })
        {
            var indicator = Full();
            indicator.Tlp = tlp;
            indicators.Add(indicator);
        }

        var expired = Full();
        expired.ValidUntil = Timestamp.FromDateTimeOffset(Now.AddMinutes(-1));
        indicators.Add(expired);
        var noFirstSeen = Full();
        noFirstSeen.FirstSeen = null;
        indicators.Add(noFirstSeen);

        var evaluator = new OutboundPolicyEvaluator();
        foreach (var policy in policies)
        {
            foreach (var indicator in indicators)
            {
                var full = evaluator.Evaluate(indicator, policy, Now);

                var reason = OutboundPolicyEvaluator.Decide(indicator, policy, Now, out var embargoUntil);

                Assert.Equal(full.Reason, reason);
                Assert.Equal(full.EmbargoUntil, embargoUntil);
                Assert.Equal(full.Shared, reason == OutboundDecision.SharedReason);
                Assert.Equal(full.Rules.FirstOrDefault(r => !r.Passed)?.Code ?? OutboundDecision.SharedReason, reason);
            }
        }
    }
}
