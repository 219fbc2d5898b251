using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Tests.Cli;

namespace CyberCoop.Gateway.Tests.Configuration;

/// <summary>The config validator reports every problem at once, each naming its field, and a bad file never starts a node.</summary>
public sealed class GatewayConfigValidatorTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly DevNode _node;
    private readonly GatewayConfig _valid;

    public GatewayConfigValidatorTests()
    {
        _node = DevFederation.Create(_dir.Path, new DevFederationOptions { BasePort = 0 }).Nodes[0];
        _valid = GatewayConfigFile.Load(_node.ConfigPath).Config;
    }

    public void Dispose() => _dir.Dispose();

    private List<string> Validate(GatewayConfig config) => GatewayConfigValidator.Validate(config, Path.GetDirectoryName(_node.ConfigPath)!);

    [Fact]
    public void Generated_development_config_is_valid()
    {
        Assert.Empty(Validate(_valid));
    }

    [Fact]
    public void Own_trust_bundle_problems_are_reported_under_node_trust_bundle()
    {
        var directory = Path.GetDirectoryName(_node.ConfigPath)!;
        File.WriteAllBytes(Path.Combine(directory, "garbage.pb"), [0x0A, 0xFF, 0xFF]);
        File.Copy(Path.Combine(_dir.Path, "fi.cybercoop", "trust-bundle.pb"), Path.Combine(directory, "foreign.pb"));
        string Only(string file) => Assert.Single(Validate(_valid with { Node = _valid.Node with { TrustBundle = file } }));

        Assert.StartsWith("node.trustBundle: file", Only("missing.pb"), StringComparison.Ordinal);
        Assert.Contains("is not a signed trust bundle", Only("garbage.pb"), StringComparison.Ordinal);
        Assert.Contains("not signed by a root trusted for ee.cybercoop", Only("foreign.pb"), StringComparison.Ordinal);
        Assert.StartsWith("node.trustBundle: required", Only(""), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_error_is_reported_at_once_each_naming_its_field()
    {
        var bad = _valid with
        {
            Node = _valid.Node with
            {
                TrustDomain = "EE.CyberCoop",
                Name = "",
                Listen = "nowhere",
                Suite = "quantum",
                ReplayWindowSeconds = 1,
                Bundle = new BundleConfig { MaxIndicators = 0, LingerMilliseconds = 100 },
                Tls = _valid.Node.Tls with { Certificate = "missing.crt" },
            },
        };

        var errors = Validate(bad);

        foreach (var field in new[] { "node.trustDomain", "node.name", "node.listen", "node.suite", "node.replayWindowSeconds", "node.bundle.maxIndicators", "node.tls.certificate" })
        {
            Assert.Contains(errors, e => e.StartsWith(field + ":", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("nowhere", "is not host:port")]
    [InlineData("127.0.0.1:70000", "is not host:port")]
    [InlineData("metrics.example:9464", "is not host:port")]
    [InlineData("SAME-AS-LISTEN", "already the mTLS port")]
    public void Invalid_metrics_listen_is_refused_with_the_reason(string metricsListen, string reason)
    {
        var bad = _valid with
        {
            Node = _valid.Node with
            {
                Listen = "127.0.0.1:7400",
                MetricsListen = metricsListen == "SAME-AS-LISTEN" ? "127.0.0.1:7400" : metricsListen,
            },
        };

        var errors = Validate(bad);

        var error = Assert.Single(errors);
        Assert.StartsWith("node.metricsListen:", error, StringComparison.Ordinal);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Peer_errors_name_the_peer_index_and_field()
    {
        var peer = _valid.Peers[0];
        var bad = _valid with
        {
            Peers =
            [
                peer with
                {
                    Id = "spiffe://fi.cybercoop/agent/x",
                    Address = "http://insecure:1",
                    RootPin = "sha256:" + new string('0', 64),
                    Outbound = peer.Outbound with { TlpCeiling = "RED", AllowRed = false, AllowedTypes = ["ipv5"], MinConfidence = 101, Redact = ["password"] },
                    Inbound = peer.Inbound with { Mode = "maybe", TrustWeight = 1.5, TlpFloor = "PURPLE" },
                },
                peer with { },
            ],
        };

        var errors = Validate(bad);

        foreach (var field in new[]
        {
            "peers[0].id", "peers[0].address", "peers[0].rootPin", "peers[0].outbound.tlpCeiling", "peers[0].outbound.allowedTypes[0]",
            "peers[0].outbound.minConfidence", "peers[0].outbound.redact[0]", "peers[0].inbound.mode", "peers[0].inbound.trustWeight", "peers[0].inbound.tlpFloor",
        })
        {
            Assert.Contains(errors, e => e.StartsWith(field + ":", StringComparison.Ordinal));
        }

        Assert.Contains(errors, e => e.StartsWith("peers[1].id:", StringComparison.Ordinal) && e.Contains("more than once", StringComparison.Ordinal) || e.StartsWith("peers[0].id", StringComparison.Ordinal));
    }

    [Fact]
    public void Pin_that_does_not_match_the_root_file_is_refused_with_the_actual_pin_shown()
    {
        var peer = _valid.Peers[0];
        var bad = _valid with { Peers = [peer with { RootPin = "sha256:" + new string('a', 64) }] };

        var error = Assert.Single(Validate(bad));

        Assert.StartsWith("peers[0].rootPin: does not match", error, StringComparison.Ordinal);
        Assert.Contains(peer.RootPin.Replace("sha256:", "", StringComparison.Ordinal), error, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_json_is_reported_with_line_and_column()
    {
        var path = _dir.Combine("broken.json");
        File.WriteAllText(path, "{\n  \"node\": {\n    \"name\": \"x\",,\n  }\n}");

        var error = Assert.Throws<GatewayConfigException>(() => GatewayConfigFile.Load(path));

        Assert.Contains("line 3", Assert.Single(error.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_field_is_refused_so_typos_do_not_silently_fall_back_to_defaults()
    {
        var path = _dir.Combine("typo.json");
        File.WriteAllText(path, File.ReadAllText(_node.ConfigPath).Replace("\"listen\"", "\"lisen\"", StringComparison.Ordinal));

        var error = Assert.Throws<GatewayConfigException>(() => GatewayConfigFile.Load(path));

        Assert.Contains("lisen", string.Join(" ", error.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Type_errors_are_reported_all_at_once_together_with_validation_errors_each_naming_its_field()
    {
        // System.Text.Json stops at the first value of the wrong type: the operator fixed one field per start.
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(_node.ConfigPath))!;
        json["node"]!["name"] = "Bad Name";                      // validation error
        json["node"]!["replayWindowSeconds"] = "600";            // a string where a number belongs
        json["node"]!["maxHops"] = 2.5;                          // not a whole number
        json["node"]!["firstContact"] = "yes";                   // not true/false
        json["node"]!["tls"] = "tallinn.crt";                    // not an object
        json["peers"]![0]!["outbound"]!["minConfidence"] = "high";
        json["peers"]![0]!["outbound"]!["allowedTypes"] = "ipv4";
        json["peers"]![0]!["inbound"]!["trustWeight"] = true;
        json["peers"]![0]!["colour"] = "red";                    // unknown field
        var path = _dir.Combine("many-errors.json");
        File.WriteAllText(path, json.ToJsonString());

        var error = Assert.Throws<GatewayConfigException>(() => GatewayConfigFile.Load(path));

        string Only(string field) => Assert.Single(error.Errors, e => e.StartsWith(field + ":", StringComparison.Ordinal));
        Assert.Contains("expected a whole number", Only("node.replayWindowSeconds"), StringComparison.Ordinal);
        Assert.Contains("found the number 2.5", Only("node.maxHops"), StringComparison.Ordinal);
        Assert.Contains("expected true or false", Only("node.firstContact"), StringComparison.Ordinal);
        Assert.Contains("expected an object", Only("node.tls"), StringComparison.Ordinal);
        Assert.Contains("found the string \"high\"", Only("peers[0].outbound.minConfidence"), StringComparison.Ordinal);
        Assert.Contains("expected a list", Only("peers[0].outbound.allowedTypes"), StringComparison.Ordinal);
        Assert.Contains("expected a number, found true", Only("peers[0].inbound.trustWeight"), StringComparison.Ordinal);
        Assert.Contains("unknown field", Only("peers[0].colour"), StringComparison.Ordinal);
        Assert.Contains("Bad Name", Only("node.name"), StringComparison.Ordinal); // a validation error, in the same report
        Assert.DoesNotContain(error.Errors, e => e.StartsWith("node.tls.", StringComparison.Ordinal)); // not again as missing files
        Assert.Contains("node.maxHops: expected", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_config_file_is_reported_by_path()
    {
        var path = _dir.Combine("absent.json");

        var error = Assert.Throws<GatewayConfigException>(() => GatewayConfigFile.Load(path));

        Assert.Contains(path, Assert.Single(error.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Save_refuses_an_invalid_config_and_leaves_the_file_untouched()
    {
        var before = File.ReadAllText(_node.ConfigPath);

        Assert.Throws<GatewayConfigException>(() => GatewayConfigFile.Save(_node.ConfigPath, _valid with { Node = _valid.Node with { Name = "Bad Name" } }));

        Assert.Equal(before, File.ReadAllText(_node.ConfigPath));
    }

    [Fact]
    public async Task Serve_with_an_invalid_config_exits_1_and_names_the_field()
    {
        var path = _dir.Combine("invalid.json");
        File.WriteAllText(path, File.ReadAllText(_node.ConfigPath).Replace("\"maxHops\": 2", "\"maxHops\": 99", StringComparison.Ordinal));

        var result = await CliRun.RunAsync("serve", "--config", path);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("node.maxHops", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "storage.postgres.connectionString: required")]
    [InlineData("Database=cybercoop", "storage.postgres.connectionString: names no Host")]
    [InlineData("Host=db1", "storage.postgres.connectionString: names no Database")]
    [InlineData("Host=db1;Database=x;Bogus Keyword=1", "storage.postgres.connectionString: not a valid connection string")]
    [InlineData("Host=db1;Database=x;Port=notanumber", "storage.postgres.connectionString: not a valid connection string")]
    public void Bad_postgres_connection_string_is_refused_naming_the_field(string connectionString, string expected)
    {
        var bad = _valid with { Storage = new StorageConfig { Postgres = new PostgresConfig { ConnectionString = connectionString } } };

        var error = Assert.Single(Validate(bad));

        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Postgres_password_is_never_repeated_in_an_error()
    {
        var bad = _valid with { Storage = new StorageConfig { Postgres = new PostgresConfig { ConnectionString = "Host=db1;Database=x;Password=s3cret-pw;Port=x" } } };

        var error = Assert.Single(Validate(bad));

        Assert.DoesNotContain("s3cret-pw", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(601)]
    public void Outbox_lease_out_of_range_is_refused(int seconds)
    {
        var bad = _valid with { Storage = new StorageConfig { Postgres = new PostgresConfig { ConnectionString = "Host=db1;Database=x", OutboxLeaseSeconds = seconds } } };

        Assert.StartsWith("storage.postgres.outboxLeaseSeconds: must be 5-600", Assert.Single(Validate(bad)), StringComparison.Ordinal);
    }

    [Fact]
    public void Storage_section_without_an_engine_is_refused()
    {
        Assert.StartsWith("storage: give storage.postgres", Assert.Single(Validate(_valid with { Storage = new StorageConfig() })), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_with_an_unreachable_postgres_server_exits_with_one_line_naming_the_server()
    {
        var path = Path.Combine(Path.GetDirectoryName(_node.ConfigPath)!, "unreachable.json");
        var port = CyberCoop.Gateway.Hosting.LoopbackPorts.Reserve(); // nothing listens there
        var config = _valid with
        {
            Storage = new StorageConfig { Postgres = new PostgresConfig { ConnectionString = $"Host=127.0.0.1;Port={port};Database=cybercoop;Username=gw;Password=pw;Timeout=3" } },
        };
        File.WriteAllText(path, GatewayConfigFile.Serialize(config));

        var result = await CliRun.RunAsync("serve", "--config", path);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: the PostgreSQL store postgresql://127.0.0.1:{port}/cybercoop cannot be used:", line, StringComparison.Ordinal);
        Assert.DoesNotContain("pw", line.Replace("postgresql", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }
}
