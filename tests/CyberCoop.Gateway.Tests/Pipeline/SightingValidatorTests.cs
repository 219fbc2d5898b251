using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Pipeline;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Time.Testing;

namespace CyberCoop.Gateway.Tests.Pipeline;

public sealed class SightingValidatorTests
{
    private const string Node = "spiffe://ee.cybercoop/gateway/tallinn";
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly SightingValidator _validator = new(new FakeTimeProvider(Now));

    private static Sighting Valid() => new()
    {
        Type = IndicatorType.Domain,
        Value = "Evil.Example.",
        Tlp = Tlp.Green,
        Confidence = 80,
        ObservedAt = Timestamp.FromDateTimeOffset(Now.AddMinutes(-5)),
        Sensor = "suricata-dmz",
        Count = 3,
        Tags = { "C2", "c2", " Phishing " },
        Sectors = { "Energy" },
        Context = { ["signature_id"] = "2031337" },
    };

    [Fact]
    public void Valid_sighting_becomes_a_normalized_indicator_with_one_observation()
    {
        var outcome = _validator.Validate(Valid(), Node, "agent-1");

        Assert.True(outcome.IsValid, outcome.Error);
        var indicator = outcome.Indicator;
        Assert.Equal("evil.example", indicator.Value);
        Assert.Equal(IndicatorIds.Compute(IndicatorType.Domain, "evil.example"), indicator.Id);
        Assert.Equal(Tlp.Green, indicator.Tlp);
        Assert.Equal(80u, indicator.Confidence);
        Assert.Equal(["c2", "phishing"], indicator.Tags);
        Assert.Equal(["energy"], indicator.Sectors);
        Assert.Equal("ee.cybercoop", indicator.OriginDomain);
        var observation = Assert.Single(indicator.Observations);
        Assert.Equal(Node, observation.Node);
        Assert.Equal("agent-1/suricata-dmz", observation.Sensor);
        Assert.Equal(3u, observation.Count);
        Assert.Equal(Now.AddMinutes(-5), observation.FirstSeen.ToDateTimeOffset());
        Assert.Equal(observation.FirstSeen, observation.LastSeen);
        Assert.Equal(indicator.FirstSeen, observation.FirstSeen);
        Assert.Equal("2031337", observation.Context["signature_id"]);
    }

    [Fact]
    public void Unspecified_tlp_defaults_to_amber_and_zero_count_reads_as_one()
    {
        var sighting = Valid();
        sighting.Tlp = Tlp.Unspecified;
        sighting.Count = 0;
        sighting.Sensor = string.Empty;

        var outcome = _validator.Validate(sighting, Node, "agent-1");

        Assert.True(outcome.IsValid, outcome.Error);
        Assert.Equal(Tlp.Amber, outcome.Indicator.Tlp);
        Assert.Equal(1u, outcome.Indicator.Observations[0].Count);
        Assert.Equal("agent-1", outcome.Indicator.Observations[0].Sensor);
    }

    [Fact]
    public void Missing_observed_at_uses_the_receipt_time()
    {
        var sighting = Valid();
        sighting.ObservedAt = null;

        var outcome = _validator.Validate(sighting, Node, "agent-1");

        Assert.True(outcome.IsValid, outcome.Error);
        Assert.Equal(Now, outcome.Indicator.FirstSeen.ToDateTimeOffset());
    }

    public static TheoryData<string, Action<Sighting>> BadSightings => new()
    {
        { "type: is unspecified", s => s.Type = IndicatorType.Unspecified },
        { "type: unknown indicator type 42", s => s.Type = (IndicatorType)42 },
        { "tlp: unknown TLP value 9", s => s.Tlp = (Tlp)9 },
        { "confidence: 150 is above 100", s => s.Confidence = 150 },
        { "value: is empty", s => s.Value = string.Empty },
        { "value: is longer than 2048 bytes", s => s.Value = new string('a', 3000) },
        { "observed_at: 1970-01-01T00:00:00.0000000+00:00 is before 1990-01-01", s => s.ObservedAt = new Timestamp() },
        { "observed_at: 2026-11-25", s => s.ObservedAt = Timestamp.FromDateTimeOffset(Now.AddDays(2)) },
        { "observed_at: is not a valid timestamp", s => s.ObservedAt = new Timestamp { Seconds = 1_700_000_000, Nanos = -1 } },
        { "observed_at: is not a valid timestamp", s => s.ObservedAt = new Timestamp { Seconds = long.MaxValue } },
        { "valid_until: ", s => s.ValidUntil = Timestamp.FromDateTimeOffset(Now.AddDays(-1)) },
        { "description: is longer than 1024 bytes", s => s.Description = new string('d', 1025) },
        { "description: contains a control character", s => s.Description = "bell\u0007" },
        { "context: has 34 entries, at most 32 allowed", s => { for (var i = 0; i < 33; i++) { s.Context["k" + i] = "v"; } } },
        { "context: key 'a b' contains white space", s => s.Context["a b"] = "v" },
        { "tags[0]: is longer than 64 characters", s => s.Tags.Insert(0, new string('t', 65)) },
        { "tags: more than 64 distinct entries", s => { for (var i = 0; i < 65; i++) { s.Tags.Add("t" + i); } } },
        { "sectors: more than 16 distinct entries", s => { for (var i = 0; i < 17; i++) { s.Sectors.Add("s" + i); } } },
        { "sensor: contains a control character", s => s.Sensor = "dmz\n" },
        { "sensor: is longer than 256 characters", s => s.Sensor = new string('s', 300) },
    };

