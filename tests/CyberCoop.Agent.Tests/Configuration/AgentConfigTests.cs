using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Parsing;
using CyberCoop.Contracts.V1;

namespace CyberCoop.Agent.Tests.Configuration;

public sealed class AgentConfigTests(DevFederationFixture federation) : IClassFixture<DevFederationFixture>
{
    [Fact]
    public void Every_agent_json_written_by_certs_dev_loads_with_paths_resolved()
    {
        var agents = federation.Layout.Nodes.SelectMany(n => n.Agents).ToList();
        Assert.NotEmpty(agents);

        foreach (var agent in agents)
        {
            var settings = AgentConfigLoader.Load(agent.ConfigPath);

            Assert.Equal(agent.Name, settings.Name);
            Assert.True(File.Exists(settings.CertificatePath));
            Assert.StartsWith(agent.Directory, settings.SpoolDirectory, StringComparison.Ordinal);
            Assert.Equal(Tlp.Amber, settings.Sources[0].Profile.Tlp);
            Assert.Equal("home-net address", settings.Filter.Reject(IndicatorType.Ipv4, "10.1.2.3"));
        }
    }

    [Fact]
    public void Invalid_config_reports_every_problem_naming_its_field()
    {
        using var dir = new TempDirectory();
        var path = dir.File("agent.json");
        File.WriteAllText(path, """
            {
              "name": "Bad Name",
              "trustDomain": "ee.cybercoop",
              "gateway": { "address": "http://127.0.0.1:7401", "expectedId": "spiffe://fi.cybercoop/gateway/x" },
              "tls": { "certificate": "missing.crt", "key": "missing.key", "root": "root.crt" },
              "homeNet": ["10.0.0.0/33"],
              "sources": [
                { "name": "eve", "path": "/var/log/*/eve.json", "format": "snort", "tlp": "PURPLE", "confidence": 101 },
                { "name": "feed", "path": "feed.csv", "format": "csv" }
              ],
              "batch": { "maxItems": 6000 },
              "spool": { "maxBytes": 10 }
            }
            """);

        var ex = Assert.Throws<AgentConfigException>(() => AgentConfigLoader.Load(path));

        var expectedFields = new[]
        {
            "name:", "gateway.address:", "gateway.expectedId:", "tls.certificate:", "tls.key:", "tls.root:", "tls.rootPin:",
            "homeNet[0]:", "sources[0].path:", "sources[0].format:", "sources[0].tlp:", "sources[0].confidence:",
            "sources[1].mapping:", "spool.maxBytes:", "batch.maxItems:",
        };
        foreach (var field in expectedFields)
        {
            Assert.Contains(ex.Errors, e => e.StartsWith(field, StringComparison.Ordinal));
        }

        Assert.Equal(expectedFields.Length, ex.Errors.Count);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(3601)]
    public void Rotation_grace_outside_0_to_3600_seconds_is_refused_naming_the_field(int seconds)
    {
        using var dir = new TempDirectory();
        var path = WithField(dir, "rotationGraceSeconds", seconds);

        var ex = Assert.Throws<AgentConfigException>(() => AgentConfigLoader.Load(path));

        Assert.Equal($"rotationGraceSeconds: {seconds} must be between 0 and 3600", Assert.Single(ex.Errors));
    }

    [Fact]
    public void Rotation_grace_defaults_to_30_seconds_and_can_be_set()
    {
        using var dir = new TempDirectory();
        var agent = federation.Layout.Nodes.SelectMany(n => n.Agents).First();

        Assert.Equal(TimeSpan.FromSeconds(30), AgentConfigLoader.Load(agent.ConfigPath).RotationGrace);
        Assert.Equal(TimeSpan.FromSeconds(120), AgentConfigLoader.Load(WithField(dir, "rotationGraceSeconds", 120)).RotationGrace);
        Assert.Equal(TimeSpan.Zero, AgentConfigLoader.Load(WithField(dir, "rotationGraceSeconds", 0)).RotationGrace);
    }

    [Fact]
    public void Keepalive_defaults_to_30_and_15_seconds_can_be_set_and_out_of_range_values_are_refused_naming_the_field()
    {
        var agent = federation.Layout.Nodes.SelectMany(n => n.Agents).First();
        var defaults = AgentConfigLoader.Load(agent.ConfigPath);
        Assert.Equal((TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(15)), (defaults.KeepaliveInterval, defaults.KeepaliveTimeout));

        string WithKeepalive(string keepalive)
        {
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(agent.ConfigPath))!.AsObject();
            json["gateway"]!["keepalive"] = System.Text.Json.Nodes.JsonNode.Parse(keepalive);
            var path = Path.Combine(agent.Directory, $"agent-keepalive-{Guid.NewGuid():n}.json");
            File.WriteAllText(path, json.ToJsonString());
            return path;
        }

