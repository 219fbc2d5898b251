using CyberCoop.Agent.Parsing;
using CyberCoop.Contracts.V1;
using CyberCoop.Testing;

namespace CyberCoop.Agent.Tests.Parsing;

public sealed class EveParserTests
{
    private const string HomeNet = "172.16.0.0/12";

    private static string EveFile() => Path.Combine(TestData.Sample("suricata"), "eve-2022-02-23-nicoaller.json");

    [Fact]
    public void Real_eve_file_parses_with_only_the_malformed_last_line_skipped()
    {
        var (sightings, d) = ParseHarness.File(EveFile(), SourceFormat.Eve, [HomeNet]);

        Assert.Equal(2325, d.Lines);
        Assert.Equal(1, d.SkippedCount);
        var skipped = Assert.Single(d.SkippedSamples);
        Assert.Equal(2325, skipped.Line);
        Assert.EndsWith("eve-2022-02-23-nicoaller.json", skipped.File, StringComparison.Ordinal);
        Assert.Equal("missing event_type", skipped.Reason);
        Assert.Equal(826, d.Ignored["event_type flow"]);
        Assert.NotEmpty(sightings);
    }

    [Fact]
    public void Real_eve_alerts_give_addresses_hostnames_and_ja3_but_nothing_from_home_net()
    {
        var (sightings, _) = ParseHarness.File(EveFile(), SourceFormat.Eve, [HomeNet]);

        var kinds = sightings.Select(s => s.Type).ToHashSet();
        Assert.Contains(IndicatorType.Ipv4, kinds);
        Assert.Contains(IndicatorType.Domain, kinds);
        Assert.Contains(IndicatorType.Ja3, kinds);
        Assert.DoesNotContain(sightings, s => ParseHarness.IsPrivateOrIn(s.Value, HomeNet));
        Assert.All(sightings, s =>
        {
            Assert.Equal(Tlp.Amber, s.Tlp);
            Assert.True(s.Context.ContainsKey("signature"));
            Assert.True(s.Context.ContainsKey("signature_id"));
            Assert.NotNull(s.ObservedAt);
            Assert.Contains(s.Confidence, new uint[] { 90, 70, 50, 30 });
        });
        Assert.Contains(sightings, s => s.Type == IndicatorType.Domain && s.Value == "www.ajaxmatters.com");
        Assert.Contains(sightings, s => s.Type == IndicatorType.Ipv4 && s.Value == "64.34.171.228" && s.Confidence == 90);
    }

    [Fact]
    public void Alert_maps_severity_to_confidence_and_keeps_signature_context()
    {
        var line = """{"timestamp":"2024-05-01T10:00:00.5+0200","event_type":"alert","src_ip":"10.1.2.3","dest_ip":"203.0.113.9","alert":{"signature_id":2001,"signature":"ET TROJAN Test","category":"A Network Trojan was detected","severity":2},"tls":{"sni":"evil.example","ja3":{"hash":"e7d705a3286e19ea42f587b344ee6865"},"ja4":"t13d1516h2_8daaf6152771_b186095e22b6"},"files":[{"sha256":"9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08","md5":"098f6bcd4621d373cade4e832627b4f6"}]}""";

        var (sightings, d) = ParseHarness.Text(line + "\n", SourceFormat.Eve, ["10.0.0.0/8"]);

        Assert.Equal(0, d.SkippedCount);
        Assert.Equal(
            new[] { "ipv4:203.0.113.9", "domain:evil.example", "ja3:e7d705a3286e19ea42f587b344ee6865", "ja4:t13d1516h2_8daaf6152771_b186095e22b6", "sha256:9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08", "md5:098f6bcd4621d373cade4e832627b4f6" },
            sightings.Select(s => IndicatorTypeNames.ToName(s.Type) + ":" + s.Value));
        var ip = sightings[0];
        Assert.Equal(70u, ip.Confidence);
        Assert.Equal("ET TROJAN Test", ip.Context["signature"]);
        Assert.Equal("2001", ip.Context["signature_id"]);
        Assert.Equal("A Network Trojan was detected", ip.Context["category"]);
        Assert.Equal("2", ip.Context["severity"]);
        Assert.Equal("destination", ip.Context["role"]);
        Assert.Equal(new DateTimeOffset(2024, 5, 1, 8, 0, 0, 500, TimeSpan.Zero), ip.ObservedAt.ToDateTimeOffset());
    }

