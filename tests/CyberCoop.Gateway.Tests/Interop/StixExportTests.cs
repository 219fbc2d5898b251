using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CyberCoop.Gateway.Tests.Cli;
using CyberCoop.Testing;

namespace CyberCoop.Gateway.Tests.Interop;

/// <summary><c>indicators export --format stix</c> over a real node store, checked against the STIX 2.1 schemas.</summary>
public sealed class StixExportTests : IDisposable
{
    private static readonly StixSchemaSet s_schemas = new();
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Export_of_every_indicator_type_validates_against_the_STIX_2_1_schemas()
    {
        using var bundle = await ExportAsync();

        var errors = s_schemas.ValidateBundle(bundle.RootElement);

        Assert.True(errors.Count == 0, string.Join(Environment.NewLine, errors));
        var types = Objects(bundle).GroupBy(o => o.GetProperty("type").GetString()).ToDictionary(g => g.Key!, g => g.Count());
        Assert.Equal(13 + 2, types["indicator"]); // 13 own types with a pattern + 2 from the ally
        Assert.Equal(1, types["vulnerability"]);
        Assert.Equal(2, types["identity"]);
        Assert.Equal(2, types["marking-definition"]); // AMBER (own, and the shared domain: a merge never lowers TLP), CLEAR (ally)
    }

    [Theory]
    [InlineData("ipv4", "[ipv4-addr:value = '198.51.100.7']")]
    [InlineData("ipv6", "[ipv6-addr:value = '2001:db8::7']")]
    [InlineData("cidr", "[ipv4-addr:value = '203.0.113.0/24']")]
    [InlineData("domain", "[domain-name:value = 'evil.example']")]
    [InlineData("email", "[email-addr:value = 'phish@evil.example']")]
    [InlineData("md5", "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']")]
    [InlineData("sha1", "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']")]
    [InlineData("sha256", "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']")]
    [InlineData("ja3", "[network-traffic:x_ja3_md5 = 'e7d705a3286e19ea42f587b344ee6865']")]
    [InlineData("ja4", "[network-traffic:x_ja4 = 't13d1516h2_8daaf6152771_b186095e22b6']")]
    [InlineData("asn", "[autonomous-system:number = 64496]")]
    public async Task Each_type_gets_the_STIX_pattern_of_its_observable(string ourType, string pattern)
    {
        using var bundle = await ExportAsync();

        var own = OwnIndicators(bundle).Single(o => o.GetProperty("x_cybercoop_type").GetString() == ourType);

        Assert.Equal(pattern, own.GetProperty("pattern").GetString());
        Assert.Equal("stix", own.GetProperty("pattern_type").GetString());
    }

