using System.Text;
using System.Text.Json;
using CyberCoop.Agent.Parsing;
using CyberCoop.Contracts.V1;
using CyberCoop.Testing;

namespace CyberCoop.Agent.Tests.Parsing;

public sealed class StixBundleParserTests
{
    [Fact]
    public void Real_stix_bundles_parse_without_invalid_json_and_give_the_expected_kinds()
    {
        var folder = TestData.Sample("stix");
        var all = new List<Sighting>();

        foreach (var path in Directory.GetFiles(folder, "*.json", SearchOption.AllDirectories))
        {
            var (sightings, d) = ParseHarness.File(path, SourceFormat.Stix);

            Assert.DoesNotContain(d.SkippedSamples, s => s.Reason.StartsWith("invalid JSON", StringComparison.Ordinal) || s.Reason == "pattern does not parse");
            all.AddRange(sightings);
        }

        var kinds = all.Select(s => s.Type).ToHashSet();
        Assert.Superset(new HashSet<IndicatorType> { IndicatorType.Cidr, IndicatorType.Domain, IndicatorType.Url, IndicatorType.Md5, IndicatorType.Sha1, IndicatorType.Sha256, IndicatorType.Ipv4 }, kinds);
        Assert.DoesNotContain(all, s => ParseHarness.IsPrivateOrIn(s.Value));
    }

    [Fact]
    public void Tlp1_markings_by_reference_set_the_sighting_tlp()
    {
        var path = Path.Combine(TestData.Sample("stix"), "elevator-141-TLP-marking-structures.json");

        var (sightings, d) = ParseHarness.File(path, SourceFormat.Stix);

        Assert.Contains(sightings, s => s.Type == IndicatorType.Url && s.Tlp == Tlp.Clear);
        Assert.Contains(sightings, s => s.Type == IndicatorType.Sha256 && s.Tlp == Tlp.Amber);
        Assert.Equal(1, d.Filtered["address not globally routable"]);
        Assert.Contains(d.SkippedSamples, s => s.Detail!.Contains("MATCHES", StringComparison.Ordinal));
    }

