using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Tests.Cli;

namespace CyberCoop.Gateway.Tests.Configuration;

/// <summary>node.limits and node.reconnect are validated with the other fields: every error at once, each naming its field.</summary>
public sealed class LimitsConfigTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _baseDirectory;
    private readonly string _configPath;
    private readonly GatewayConfig _valid;

    public LimitsConfigTests()
    {
        var node = DevFederation.Create(_dir.Path, new DevFederationOptions { BasePort = 0 }).Nodes[0];
        _configPath = node.ConfigPath;
        _valid = GatewayConfigFile.Load(node.ConfigPath).Config;
        _baseDirectory = Path.GetDirectoryName(node.ConfigPath)!;
    }

    public void Dispose() => _dir.Dispose();

    private List<string> Validate(LimitsConfig? limits, ReconnectConfig? reconnect = null) =>
        GatewayConfigValidator.Validate(_valid with { Node = _valid.Node with { Limits = limits!, Reconnect = reconnect ?? new ReconnectConfig() } }, _baseDirectory);

    [Fact]
    public void Defaults_limit_each_agent_and_peer_and_are_valid()
    {
        var limits = _valid.Node.Limits;
        Assert.Equal((5_000, 10_000, 8), (limits.AgentSightingsPerSecond, limits.AgentSightingsBurst, limits.AgentMaxStreams));
        Assert.Equal((200, 400, 4), (limits.PeerEnvelopesPerSecond, limits.PeerEnvelopesBurst, limits.PeerMaxStreams));
        Assert.Equal(64, limits.CallerMaxConnections);
        Assert.Equal((200, 10, 300), (_valid.Node.Reconnect.MinBackoffMilliseconds, _valid.Node.Reconnect.MaxBackoffSeconds, _valid.Node.Reconnect.DeniedMaxBackoffSeconds));
        Assert.Empty(Validate(new LimitsConfig()));
    }

    [Fact]
    public void Every_bad_limit_is_reported_at_once_naming_its_field()
    {
        var errors = Validate(
            new LimitsConfig { AgentSightingsPerSecond = 0, AgentSightingsBurst = 4_999, AgentMaxStreams = 0, PeerEnvelopesPerSecond = -1, PeerEnvelopesBurst = 0, PeerMaxStreams = 1_001, CallerMaxConnections = 0 },
            new ReconnectConfig { MinBackoffMilliseconds = 5, MaxBackoffSeconds = 0, DeniedMaxBackoffSeconds = 86_401 });

        Assert.Contains("node.limits.agentSightingsPerSecond: 0 must be between 1 and 1000000", errors);
        Assert.Contains(errors, e => e.StartsWith("node.limits.agentSightingsBurst: 4999 must hold at least one full batch (5000 sightings)", StringComparison.Ordinal));
        Assert.Contains("node.limits.agentMaxStreams: 0 must be between 1 and 1000", errors);
        Assert.Contains("node.limits.peerEnvelopesPerSecond: -1 must be between 1 and 100000", errors);
        Assert.Contains("node.limits.peerEnvelopesBurst: 0 must be between 1 and 1000000", errors);
        Assert.Contains("node.limits.peerMaxStreams: 1001 must be between 1 and 1000", errors);
        Assert.Contains("node.limits.callerMaxConnections: 0 must be between 1 and 1000", errors);
        Assert.Contains("node.reconnect.minBackoffMilliseconds: 5 must be between 10 and 60000", errors);
        Assert.Contains("node.reconnect.maxBackoffSeconds: 0 must be between 1 and 3600", errors);
        Assert.Contains("node.reconnect.deniedMaxBackoffSeconds: 86401 must be between 1 and 86400", errors);
    }

    [Fact]
    public void Keepalive_defaults_to_20_and_10_seconds_and_bad_values_are_refused_naming_the_field()
    {
        Assert.Equal((20, 10), (_valid.Node.Keepalive.IntervalSeconds, _valid.Node.Keepalive.TimeoutSeconds));
        var errors = GatewayConfigValidator.Validate(
            _valid with { Node = _valid.Node with { Keepalive = new KeepaliveConfig { IntervalSeconds = 0, TimeoutSeconds = 601 } } }, _baseDirectory);
        Assert.Contains("node.keepalive.intervalSeconds: 0 must be between 1 and 3600", errors);
        Assert.Contains("node.keepalive.timeoutSeconds: 601 must be between 1 and 600", errors);
        Assert.Contains("node.keepalive: must not be null",
            GatewayConfigValidator.Validate(_valid with { Node = _valid.Node with { Keepalive = null! } }, _baseDirectory));
    }

    [Fact]
    public void A_missing_section_and_a_denied_cap_below_the_ordinary_cap_are_refused()
    {
        Assert.Contains("node.limits: must not be null", Validate(null));
        Assert.Contains("node.reconnect.deniedMaxBackoffSeconds: 5 must be at least node.reconnect.maxBackoffSeconds (10)",
            Validate(new LimitsConfig(), new ReconnectConfig { DeniedMaxBackoffSeconds = 5 }));
    }

    [Fact]
    public void Limits_are_read_from_gateway_json_and_unknown_fields_are_refused()
    {
        var path = _configPath;
        var document = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        document["node"]!["limits"] = System.Text.Json.Nodes.JsonNode.Parse("""{ "agentSightingsPerSecond": 123, "peerMaxStreams": 2 }""");
        var json = document.ToJsonString();
        File.WriteAllText(path, json);

        var loaded = GatewayConfigFile.Load(path).Config.Node.Limits;

        Assert.Equal(123, loaded.AgentSightingsPerSecond);
        Assert.Equal(2, loaded.PeerMaxStreams);
        Assert.Equal(10_000, loaded.AgentSightingsBurst);
        File.WriteAllText(path, json.Replace("\"peerMaxStreams\"", "\"peerMaxStream\"", StringComparison.Ordinal));
        var error = Assert.Throws<GatewayConfigException>(() => GatewayConfigFile.Load(path));
        Assert.Contains("peerMaxStream", string.Join("\n", error.Errors), StringComparison.Ordinal);
    }
}
