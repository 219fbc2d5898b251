using System.CommandLine;
using System.Text.Json.Nodes;
using CyberCoop.Agent.Parsing;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Agent.Tests.Parsing;

/// <summary>
/// The agent's <c>misp-feed</c> source over files in the documented MISP feed structure (manifest.json + one
/// {"Event": …} file per event), and a round trip: a node's <c>indicators export --format misp-feed</c> read back.
/// </summary>
public sealed class MispFeedTests
{
    // Shaped like an event of MISP's public feeds (field names and string-typed numbers as MISP writes them).
    private const string Event = """
        {"Event": {
          "uuid": "5e3c7e52-9a0c-4b1e-8f37-2f1c0a7b9d11", "info": "Phishing wave against energy operators", "date": "2026-11-30",
          "threat_level_id": "2", "analysis": "2", "published": true, "timestamp": "1764460800", "publish_timestamp": "1764460800",
          "Orgc": {"name": "CERT-XX", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"},
          "Tag": [{"name": "tlp:green"}, {"name": "misp-galaxy:threat-actor=\"APT-X\""}],
          "Attribute": [
            {"uuid": "a0000000-0000-4000-8000-000000000001", "type": "ip-dst", "category": "Network activity", "value": "198.51.100.23", "to_ids": true, "timestamp": "1764460800", "comment": ""},
            {"uuid": "a0000000-0000-4000-8000-000000000002", "type": "ip-src", "category": "Network activity", "value": "2001:db8::66", "to_ids": true, "timestamp": "1764460800"},
            {"uuid": "a0000000-0000-4000-8000-000000000003", "type": "ip-dst|port", "category": "Network activity", "value": "203.0.113.9|443", "to_ids": true, "timestamp": "1764460800"},
            {"uuid": "a0000000-0000-4000-8000-000000000004", "type": "domain", "category": "Network activity", "value": "login-energy.example", "to_ids": true, "timestamp": "1764460800"},
            {"uuid": "a0000000-0000-4000-8000-000000000005", "type": "hostname", "category": "Network activity", "value": "mail.login-energy.example", "to_ids": true, "timestamp": "1764460800"},
            {"uuid": "a0000000-0000-4000-8000-000000000006", "type": "url", "category": "Network activity", "value": "https://login-energy.example/owa/", "to_ids": true, "timestamp": "1764460800",
             "Tag": [{"name": "tlp:amber+strict"}]},
            {"uuid": "a0000000-0000-4000-8000-000000000007", "type": "md5", "category": "Payload delivery", "value": "d41d8cd98f00b204e9800998ecf8427e", "to_ids": true, "timestamp": "1764460800"},
            {"uuid": "a0000000-0000-4000-8000-000000000008", "type": "sha1", "category": "Payload delivery", "value": "da39a3ee5e6b4b0d3255bfef95601890afd80709", "to_ids": true, "timestamp": "1764460800"},
            {"uuid": "a0000000-0000-4000-8000-000000000009", "type": "filename|sha256", "category": "Payload delivery", "value": "invoice.pdf.exe|e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "to_ids": true, "timestamp": "1764460800"},
            {"uuid": "a0000000-0000-4000-8000-000000000010", "type": "email-src", "category": "Payload delivery", "value": "hr@login-energy.example", "to_ids": true, "timestamp": "1764460800"},
            {"uuid": "a0000000-0000-4000-8000-000000000011", "type": "vulnerability", "category": "External analysis", "value": "CVE-2024-3400", "to_ids": false, "timestamp": "1764460800"},
            {"uuid": "a0000000-0000-4000-8000-000000000012", "type": "ja3-fingerprint-md5", "category": "Network activity", "value": "e7d705a3286e19ea42f587b344ee6865", "to_ids": true, "timestamp": "1764460800"},
            {"uuid": "a0000000-0000-4000-8000-000000000013", "type": "AS", "category": "Network activity", "value": "AS64496", "to_ids": true, "timestamp": "1764460800"},
            {"uuid": "a0000000-0000-4000-8000-000000000014", "type": "domain", "category": "Network activity", "value": "deleted.example", "to_ids": true, "deleted": true, "timestamp": "1764460800"},
            {"uuid": "a0000000-0000-4000-8000-000000000015", "type": "domain", "category": "Network activity", "value": "context-only.example", "to_ids": false, "timestamp": "1764460800"},
            {"uuid": "a0000000-0000-4000-8000-000000000016", "type": "regkey", "category": "Persistence mechanism", "value": "HKLM\\Software\\Run\\x", "to_ids": true, "timestamp": "1764460800"},
            {"uuid": "a0000000-0000-4000-8000-000000000017", "type": "ip-dst", "value": "10.1.2.3", "to_ids": true, "timestamp": "1764460800"},
            "not an attribute"
          ],
          "Object": [{"name": "file", "Attribute": [
            {"uuid": "a0000000-0000-4000-8000-000000000018", "type": "sha512", "category": "Payload delivery", "value": "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e", "to_ids": true, "timestamp": "1764460800"}]}]
        }}
        """;