    [Fact]
    public async Task Quotes_and_backslashes_in_values_are_escaped_in_the_pattern()
    {
        using var bundle = await ExportAsync();

        var url = OwnIndicators(bundle).Single(o => o.GetProperty("x_cybercoop_type").GetString() == "url");

        // STIX 2.1 section 9: inside a string literal ' and \ are escaped with a backslash.
        Assert.Contains(@"it\'s", url.GetProperty("pattern").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("it's", url.GetProperty("pattern").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tlp_is_marked_with_the_official_OASIS_TLP_2_0_marking_definitions()
    {
        using var bundle = await ExportAsync();

        var own = OwnIndicators(bundle).First();
        Assert.Equal("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", own.GetProperty("object_marking_refs")[0].GetString()); // TLP:AMBER 2.0
        var markings = Objects(bundle).Where(o => o.GetProperty("type").GetString() == "marking-definition").ToList();
        Assert.DoesNotContain(markings, m => m.GetProperty("id").GetString()!.Contains("f88d31f6", StringComparison.Ordinal)); // TLP 1.0 AMBER
        Assert.Contains(markings, m => m.GetProperty("id").GetString() == "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"); // CLEAR 2.0
    }

    [Fact]
    public void Every_marking_definition_we_write_equals_the_OASIS_published_object()
    {
        var oasis = TestData.Sample("stix/tlp2");
        var compared = 0;
        foreach (var tlp in new[] { Contracts.V1.Tlp.Clear, Contracts.V1.Tlp.Green, Contracts.V1.Tlp.Amber, Contracts.V1.Tlp.AmberStrict, Contracts.V1.Tlp.Red })
        {
            var ours = Gateway.Interop.Stix.StixExporter.Marking(tlp).Json;
            var file = Path.Combine(oasis, (string)ours["id"]! + ".json");
            if (!File.Exists(file))
            {
                continue; // CLEAR and AMBER are not in the shared copy; their ids are checked in the export test
            }

            var published = JsonNode.Parse(File.ReadAllText(file))!["objects"]![0]!;
            Assert.True(JsonNode.DeepEquals(published, ours), $"{tlp}: ours {ours.ToJsonString()} published {published.ToJsonString()}");
            compared++;
        }

        Assert.Equal(3, compared); // GREEN, AMBER+STRICT, RED
    }

    [Fact]
    public async Task Export_names_origins_by_trust_domain_and_never_a_sensor_agent_gateway_or_internal_host()
    {
        var node = InteropSeed.CreateNode(_dir.Path);
        await InteropSeed.SeedAsync(node, DateTimeOffset.UtcNow);

        var text = await ExportTextAsync(node);

        foreach (var secret in new[] { InteropSeed.Sensor, InteropSeed.Agent, InteropSeed.AllySensor, "tallinn", "riga", node.Id, "scada-hmi-01" })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }

        using var bundle = JsonDocument.Parse(text);
        var identities = Objects(bundle).Where(o => o.GetProperty("type").GetString() == "identity").Select(o => o.GetProperty("name").GetString()!);
        Assert.Equal(new[] { InteropSeed.AllyDomain, node.TrustDomain }.Order(StringComparer.Ordinal), identities.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_indicator_seen_by_two_nations_is_exported_once_per_origin_with_that_origins_view()
    {
        using var bundle = await ExportAsync();

        var both = Objects(bundle).Where(o => o.TryGetProperty("pattern", out var p) && p.GetString() == "[domain-name:value = 'evil.example']").ToList();

        Assert.Equal(2, both.Count);
        var identities = Objects(bundle).Where(o => o.GetProperty("type").GetString() == "identity")
            .ToDictionary(o => o.GetProperty("id").GetString()!, o => o.GetProperty("name").GetString()!);
        var ally = both.Single(o => identities[o.GetProperty("created_by_ref").GetString()!] == InteropSeed.AllyDomain);
        var own = both.Single(o => identities[o.GetProperty("created_by_ref").GetString()!] != InteropSeed.AllyDomain);
        Assert.Equal(90, ally.GetProperty("confidence").GetInt32());
        Assert.Equal(70, own.GetProperty("confidence").GetInt32());
        Assert.NotEqual(ally.GetProperty("id").GetString(), own.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Re_export_is_byte_identical_and_ids_are_UUIDv5_in_the_STIX_namespace()
    {
        var node = InteropSeed.CreateNode(_dir.Path);
        await InteropSeed.SeedAsync(node, DateTimeOffset.UtcNow);

        var first = await ExportTextAsync(node);
        var second = await ExportTextAsync(node);

        Assert.Equal(first, second);
        using var bundle = JsonDocument.Parse(first);
        var ally = Objects(bundle).Single(o => o.TryGetProperty("pattern", out var p) && p.GetString() == "[ipv4-addr:value = '192.0.2.99']");
        var ourId = ally.GetProperty("x_cybercoop_indicator_id").GetString()!;
        Assert.Equal("indicator--" + UuidV5("00abedb4-aa42-466c-9c01-fed23315a9b7", "cybercoop:lv.cybercoop:" + ourId), ally.GetProperty("id").GetString());
        Assert.Equal("identity--" + UuidV5("00abedb4-aa42-466c-9c01-fed23315a9b7", "cybercoop-origin:lv.cybercoop"), ally.GetProperty("created_by_ref").GetString());
    }

    [Fact]
    public async Task Validity_confidence_and_CVE_references_are_carried()
    {
        var now = DateTimeOffset.UtcNow;
        var node = InteropSeed.CreateNode(_dir.Path);
        await InteropSeed.SeedAsync(node, now);
        using var bundle = JsonDocument.Parse(await ExportTextAsync(node));

        var ipv4 = OwnIndicators(bundle).Single(o => o.GetProperty("x_cybercoop_type").GetString() == "ipv4");
        Assert.True(DateTimeOffset.Parse(ipv4.GetProperty("valid_until").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > now.AddDays(29));
        Assert.True(DateTimeOffset.Parse(ipv4.GetProperty("valid_from").GetString()!, System.Globalization.CultureInfo.InvariantCulture) < now);
        Assert.Equal(70, ipv4.GetProperty("confidence").GetInt32());
        var reference = ipv4.GetProperty("external_references").EnumerateArray().Single();
        Assert.Equal("cve", reference.GetProperty("source_name").GetString());
        Assert.Equal("CVE-2023-4966", reference.GetProperty("external_id").GetString());

        var vulnerability = Objects(bundle).Single(o => o.GetProperty("type").GetString() == "vulnerability");
        Assert.Equal("CVE-2024-3400", vulnerability.GetProperty("name").GetString());
        Assert.Contains(vulnerability.GetProperty("external_references").EnumerateArray(), r => r.GetProperty("external_id").GetString() == "CVE-2024-3400");
    }

    [Fact]
    public async Task Origin_filter_exports_only_that_nations_content()
    {
        var node = InteropSeed.CreateNode(_dir.Path);
        await InteropSeed.SeedAsync(node, DateTimeOffset.UtcNow);

        var result = await CliRun.RunAsync("indicators", "export", "--config", node.ConfigPath, "--format", "stix", "--origin", InteropSeed.AllyDomain);

        Assert.Equal(0, result.ExitCode);
        using var bundle = JsonDocument.Parse(result.Output);
        Assert.Equal(2, Objects(bundle).Count(o => o.GetProperty("type").GetString() == "indicator"));
        Assert.Empty(s_schemas.ValidateBundle(bundle.RootElement));
    }

    [Fact]
    public void The_schema_set_rejects_objects_that_break_the_spec()
    {
        const string Good = """
            {"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z",
             "modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '192.0.2.1']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}
            """;
        Assert.Empty(s_schemas.ValidateObject(JsonDocument.Parse(Good).RootElement));

        foreach (var (change, why) in new (Action<JsonObject>, string)[]
        {
            (o => o.Remove("pattern"), "pattern is required"),
            (o => o["confidence"] = 101, "confidence is 0-100"),
            (o => o["created"] = "2026-01-01T00:00:00Z", "created needs milliseconds"),
            (o => o["spec_version"] = "2.0", "spec_version is 2.1"),
            (o => o["object_marking_refs"] = new JsonArray("tlp-amber"), "marking refs are identifiers"),
            (o => o["external_references"] = new JsonArray(new JsonObject { ["source_name"] = "cve", ["external_id"] = "cve-1" }), "CVE ids are CVE-YYYY-NNNN"),
            (o => o["Bad-Name"] = "x", "property names are lower_snake_case"),
        })
        {
            var broken = JsonNode.Parse(Good)!.AsObject();
            change(broken);
            Assert.True(s_schemas.ValidateObject(JsonDocument.Parse(broken.ToJsonString()).RootElement).Count > 0, why);
        }
    }

    [Fact]
    public void The_OASIS_example_indicator_bundle_validates_against_the_same_schemas()
    {
        var file = Path.Combine(TestData.Sample("stix"), "indicator-for-c2-ip-address.json");
        using var example = JsonDocument.Parse(File.ReadAllText(file));

        Assert.Empty(s_schemas.ValidateBundle(example.RootElement));
    }

    [Fact]
    public async Task Misp_feed_without_an_output_folder_is_a_usage_error()
    {
        var node = InteropSeed.CreateNode(_dir.Path);
        await InteropSeed.SeedAsync(node, DateTimeOffset.UtcNow);

        var result = await CliRun.RunAsync("indicators", "export", "--config", node.ConfigPath, "--format", "misp-feed");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--out", result.Error, StringComparison.Ordinal);
    }

    private async Task<JsonDocument> ExportAsync()
    {
        var node = InteropSeed.CreateNode(_dir.Path);
        await InteropSeed.SeedAsync(node, DateTimeOffset.UtcNow);
        return JsonDocument.Parse(await ExportTextAsync(node));
    }

    private async Task<string> ExportTextAsync(Gateway.Cli.Certs.DevNode node)
    {
        var file = Path.Combine(_dir.Path, "export-" + Guid.NewGuid().ToString("N") + ".json");
        var result = await CliRun.RunAsync("indicators", "export", "--config", node.ConfigPath, "--format", "stix", "--out", file);
        Assert.True(result.ExitCode == 0, result.ToString());
        return await File.ReadAllTextAsync(file);
    }

    private static List<JsonElement> Objects(JsonDocument bundle) => [.. bundle.RootElement.GetProperty("objects").EnumerateArray()];

    private static List<JsonElement> OwnIndicators(JsonDocument bundle)
    {
        var identities = Objects(bundle).Where(o => o.GetProperty("type").GetString() == "identity")
            .ToDictionary(o => o.GetProperty("id").GetString()!, o => o.GetProperty("name").GetString()!);
        return [.. Objects(bundle).Where(o => o.GetProperty("type").GetString() == "indicator"
            && identities[o.GetProperty("created_by_ref").GetString()!] != InteropSeed.AllyDomain)];
    }

    /// <summary>RFC 9562 UUIDv5, written here independently of the production code.</summary>
    private static string UuidV5(string ns, string name)
    {
        var input = Guid.Parse(ns).ToByteArray(bigEndian: true).Concat(Encoding.UTF8.GetBytes(name)).ToArray();
#pragma warning disable CA5350
        var hash = SHA1.HashData(input);
#pragma warning restore CA5350
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true).ToString("D");
    }
}