    [Fact]
    public void Tlp2_marking_definition_ids_match_the_published_files()
    {
        var folder = TestData.Sample("stix/tlp2");

        foreach (var path in Directory.GetFiles(folder, "marking-definition--*.json"))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var marking = doc.RootElement.GetProperty("objects")[0];
            var id = marking.GetProperty("id").GetString()!;
            var level = marking.GetProperty("extensions").EnumerateObject().First().Value.GetProperty("tlp_2_0").GetString();
            Assert.True(IndicatorTypeNames.TryParseTlp(level, out var expected));

            Assert.Equal(expected, StixBundleParser.WellKnownTlp(id));
            Assert.Equal("marking-definition--" + Path.GetFileNameWithoutExtension(path)["marking-definition--".Length..], id);
        }
    }

    [Fact]
    public void Or_of_hashes_gives_one_sighting_each_and_and_with_file_name_keeps_the_name_as_context()
    {
        var bundle = Bundle("""[(file:hashes.MD5 = 'EBE2F8DF39B4A94FB408580A728D351F' OR file:hashes.'SHA-256' = 'D035D394A82AE1E44B25E273F99EAE8E2369DA828D6B6FDB95076FD3EB5DE142') AND file:name = 'x.dll']""", tlpRef: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", extra: "\"confidence\": 85, \"valid_until\": \"2030-01-01T00:00:00Z\",");

        var (sightings, d) = ParseHarness.Text(bundle, SourceFormat.Stix);

        Assert.Equal(0, d.SkippedCount);
        Assert.Equal(new[] { IndicatorType.Md5, IndicatorType.Sha256 }, sightings.Select(s => s.Type));
        Assert.Equal("ebe2f8df39b4a94fb408580a728d351f", sightings[0].Value);
        Assert.All(sightings, s =>
        {
            Assert.Equal("x.dll", s.Context["file_name"]);
            Assert.Equal(Tlp.AmberStrict, s.Tlp);
            Assert.Equal(85u, s.Confidence);
            Assert.Equal(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero), s.ValidUntil.ToDateTimeOffset());
        });
    }

    [Theory]
    [InlineData("[ipv4-addr:value = '198.51.100.1'] OR [domain-name:value = 'evil.example']", "ipv4:198.51.100.1,domain:evil.example")]
    [InlineData("[ipv6-addr:value = '2001:db8::1']", "ipv6:2001:db8::1")]
    [InlineData("[email-addr:value = 'phish@evil.example']", "email:phish@evil.example")]
    [InlineData("[url:value = 'http://evil.example/a?b=\\'c\\'']", "url:http://evil.example/a?b='c'")]
    [InlineData("[autonomous-system:number = 64496]", "asn:64496")]
    [InlineData("[domain-name:value = 'evil.example'] WITHIN 300 SECONDS", "domain:evil.example")]
    public void Simple_patterns_give_their_values(string pattern, string expected)
    {
        var (sightings, d) = ParseHarness.Text(Bundle(pattern), SourceFormat.Stix);

        Assert.Equal(0, d.SkippedCount);
        Assert.Equal(expected, string.Join(',', sightings.Select(s => IndicatorTypeNames.ToName(s.Type) + ":" + s.Value)));
        Assert.All(sightings, s => Assert.Equal(Tlp.Amber, s.Tlp));
    }

    [Theory]
    [InlineData("[ipv4-addr:value = '198.51.100.1' AND domain-name:value = 'evil.example']", "pattern has no simple indicator comparison")]
    [InlineData("[ipv4-addr:value = '198.51.100.1'] FOLLOWEDBY [domain-name:value = 'evil.example']", "pattern has no simple indicator comparison")]
    [InlineData("[domain-name:value MATCHES '^evil']", "pattern has no simple indicator comparison")]
    [InlineData("[x509-certificate:issuer = 'CN=x']", "pattern has no simple indicator comparison")]
    [InlineData("[ipv4-addr:value = '198.51.100.1'", "pattern does not parse")]
    [InlineData("ipv4-addr:value = '198.51.100.1'", "pattern does not parse")]
    public void Unsupported_or_broken_patterns_are_skipped_with_the_reason(string pattern, string reason)
    {
        var (sightings, d) = ParseHarness.Text(Bundle(pattern), SourceFormat.Stix);

        Assert.Empty(sightings);
        Assert.Equal(reason, Assert.Single(d.SkippedSamples).Reason);
    }

    [Fact]
    public void Truncated_bundle_is_skipped_not_thrown()
    {
        var (sightings, d) = ParseHarness.Text(Bundle("[domain-name:value = 'evil.example']")[..80], SourceFormat.Stix);

        Assert.Empty(sightings);
        Assert.Equal("invalid JSON (truncated or malformed)", Assert.Single(d.SkippedSamples).Reason);
    }

    [Fact]
    public void Bundle_with_a_byte_that_is_not_utf8_is_skipped_with_its_offset_not_thrown()
    {
        // Found by fuzzing (fuzz/fuzz stix-bundle, docs/fuzzing.md): JsonDocument checks a string's encoding only when the
        // string is read, so a bad byte in valid_from threw out of the parser (and out of the tailer's poll).
        var text = Bundle("[ipv4-addr:value = '198.51.100.7']");
        var bytes = Encoding.UTF8.GetBytes(text);
        var at = text.IndexOf("2024", text.IndexOf("valid_from", StringComparison.Ordinal), StringComparison.Ordinal);
        bytes[at] = 0xB2;
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("bundle.json"), bytes);

        var (sightings, d) = ParseHarness.File(dir.File("bundle.json"), SourceFormat.Stix);

        Assert.Empty(sightings);
        var skipped = Assert.Single(d.SkippedSamples);
        Assert.Equal("invalid UTF-8", skipped.Reason);
        Assert.Equal($"first invalid byte at offset {at}", skipped.Detail);
    }

    private static string Bundle(string pattern, string? tlpRef = null, string extra = "")
    {
        var refs = tlpRef is null ? string.Empty : $"\"object_marking_refs\": [\"{tlpRef}\"],";
        return $$"""
            {"type": "bundle", "id": "bundle--1", "objects": [
              {"type": "indicator", "spec_version": "2.1", "id": "indicator--1", {{refs}} {{extra}}
               "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z", "valid_from": "2024-01-01T00:00:00Z",
               "pattern_type": "stix", "pattern": {{JsonSerializer.Serialize(pattern)}}}
            ]}
            """;
    }
}