        var set = AgentConfigLoader.Load(WithKeepalive("""{ "intervalSeconds": 5, "timeoutSeconds": 2 }"""));
        Assert.Equal((TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2)), (set.KeepaliveInterval, set.KeepaliveTimeout));
        var ex = Assert.Throws<AgentConfigException>(() => AgentConfigLoader.Load(WithKeepalive("""{ "intervalSeconds": 0, "timeoutSeconds": 601 }""")));
        Assert.Equal(
            ["gateway.keepalive.intervalSeconds: 0 must be between 1 and 3600", "gateway.keepalive.timeoutSeconds: 601 must be between 1 and 600"],
            ex.Errors);
    }

    /// <summary>A copy of a working agent.json (beside the original, so its relative paths resolve) with one field set.</summary>
    private string WithField(TempDirectory dir, string field, int value)
    {
        var agent = federation.Layout.Nodes.SelectMany(n => n.Agents).First();
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(agent.ConfigPath))!.AsObject();
        json[field] = value;
        var path = Path.Combine(agent.Directory, $"agent-{field}-{value}-{Path.GetFileName(dir.Path)}.json");
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    [Fact]
    public void Config_file_with_a_byte_that_is_not_utf8_is_refused_naming_the_offset()
    {
        // Found by fuzzing (fuzz/fuzz agent-config, docs/fuzzing.md): a bad byte in a property name threw
        // InvalidOperationException out of the loader instead of an AgentConfigException.
        using var dir = new TempDirectory();
        var path = dir.File("agent.json");
        var bytes = System.Text.Encoding.UTF8.GetBytes("""{ "name": "misp", "sources": [ { "name": "x", "path": "eve.json" } ] }""");
        var at = Array.IndexOf(bytes, (byte)'p', 40);
        bytes[at] = 0xDC;
        File.WriteAllBytes(path, bytes);

        var ex = Assert.Throws<AgentConfigException>(() => AgentConfigLoader.Load(path));

        Assert.Equal($"$: the file is not UTF-8 text (first invalid byte at offset {at})", Assert.Single(ex.Errors));
    }

    [Fact]
    public void Config_file_naming_a_field_twice_is_refused_as_a_config_error()
    {
        // Found by fuzzing (fuzz/fuzz agent-config, docs/fuzzing.md): a duplicate key threw ArgumentException out of the loader.
        using var dir = new TempDirectory();
        var path = dir.File("agent.json");
        File.WriteAllText(path, """{ "name": "a", "name": "b", "sources": [ { "name": "x", "path": "eve.json" } ] }""");

        var ex = Assert.Throws<AgentConfigException>(() => AgentConfigLoader.Load(path));

        Assert.Contains("name", Assert.Single(ex.Errors), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "name": "a", "Name": "b", "sources": [ { "name": "x", "path": "eve.json" } ] }""",
        "Name: the field is given twice, as \"name\" and as \"Name\" (field names are not case-sensitive)")]
    [InlineData("""{ "name": "a", "spool": { "directory": "s" }, "sources": [ { "name": "x", "path": "eve.json" }, { "name": "y", "path": "e", "PATH": "f" } ] }""",
        "sources[1].PATH: the field is given twice, as \"path\" and as \"PATH\" (field names are not case-sensitive)")]
    [InlineData("""{ "name": "a", "sources": [ { "name": "x", "path": "eve.json", "mapping": { "value": "v", "VALUE": "w" } } ] }""",
        "sources[0].mapping.VALUE: the field is given twice, as \"value\" and as \"VALUE\" (field names are not case-sensitive)")]
    public void Config_file_naming_a_field_twice_in_different_case_is_refused_naming_both(string json, string error)
    {
        // Found by fuzzing (fuzz/fuzz agent-config, docs/fuzzing.md, session 10): agent.json's names are not case-sensitive,
        // so "s" and "S" are one field, but the parser's duplicate check compares exactly and JsonObject threw ArgumentException.
        using var dir = new TempDirectory();
        var path = dir.File("agent.json");
        File.WriteAllText(path, json);

        var ex = Assert.Throws<AgentConfigException>(() => AgentConfigLoader.Load(path));

        Assert.Equal(error, Assert.Single(ex.Errors));
    }

    [Fact]
    public void Config_file_with_the_same_name_in_different_objects_or_case_is_not_a_duplicate()
    {
        var agent = federation.Layout.Nodes[0].Agents[0];
        var path = WithSources(agent, "names-in-any-case.json", """
            [ { "name": "x", "path": "eve.json", "format": "eve" }, { "NAME": "y", "Path": "zeek.log", "Format": "zeek" } ]
            """);

        var settings = AgentConfigLoader.Load(path);

        Assert.Equal(["x", "y"], settings.Sources.Select(s => s.Name));
    }

    [Fact]
    public void Unknown_field_is_an_error_naming_its_path()
    {
        using var dir = new TempDirectory();
        var path = dir.File("agent.json");
        File.WriteAllText(path, """{ "name": "a", "sources": [ { "name": "x", "pth": "eve.json" } ] }""");

        var ex = Assert.Throws<AgentConfigException>(() => AgentConfigLoader.Load(path));

        Assert.Contains(ex.Errors, e => e.StartsWith("sources[0].pth: unknown field", StringComparison.Ordinal) && e.Contains("path", StringComparison.Ordinal));
    }

    [Fact]
    public void Type_errors_are_reported_all_at_once_together_with_validation_errors_each_naming_its_field()
    {
        // System.Text.Json stops at the first value of the wrong type: the operator fixed one field per try.
        using var dir = new TempDirectory();
        var path = dir.File("agent.json");
        File.WriteAllText(path, """
            {
              "name": 42,
              "trustDomain": "EE CyberCoop",
              "gateway": { "address": "https://127.0.0.1:7401", "expectedId": "spiffe://ee.cybercoop/gateway/tallinn" },
              "tls": { "certificate": "a.crt", "key": "a.key", "root": "root.crt", "rootPin": true },
              "homeNet": "10.0.0.0/8",
              "sources": [ { "name": "eve", "path": "eve.json", "format": "eve", "confidence": "high", "tags": ["ids", 7] } ],
              "batch": { "maxItems": "lots", "lingerMilliseconds": 1.5 },
              "spool": { "maxBytes": 99999999999999999999 },
              "pollMiliseconds": 50
            }
            """);

        var ex = Assert.Throws<AgentConfigException>(() => AgentConfigLoader.Load(path));

        string Only(string field) => Assert.Single(ex.Errors, e => e.StartsWith(field + ":", StringComparison.Ordinal));
        Assert.Contains("expected a string in quotes, found the number 42", Only("name"), StringComparison.Ordinal);
        Assert.Contains("expected a string in quotes, found true", Only("tls.rootPin"), StringComparison.Ordinal);
        Assert.Contains("expected a list [ ... ], found the string \"10.0.0.0/8\"", Only("homeNet"), StringComparison.Ordinal);
        Assert.Contains("expected a whole number", Only("sources[0].confidence"), StringComparison.Ordinal);
        Assert.Contains("found the number 7", Only("sources[0].tags[1]"), StringComparison.Ordinal);
        Assert.Contains("found the string \"lots\"", Only("batch.maxItems"), StringComparison.Ordinal);
        Assert.Contains("found the number 1.5", Only("batch.lingerMilliseconds"), StringComparison.Ordinal);
        Assert.Contains("found the number 99999999999999999999", Only("spool.maxBytes"), StringComparison.Ordinal);
        Assert.Contains("unknown field", Only("pollMiliseconds"), StringComparison.Ordinal);
        Assert.Contains("EE CyberCoop", Only("trustDomain"), StringComparison.Ordinal); // a validation error, in the same report
        Assert.Contains(ex.Errors, e => e.StartsWith("tls.certificate:", StringComparison.Ordinal)); // missing file, ditto
        Assert.Contains("name: expected", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_config_file_is_reported_not_thrown_as_io_error()
    {
        var ex = Assert.Throws<AgentConfigException>(() => AgentConfigLoader.Load("/nonexistent/agent.json"));

        Assert.Equal("file not found", Assert.Single(ex.Errors));
    }

    [Fact]
    public void Mapping_needs_a_value_field_and_one_kind_of_type()
    {
        var errors = new List<string>();

        var mapping = AgentConfigValidator.ValidateMapping(new FieldMappingConfig { Type = "kind", FixedType = "domain", Delimiter = ";;" }, "m", errors);

        Assert.Null(mapping);
        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("m.value:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("m.type:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("m.delimiter:", StringComparison.Ordinal));
    }

    [Fact]
    public void Source_format_names_are_recognised()
    {
        Assert.True(SourceFormats.TryParse("EVE", out var f) && f == SourceFormat.Eve);
        Assert.True(SourceFormats.TryParse("zeek", out f) && f == SourceFormat.Zeek);
        Assert.False(SourceFormats.TryParse("snort", out _));
    }

    [Fact]
    public void Misp_feed_url_source_loads_with_its_defaults_and_settings()
    {
        var agent = federation.Layout.Nodes[0].Agents[0];
        var path = WithSources(agent, "feed-good.json", """
            [
              { "name": "circl", "format": "misp-feed", "url": "https://www.circl.lu/doc/misp/feed-osint" },
              { "name": "cert", "format": "misp-feed", "url": "https://misp.cert.example/feeds/x/manifest.json", "pollSeconds": 60,
                "timeoutSeconds": 10, "maxBytes": 1048576, "caFile": "root.crt" }
            ]
            """);

        var settings = AgentConfigLoader.Load(path);

        var circl = settings.Sources[0].Feed!;
        Assert.Equal("https://www.circl.lu/doc/misp/feed-osint/", circl.BaseUrl.AbsoluteUri);
        Assert.Equal(TimeSpan.FromMinutes(5), circl.PollInterval);
        Assert.Equal(TimeSpan.FromSeconds(60), circl.Timeout);
        Assert.Equal(64L * 1024 * 1024, circl.MaxBytes);
        Assert.Null(circl.CaFile);
        var cert = settings.Sources[1].Feed!;
        Assert.Equal("https://misp.cert.example/feeds/x/", cert.BaseUrl.AbsoluteUri);
        Assert.Equal(TimeSpan.FromSeconds(60), cert.PollInterval);
        Assert.Equal(TimeSpan.FromSeconds(10), cert.Timeout);
        Assert.Equal(1048576, cert.MaxBytes);
        Assert.True(File.Exists(cert.CaFile));
    }

    [Fact]
    public void Misp_feed_url_settings_that_are_wrong_are_each_reported_naming_the_field()
    {
        var agent = federation.Layout.Nodes[0].Agents[0];
        var path = WithSources(agent, "feed-bad.json", """
            [
              { "name": "a", "format": "misp-feed", "url": "http://misp.example/feed/" },
              { "name": "b", "format": "misp-feed", "url": "https://user:secret@misp.example/feed/" },
              { "name": "c", "format": "misp-feed", "url": "https://misp.example/feed/", "path": "x.json" },
              { "name": "d", "format": "eve", "url": "https://misp.example/feed/" },
              { "name": "e", "format": "misp-feed", "url": "https://misp.example/feed/", "pollSeconds": 0, "timeoutSeconds": 601, "maxBytes": 10 },
              { "name": "f", "format": "misp-feed", "url": "https://misp.example/feed/", "caFile": "no-such-ca.pem" },
              { "name": "g", "format": "misp-feed", "url": "https://misp.example/feed/", "caFile": "agent.key" },
              { "name": "h", "format": "misp-feed", "path": "feed/*.json", "pollSeconds": 60 },
              { "name": "i", "format": "misp-feed", "url": "https://misp.example/feed/?key=1" }
            ]
            """);

        var ex = Assert.Throws<AgentConfigException>(() => AgentConfigLoader.Load(path));

        string[] expected =
        [
            "sources[0].url: 'http://misp.example/feed/' must be an absolute https:// URL",
            "sources[1].url: must not carry a user name or password",
            "sources[2]: give either path or url, not both",
            "sources[3].url: only the misp-feed format is read from a URL",
            "sources[4].pollSeconds: 0 must be between 1 and 86400",
            "sources[4].timeoutSeconds: 601 must be between 1 and 600",
            "sources[4].maxBytes: 10 must be between 1024 and 268435456",
            "sources[5].caFile: file '",
            "sources[6].caFile: ",
            "sources[7]: pollSeconds, caFile, timeoutSeconds and maxBytes apply to a misp-feed url only",
            "sources[8].url: must not carry a query or fragment",
        ];
        foreach (var prefix in expected)
        {
            Assert.Contains(ex.Errors, e => e.StartsWith(prefix, StringComparison.Ordinal));
        }

        Assert.Contains(ex.Errors, e => e.StartsWith("sources[6].caFile: ", StringComparison.Ordinal) && e.Contains("private key", StringComparison.Ordinal));
        Assert.Equal(expected.Length, ex.Errors.Count);
        Assert.DoesNotContain(ex.Errors, e => e.Contains("secret", StringComparison.Ordinal));
    }

    /// <summary>A copy of a dev agent's config (same folder, so its relative paths hold) with other sources.</summary>
    private static string WithSources(CyberCoop.Gateway.Cli.Certs.DevAgent agent, string fileName, string sources)
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(agent.ConfigPath))!.AsObject();
        json["sources"] = System.Text.Json.Nodes.JsonNode.Parse(sources);
        var path = Path.Combine(Path.GetDirectoryName(agent.ConfigPath)!, fileName);
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }
}
