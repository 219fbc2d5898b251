using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Parsing;
using CyberCoop.Contracts.V1;
using CyberCoop.Testing;

namespace CyberCoop.Agent.Tests.Parsing;

public sealed class ZeekParserTests
{
    [Fact]
    public void Real_zeek_json_notice_log_gives_only_routable_addresses()
    {
        var path = Path.Combine(TestData.Sample("zeek-json"), "wrccdc-notice.json");

        var (sightings, d) = ParseHarness.File(path, SourceFormat.Zeek, ["10.0.0.0/8"]);

        Assert.Equal(206, d.Lines);
        Assert.Equal(0, d.SkippedCount);
        Assert.NotEmpty(sightings);
        Assert.All(sightings, s => Assert.True(s.Type is IndicatorType.Ipv4 or IndicatorType.Ipv6));
        Assert.DoesNotContain(sightings, s => ParseHarness.IsPrivateOrIn(s.Value, "10.0.0.0/8"));
        Assert.All(sightings, s => Assert.True(s.Context.ContainsKey("note")));
    }

    [Fact]
    public void Real_zeek_logs_other_than_notice_and_intel_are_ignored_without_a_mapping()
    {
        var tsv = TestData.Sample("zeek-tsv");
        var json = TestData.Sample("zeek-json");

        foreach (var path in Directory.GetFiles(tsv, "*.log").Concat(Directory.GetFiles(json, "wrccdc-dns.json")).Concat(Directory.GetFiles(json, "wrccdc-ssl.json")))
        {
            var (sightings, d) = ParseHarness.File(path, SourceFormat.Zeek);

            Assert.Empty(sightings);
            Assert.Equal(0, d.SkippedCount);
            Assert.True(d.Ignored.Values.Sum() > 0, path);
        }
    }

    [Fact]
    public void Real_zeek_tsv_http_log_with_a_mapping_gives_host_domains()
    {
        var path = Path.Combine(TestData.Sample("zeek-tsv"), "trickbot-http.log");
        var mapping = new FieldMapping { ValueField = "host", FixedType = IndicatorType.Unspecified, TimestampField = "ts", ContextFields = ["uri", "id.resp_h"] };

        var (sightings, d) = ParseHarness.File(path, SourceFormat.Zeek, ["172.16.0.0/12"], mapping);

        Assert.Equal(0, d.SkippedCount);
        Assert.Contains(sightings, s => s.Type == IndicatorType.Domain && s.Value == "bespokeutilitysolutions.co.uk"
            && s.Context["uri"] == "/sun.sets" && s.Context["id_resp_h"] == "185.119.175.82");
        Assert.All(sightings, s => Assert.NotNull(s.ObservedAt));
        Assert.DoesNotContain(sightings, s => ParseHarness.IsPrivateOrIn(s.Value, "172.16.0.0/12"));
    }

    [Fact]
    public void Intel_tsv_matches_carry_the_indicator_and_where_it_was_seen()
    {
        var text = string.Join('\n',
            "#separator \\x09",
            "#set_separator\t,",
            "#empty_field\t(empty)",
            "#unset_field\t-",
            "#path\tintel",
            "#fields\tts\tuid\tid.orig_h\tid.resp_h\tseen.indicator\tseen.indicator_type\tseen.where\tsources",
            "#types\ttime\tstring\taddr\taddr\tstring\tenum\tenum\tset[string]",
            "1700000000.250000\tC1\t10.0.0.5\t198.51.100.20\tbad.example\tIntel::DOMAIN\tDNS::IN_REQUEST\tfeed-a",
            "1700000001.000000\tC2\t10.0.0.5\t198.51.100.20\tbad.example/payload\tIntel::URL\tHTTP::IN_URL\tfeed-a,feed-b",
            "1700000002.000000\tC3\t10.0.0.5\t198.51.100.20\t198.51.100.20\tIntel::ADDR\tConn::IN_RESP\t-",
            "1700000003.000000\tC4\t10.0.0.5\t198.51.100.20\t10.9.9.9\tIntel::ADDR\tConn::IN_RESP\t-",
            "1700000004.000000\tC5\t10.0.0.5",
            "") ;

        var (sightings, d) = ParseHarness.Text(text, SourceFormat.Zeek, ["10.0.0.0/8"], fileName: "intel.log");

        Assert.Equal(
            new[] { "domain:bad.example", "url:http://bad.example/payload", "ipv4:198.51.100.20" },
            sightings.Select(s => IndicatorTypeNames.ToName(s.Type) + ":" + s.Value));
        Assert.Equal("DNS::IN_REQUEST", sightings[0].Context["seen_where"]);
        Assert.Equal("feed-a,feed-b", sightings[1].Context["sources"]);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_250), sightings[0].ObservedAt.ToDateTimeOffset());
        Assert.Equal(1, d.Filtered["home-net address"]);
        var skipped = Assert.Single(d.SkippedSamples);
        Assert.Equal(12, skipped.Line);
        Assert.Equal("field count does not match the #fields header", skipped.Reason);
    }

    [Fact]
    public void Zeek_tsv_data_before_the_header_is_skipped()
    {
        var (sightings, d) = ParseHarness.Text("1700000000.0\tC1\t1.2.3.4\n", SourceFormat.Zeek, fileName: "notice.log");

        Assert.Empty(sightings);
        Assert.Equal("Zeek TSV line before the #fields header", Assert.Single(d.SkippedSamples).Reason);
    }
}