    [Fact]
    public void Alert_between_two_home_net_hosts_reports_no_address()
    {
        var line = """{"event_type":"alert","src_ip":"192.0.2.10","dest_ip":"192.0.2.20","alert":{"signature_id":1,"signature":"lateral","severity":1}}""";

        var (sightings, d) = ParseHarness.Text(line + "\n", SourceFormat.Eve, ["192.0.2.0/24"]);

        Assert.Empty(sightings);
        Assert.Equal(2, d.Filtered["home-net address"]);
    }

    [Fact]
    public void Allowlisted_domain_and_its_subdomains_are_dropped()
    {
        var line = """{"event_type":"alert","src_ip":"10.0.0.1","dest_ip":"198.51.100.7","alert":{"signature_id":1,"signature":"x","severity":3},"http":{"hostname":"update.microsoft.com"}}""";

        var (sightings, d) = ParseHarness.Text(line + "\n", SourceFormat.Eve, allowlist: ["microsoft.com", "198.51.100.0/24"]);

        Assert.Empty(sightings);
        Assert.Equal(2, d.Filtered["allowlisted"]);
    }

    [Fact]
    public void Truncated_invalid_and_non_object_lines_are_skipped_with_their_line_numbers()
    {
        var good = """{"event_type":"alert","src_ip":"10.0.0.1","dest_ip":"198.51.100.7","alert":{"signature_id":1,"signature":"x","severity":1}}""";
        var text = good + "\n" + good[..60] + "\n" + "[1,2,3]\n" + "not json at all\n" + good + "\n";

        var (sightings, d) = ParseHarness.Text(text, SourceFormat.Eve);

        Assert.Equal(2, sightings.Count);
        Assert.Equal(3, d.SkippedCount);
        Assert.Equal(new long[] { 2, 3, 4 }, d.SkippedSamples.Select(s => s.Line));
        Assert.Equal("invalid JSON (truncated or malformed)", d.SkippedSamples[0].Reason);
        Assert.Equal("not a JSON object", d.SkippedSamples[1].Reason);
    }

    [Fact]
    public void Invalid_utf8_line_is_skipped_and_the_next_line_still_parsed()
    {
        using var dir = new TempDirectory();
        var path = dir.File("eve.json");
        var good = System.Text.Encoding.UTF8.GetBytes("""{"event_type":"alert","src_ip":"198.51.100.1","dest_ip":"10.0.0.1","alert":{"signature_id":1,"signature":"x","severity":1}}""" + "\n");
        byte[] bad = [.. "{\"event_type\":\"alert\",\"src_ip\":\""u8, 0xC3, 0x28, 0xFF, .. "\"}\n"u8];
        File.WriteAllBytes(path, [.. bad, .. good]);

        var (sightings, d) = ParseHarness.File(path, SourceFormat.Eve);

        Assert.Single(sightings);
        var skipped = Assert.Single(d.SkippedSamples);
        Assert.Equal(1, skipped.Line);
        Assert.Equal("invalid UTF-8", skipped.Reason);
    }

    [Fact]
    public void Ten_megabyte_line_is_skipped_without_losing_the_lines_around_it()
    {
        using var dir = new TempDirectory();
        var path = dir.File("eve.json");
        var good = """{"event_type":"alert","src_ip":"198.51.100.1","dest_ip":"10.0.0.1","alert":{"signature_id":1,"signature":"x","severity":1}}""" + "\n";
        using (var w = new StreamWriter(path))
        {
            w.Write(good);
            w.Write("{\"event_type\":\"alert\",\"pad\":\"");
            w.Write(new string('a', 10 * 1024 * 1024));
            w.Write("\"}\n");
            w.Write(good);
        }

        var (sightings, d) = ParseHarness.File(path, SourceFormat.Eve);

        Assert.Equal(2, sightings.Count);
        Assert.Equal(3, d.Lines);
        var skipped = Assert.Single(d.SkippedSamples);
        Assert.Equal(2, skipped.Line);
        Assert.StartsWith("line longer than", skipped.Reason, StringComparison.Ordinal);
    }
}