    [Theory]
    [MemberData(nameof(BadSightings))]
    public void Bad_sighting_is_rejected_with_a_reason_naming_the_field(string fragment, Action<Sighting> breakIt)
    {
        var sighting = Valid();
        breakIt(sighting);

        var outcome = _validator.Validate(sighting, Node, "agent-1");

        Assert.False(outcome.IsValid);
        Assert.Null(outcome.Indicator);
        Assert.Contains(fragment, outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Context_value_longer_than_256_characters_is_truncated_with_a_marker_instead_of_costing_the_sighting()
    {
        var sighting = Valid();
        var subject = "CN=beta.gpo.gov,OU=Office of the Director of IT Security Divison,O=Government Publishing Office,street=732 North Capitol Street NW.,L=Washington,ST=District of Columbia,postalCode=20401,C=US,serialNumber=Government Entity,businessCategory=Government Entity,jurisdictionST=District of Columbia,jurisdictionC=US";
        sighting.Context["sub"] = subject;
        sighting.Context["note"] = "SSL::Invalid_Server_Cert";
        sighting.Context["emoji"] = new string('x', 223) + string.Concat(Enumerable.Repeat("\U0001F600", 20));

        var outcome = _validator.Validate(sighting, Node, "agent-1");

        Assert.True(outcome.IsValid, outcome.Error);
        var context = Assert.Single(outcome.Indicator!.Observations).Context;
        Assert.Equal(256, context["sub"].Length);
        Assert.StartsWith(subject[..200], context["sub"], StringComparison.Ordinal);
        Assert.EndsWith("…[truncated from 309 characters]", context["sub"], StringComparison.Ordinal);
        Assert.Equal("SSL::Invalid_Server_Cert", context["note"]);
        Assert.Equal(255, context["emoji"].Length); // the cut would split a surrogate pair: one character less
        Assert.EndsWith("…[truncated from 263 characters]", context["emoji"], StringComparison.Ordinal);
        Assert.False(char.IsHighSurrogate(context["emoji"][^("…[truncated from 263 characters]".Length + 1)]));
        Assert.Equal(subject, sighting.Context["sub"]); // the caller's sighting is not modified
    }

    [Fact]
    public void Broken_caller_arguments_throw()
    {
        Assert.Throws<ArgumentNullException>(() => _validator.Validate(null!, Node, "a"));
        Assert.Throws<ArgumentException>(() => _validator.Validate(Valid(), string.Empty, "a"));
        Assert.Throws<ArgumentException>(() => _validator.Validate(Valid(), Node, string.Empty));
    }

    [Fact]
    public void Sensor_names_and_origin_domains_stay_right_when_one_validator_serves_concurrent_batches()
    {
        // Ingest validates the batches of one stream concurrently with one validator, which reuses the last sensor
        // name and trust domain it built.
        string[] nodes = [Node, "spiffe://lv.cybercoop/gateway/riga"];
        string[] sensors = ["suricata-dmz", "zeek", string.Empty];
        var failures = 0;

        Parallel.For(0, 20_000, i =>
        {
            var sighting = Valid();
            sighting.Sensor = sensors[i % 3];
            var node = nodes[(i / 3) % 2];
            var agent = (i % 7 == 0) ? "agent-2" : "agent-1";

            var indicator = _validator.Validate(sighting, node, agent).Indicator!;

            var expectedSensor = sighting.Sensor.Length == 0 ? agent : agent + "/" + sighting.Sensor;
            var expectedDomain = node == Node ? "ee.cybercoop" : "lv.cybercoop";
            if (indicator.Observations[0].Sensor != expectedSensor || indicator.OriginDomain != expectedDomain || indicator.Observations[0].Node != node)
            {
                Interlocked.Increment(ref failures);
            }
        });

        Assert.Equal(0, failures);
    }
}
