using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Parsing;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Agent.Tests.Parsing;

public sealed class GenericParserTests
{
    private static readonly FieldMapping s_mapping = new()
    {
        ValueField = "indicator",
        TypeField = "kind",
        TimestampField = "seen",
        ConfidenceField = "score",
        TlpField = "tlp",
        TagsField = "labels",
        ContextFields = ["campaign"],
    };

    [Fact]
    public void Jsonl_records_are_mapped_field_by_field()
    {
        var text = """
            {"indicator":"evil.example","kind":"domain","seen":"2024-03-01T12:00:00Z","score":77,"tlp":"TLP:GREEN","labels":["c2","apt"],"campaign":"x"}
            {"indicator":"198.51.100.4","kind":"ip","score":"12"}
            {"indicator":"d41d8cd98f00b204e9800998ecf8427e","kind":"sha256"}
            {"indicator":"a","kind":"banana"}
            {"kind":"domain"}
            {"indicator":"evil.example","kind":"domain","score":300}
            """;

        var (sightings, d) = ParseHarness.Text(text, SourceFormat.Jsonl, mapping: s_mapping);

        Assert.Equal(new[] { "domain:evil.example", "ipv4:198.51.100.4", "md5:d41d8cd98f00b204e9800998ecf8427e" }, sightings.Select(s => IndicatorTypeNames.ToName(s.Type) + ":" + s.Value));
        var first = sightings[0];
        Assert.Equal(77u, first.Confidence);
        Assert.Equal(Tlp.Green, first.Tlp);
        Assert.Equal(new[] { "c2", "apt" }, first.Tags);
        Assert.Equal("x", first.Context["campaign"]);
        Assert.Equal(12u, sightings[1].Confidence);
        Assert.Equal(
            new[] { "type field 'kind' holds an unknown indicator type", "value field 'indicator' missing or empty", "confidence field 'score' is not a number 0-100" },
            d.SkippedSamples.Select(s => s.Reason));
        Assert.Equal(new long[] { 4, 5, 6 }, d.SkippedSamples.Select(s => s.Line));
    }

    [Fact]
    public void Csv_with_quotes_and_header_is_mapped_by_column_name()
    {
        var text = "# exported feed\nkind,indicator,labels,campaign\ndomain,evil.example,\"c2;loader\",\"Op \"\"Quote\"\"\"\nurl,\"http://evil.example/a,b\",,\nip,198.51.100.9\nip,\"unterminated\n";

        var (sightings, d) = ParseHarness.Text(text, SourceFormat.Csv, mapping: s_mapping with { TimestampField = null, ConfidenceField = null, TlpField = null });

        Assert.Equal(new[] { "domain:evil.example", "url:http://evil.example/a,b" }, sightings.Select(s => IndicatorTypeNames.ToName(s.Type) + ":" + s.Value));
        Assert.Equal("Op \"Quote\"", sightings[0].Context["campaign"]);
        Assert.Equal(new[] { "c2", "loader" }, sightings[0].Tags);
        Assert.Equal(new[] { (5L, "column count does not match the header"), (6L, "unterminated quoted field") }, d.SkippedSamples.Select(s => (s.Line, s.Reason)));
    }

    [Fact]
    public void Fixed_auto_type_guesses_from_the_value()
    {
        var mapping = new FieldMapping { ValueField = "v", FixedType = IndicatorType.Unspecified };
        var text = string.Join('\n', new[] { "198.51.100.1", "2001:db8::5", "203.0.113.0/24", "https://x.example/", "a@b.example", "CVE-2024-3400", "x.example", new string('a', 64), "nothing" }.Select(v => $"{{\"v\":\"{v}\"}}"));

        var (sightings, d) = ParseHarness.Text(text, SourceFormat.Jsonl, mapping: mapping);

        Assert.Equal(
            new[] { IndicatorType.Ipv4, IndicatorType.Ipv6, IndicatorType.Cidr, IndicatorType.Url, IndicatorType.Email, IndicatorType.Cve, IndicatorType.Domain, IndicatorType.Sha256 },
            sightings.Select(s => s.Type));
        Assert.Equal(1, d.Filtered["indicator type not recognised"]);
    }
}