    private const string Manifest = """
        {"5e3c7e52-9a0c-4b1e-8f37-2f1c0a7b9d11": {"info": "Phishing wave against energy operators", "date": "2026-11-30", "analysis": "2",
          "threat_level_id": "2", "timestamp": "1764460800", "Orgc": {"name": "CERT-XX", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"}, "Tag": [{"name": "tlp:green"}]}}
        """;

    [Fact]
    public void Event_with_a_byte_that_is_not_utf8_is_skipped_with_its_offset_not_thrown()
    {
        // The STIX finding of fuzzing (docs/fuzzing.md) applies to MISP events too: same whole-file JSON path.
        var bytes = System.Text.Encoding.UTF8.GetBytes(Event);
        var at = Event.IndexOf("login-energy.example\"", StringComparison.Ordinal);
        bytes[System.Text.Encoding.UTF8.GetByteCount(Event.AsSpan(0, at))] = 0xFF;
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("e.json"), bytes);

        var (sightings, d) = ParseHarness.File(dir.File("e.json"), SourceFormat.MispFeed);

        Assert.Empty(sightings);
        Assert.Equal("invalid UTF-8", Assert.Single(d.SkippedSamples).Reason);
    }

    [Fact]
    public void Every_supported_attribute_type_becomes_a_sighting_of_the_right_type()
    {
        var (sightings, _) = ParseHarness.Text(Event, SourceFormat.MispFeed, homeNet: ["10.0.0.0/8"], fileName: "5e3c7e52-9a0c-4b1e-8f37-2f1c0a7b9d11.json");

        var byValue = sightings.ToDictionary(s => s.Value, s => s.Type);
        Assert.Equal(IndicatorType.Ipv4, byValue["198.51.100.23"]);
        Assert.Equal(IndicatorType.Ipv6, byValue["2001:db8::66"]);
        Assert.Equal(IndicatorType.Ipv4, byValue["203.0.113.9"]);
        Assert.Equal(IndicatorType.Domain, byValue["login-energy.example"]);
        Assert.Equal(IndicatorType.Domain, byValue["mail.login-energy.example"]);
        Assert.Equal(IndicatorType.Url, byValue["https://login-energy.example/owa/"]);
        Assert.Equal(IndicatorType.Md5, byValue["d41d8cd98f00b204e9800998ecf8427e"]);
        Assert.Equal(IndicatorType.Sha1, byValue["da39a3ee5e6b4b0d3255bfef95601890afd80709"]);
        Assert.Equal(IndicatorType.Sha256, byValue["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]);
        Assert.Equal(IndicatorType.Email, byValue["hr@login-energy.example"]);
        Assert.Equal(IndicatorType.Cve, byValue["CVE-2024-3400"]);
        Assert.Equal(IndicatorType.Ja3, byValue["e7d705a3286e19ea42f587b344ee6865"]);
        Assert.Equal(IndicatorType.Asn, byValue["64496"]);
        Assert.Equal(IndicatorType.Sha512, byValue["cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"]); // from a MISP object
        Assert.Equal(14, sightings.Count);
        Assert.Equal("invoice.pdf.exe", sightings.Single(s => s.Type == IndicatorType.Sha256).Context["filename"]);
    }

    [Fact]
    public void Tlp_tags_mark_sightings_the_attribute_tag_overriding_the_event_tag()
    {
        var (sightings, _) = ParseHarness.Text(Event, SourceFormat.MispFeed, fileName: "e.json");

        Assert.Equal(Tlp.AmberStrict, sightings.Single(s => s.Type == IndicatorType.Url).Tlp);
        Assert.All(sightings.Where(s => s.Type != IndicatorType.Url), s => Assert.Equal(Tlp.Green, s.Tlp));
        Assert.Contains("misp-galaxy:threat-actor=\"apt-x\"", sightings[0].Tags);
        Assert.Equal("Phishing wave against energy operators", sightings[0].Description);
    }

    [Fact]
    public void Deleted_context_only_unknown_and_broken_attributes_are_reported_and_the_rest_kept()
    {
        var (sightings, d) = ParseHarness.Text(Event, SourceFormat.MispFeed, homeNet: ["10.0.0.0/8"], fileName: "e.json");

        Assert.DoesNotContain(sightings, s => s.Value is "deleted.example" or "context-only.example" or "10.1.2.3");
        Assert.Equal(1, d.Ignored["misp attribute deleted"]);
        Assert.Equal(1, d.Ignored["misp attribute with to_ids false (context, not for detection)"]);
        Assert.Contains(d.SkippedSamples, s => s.Reason == "misp attribute type not supported" && s.Detail!.StartsWith("regkey", StringComparison.Ordinal));
        Assert.Contains(d.SkippedSamples, s => s.Reason == "misp attribute is not an object");
        Assert.Contains(sightings, s => s.Value == "CVE-2024-3400"); // to_ids false is normal for vulnerabilities
    }

    [Theory]
    [InlineData("{\"Event\": {\"uuid\": \"x\", \"Attribute\": [", "invalid JSON (truncated or malformed)")]
    [InlineData("[1, 2, 3]", "not a MISP feed event ({\"Event\": {...}}) or manifest")]
    [InlineData("{\"Event\": {\"Attribute\": {\"type\": \"domain\"}}}", "misp Attribute is not a list")]
    [InlineData("{\"Event\": {\"Attribute\": [{\"type\": \"domain\"}]}}", "misp attribute without type or value")]
    public void Malformed_feed_files_are_skipped_with_the_reason(string text, string reason)
    {
        var (sightings, d) = ParseHarness.Text(text, SourceFormat.MispFeed, fileName: "bad.json");

        Assert.Empty(sightings);
        Assert.Contains(d.SkippedSamples, s => s.Reason == reason);
    }

    [Fact]
    public void The_manifest_is_recognised_and_names_no_sightings()
    {
        var (sightings, d) = ParseHarness.Text(Manifest, SourceFormat.MispFeed, fileName: "manifest.json");

        Assert.Empty(sightings);
        Assert.Equal(1, d.Ignored["misp manifest (events are read from their own files)"]);
        Assert.Empty(d.SkippedSamples);
    }

    [Fact]
    public async Task A_nodes_misp_feed_export_reads_back_as_the_same_indicators()
    {
        using var dir = new TempDirectory();
        var node = DevFederation.Create(dir.Path, new DevFederationOptions { BasePort = 0 }).Nodes[0];
        var loaded = GatewayConfigFile.Load(node.ConfigPath);
        var validator = new SightingValidator(TimeProvider.System);
        var now = DateTimeOffset.UtcNow;
        var raw = new (IndicatorType Type, string Value, Tlp Tlp)[]
        {
            (IndicatorType.Ipv4, "198.51.100.7", Tlp.Green), (IndicatorType.Ipv6, "2001:db8::7", Tlp.Amber), (IndicatorType.Cidr, "203.0.113.0/24", Tlp.Amber),
            (IndicatorType.Domain, "evil.example", Tlp.Clear), (IndicatorType.Url, "http://evil.example/a", Tlp.Amber), (IndicatorType.Email, "x@evil.example", Tlp.Amber),
            (IndicatorType.Md5, "d41d8cd98f00b204e9800998ecf8427e", Tlp.AmberStrict), (IndicatorType.Sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", Tlp.Amber),
            (IndicatorType.Sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Tlp.Red),
            (IndicatorType.Ja3, "e7d705a3286e19ea42f587b344ee6865", Tlp.Amber), (IndicatorType.Ja4, "t13d1516h2_8daaf6152771_b186095e22b6", Tlp.Amber),
            (IndicatorType.Asn, "64496", Tlp.Green), (IndicatorType.Cve, "CVE-2024-3400", Tlp.Clear),
        };
        var items = raw.Select(r =>
        {
            var sighting = new Sighting { Type = r.Type, Value = r.Value, Tlp = r.Tlp, Confidence = 77, ObservedAt = Timestamp.FromDateTimeOffset(now), Sensor = "hidden-sensor" };
            sighting.Tags.Add("c2");
            sighting.Sectors.Add("energy");
            return validator.Validate(sighting, node.Id, "agent-x");
        }).ToList();
        await using (var store = await GatewayStore.OpenAsync(loaded.Resolve(loaded.Config.Node.Storage), TimeProvider.System, CancellationToken.None))
        {
            await store.CommitIngestAsync("agent-x", new byte[] { 1 }, items, CancellationToken.None);
        }

        var feed = Path.Combine(dir.Path, "feed");
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CliInvocation.InvokeAsync(GatewayCommandLine.Build(), ["indicators", "export", "--config", node.ConfigPath, "--format", "misp-feed", "--out", feed],
            new InvocationConfiguration { Output = output, Error = error }, TestContext.Current.CancellationToken);
        Assert.True(exit == 0, error.ToString());

        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(feed, "manifest.json"), TestContext.Current.CancellationToken))!.AsObject();
        Assert.All(manifest, e => Assert.True(File.Exists(Path.Combine(feed, e.Key + ".json")), e.Key));
        Assert.Equal(raw.Length, (await File.ReadAllLinesAsync(Path.Combine(feed, "hashes.csv"), TestContext.Current.CancellationToken)).Length);
        var back = new List<Sighting>();
        foreach (var file in Directory.GetFiles(feed, "*.json"))
        {
            var (sightings, d) = ParseHarness.File(file, SourceFormat.MispFeed);
            Assert.Empty(d.SkippedSamples);
            back.AddRange(sightings);
        }

        Assert.Equal(items.Select(i => i.Indicator!.Id).Order(), back.Select(s => validator.Validate(s, node.Id, "agent-y").Indicator!.Id).Order());
        foreach (var item in items.Select(i => i.Indicator!))
        {
            var read = back.Single(s => validator.Validate(s, node.Id, "agent-y").Indicator!.Id == item.Id);
            Assert.Equal(item.Tlp, read.Tlp);
            Assert.Equal(77u, read.Confidence);
            Assert.Contains("c2", read.Tags);
            Assert.Contains("energy", read.Sectors);
        }

        Assert.DoesNotContain("hidden-sensor", string.Concat(Directory.GetFiles(feed).Select(File.ReadAllText)), StringComparison.Ordinal);
        Assert.DoesNotContain("agent-x", string.Concat(Directory.GetFiles(feed).Select(File.ReadAllText)), StringComparison.Ordinal);
    }
}
