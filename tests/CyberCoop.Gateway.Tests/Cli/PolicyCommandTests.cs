using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Xunit;

namespace CyberCoop.Gateway.Tests.Cli;

public sealed class PolicyCommandTests : IDisposable
{
    private const string Helsinki = "spiffe://fi.cybercoop/gateway/helsinki";
    private const string Riga = "spiffe://lv.cybercoop/gateway/riga";
    private readonly TempDirectory _temp = new();
    private readonly DevFederationLayout _federation;

    public PolicyCommandTests()
    {
        _federation = DevFederationFixture.Create(_temp.Path);
    }

    private string Tallinn => _federation.Nodes[0].ConfigPath;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Shared_indicator_is_printed_normalized_and_redacted()
    {
        var result = await CliRun.RunAsync("policy", "test", "--config", Tallinn, "--peer", Helsinki, "--indicator",
            """{"type":"domain","value":"Evil.Example.","tlp":"AMBER","confidence":80,"tags":["c2"],"sensor":"ids-1","context":{"signature":"ET internal-host-7"}}""");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("decision   SHARED", result.Output, StringComparison.Ordinal);
        Assert.Contains("\"value\": \"evil.example\"", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("ids-1", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("internal-host-7", result.Output, StringComparison.Ordinal);
        Assert.Contains("pass  tlp-above-ceiling", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Withheld_indicator_lists_every_failing_rule_and_no_payload()
    {
        var result = await CliRun.RunAsync("policy", "test", "--config", Tallinn, "--peer", Riga, "--indicator",
            """{"type":"md5","value":"d41d8cd98f00b204e9800998ecf8427e","tlp":"RED"}""");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("WITHHELD (tlp-above-ceiling)", result.Output, StringComparison.Ordinal);
        Assert.Contains("FAIL  red-not-allowed", result.Output, StringComparison.Ordinal);
        Assert.Contains("FAIL  type-not-allowed", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("would receive", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Blocked_tag_withholds_from_every_peer_of_the_dev_federation()
    {
        var result = await CliRun.RunAsync("policy", "test", "--config", Tallinn, "--peer", Helsinki, "--indicator",
            """{"type":"ipv4","value":"203.0.113.7","tlp":"GREEN","confidence":90,"tags":["internal"]}""");

        Assert.Contains("WITHHELD (blocked-tag)", result.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("[1]", "JSON object")]
    [InlineData("""{"type":"hostname","value":"x"}""", "not an indicator type")]
    [InlineData("""{"type":"domain","value":"x.example","tlp":"PURPLE"}""", "tlp")]
    [InlineData("""{"type":"domain","value":"x.example","confidence":101}""", "confidence")]
    [InlineData("""{"type":"domain","value":"x.example","colour":"red"}""", "unknown field 'colour'")]
    [InlineData("""{"value":"x.example"}""", "\"type\"")]
    public async Task Malformed_indicator_is_a_usage_error_naming_the_problem(string json, string expected)
    {
        var result = await CliRun.RunAsync("policy", "test", "--config", Tallinn, "--peer", Helsinki, "--indicator", json);

        Assert.Equal(CliExitCodes.Usage, result.ExitCode);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Indicator_the_node_would_reject_is_reported_with_the_pipelines_reason()
    {
        var result = await CliRun.RunAsync("policy", "test", "--config", Tallinn, "--peer", Helsinki, "--indicator",
            """{"type":"sha256","value":"abc"}""");

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("reject", result.Error, StringComparison.Ordinal);
        Assert.Contains("sha256", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_peer_names_the_configured_ones()
    {
        var result = await CliRun.RunAsync("policy", "test", "--config", Tallinn, "--peer", "spiffe://se.cybercoop/gateway/stockholm", "--indicator",
            """{"type":"domain","value":"x.example"}""");

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains(Helsinki, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Indicator_can_be_read_from_a_file()
    {
        var file = _temp.Combine("indicator.json");
        File.WriteAllText(file, """{"type":"url","value":"HTTP://Evil.Example/a","tlp":"GREEN","confidence":60}""");

        var result = await CliRun.RunAsync("policy", "test", "--config", Tallinn, "--peer", Riga, "--indicator-file", file);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("decision   SHARED", result.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Helsinki's database: evil.example received from Tallinn (confidence 50, ee's tag and TLP), then reported by
    /// Helsinki's own agent with <paramref name="ownConfidence"/>; received-only.example only received.
    /// </summary>
    private async Task SeedHelsinkiAsync(uint ownConfidence)
    {
        var helsinki = _federation.Nodes[1];
        var time = TimeProvider.System;
        await using var store = await GatewayStore.OpenAsync(Path.Combine(helsinki.Directory, "gateway.db"), time, TestContext.Current.CancellationToken);
        foreach (var (value, n) in new[] { ("evil.example", (byte)1), ("received-only.example", (byte)2) })
        {
            var fromEe = new SightingValidator(time).Validate(
                new Sighting { Type = IndicatorType.Domain, Value = value, Tlp = Tlp.Amber, Confidence = 50, Tags = { "ee-only" } },
                _federation.Nodes[0].Id, "ee-agent").Indicator!;
            await store.CommitReceivedAsync(new ReceivedEnvelope
            {
                EnvelopeId = Enumerable.Repeat(n, 16).ToArray(),
                BundleId = Enumerable.Repeat(n, 16).ToArray(),
                Sender = _federation.Nodes[0].Id,
                Origin = _federation.Nodes[0].Id,
                Accepted = [fromEe],
            }, TestContext.Current.CancellationToken);
        }

        var own = new SightingValidator(time).Validate(
            new Sighting { Type = IndicatorType.Domain, Value = "evil.example", Tlp = Tlp.Green, Confidence = ownConfidence, Tags = { "fi-tag" } },
            helsinki.Id, "sensor-1");
        await store.CommitIngestAsync("sensor-1", Enumerable.Repeat((byte)9, 16).ToArray(), [own], TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Stored_indicator_is_decided_on_the_nodes_own_sightings_not_on_the_record_merged_with_a_peers()
    {
        await SeedHelsinkiAsync(ownConfidence: 50); // merged with ee's 50: 75, above Riga's minimum of 70

        var result = await CliRun.RunAsync("policy", "test", "--config", _federation.Nodes[1].ConfigPath, "--peer", Riga, "--stored",
            "--indicator", """{"type":"domain","value":"Evil.Example"}""");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("(TLP GREEN, confidence 50)", result.Output, StringComparison.Ordinal);
        Assert.Contains("origin view: 1 own observation(s)", result.Output, StringComparison.Ordinal);
        Assert.Contains("WITHHELD (below-min-confidence)", result.Output, StringComparison.Ordinal);
        Assert.Contains("confidence 50 < minimum 70", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stored_indicator_that_passes_shows_only_the_own_sighting_as_what_the_peer_would_receive()
    {
        await SeedHelsinkiAsync(ownConfidence: 80);

        var result = await CliRun.RunAsync("policy", "test", "--config", _federation.Nodes[1].ConfigPath, "--peer", Riga, "--stored",
            "--indicator", """{"type":"domain","value":"evil.example"}""");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("decision   SHARED", result.Output, StringComparison.Ordinal);
        Assert.Contains("\"confidence\": 80", result.Output, StringComparison.Ordinal);
        Assert.Contains("\"originDomain\": \"fi.cybercoop\"", result.Output, StringComparison.Ordinal);
        Assert.Contains("fi-tag", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("ee-only", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("ee.cybercoop", result.Output, StringComparison.Ordinal);
        Assert.Contains("\"tlp\": \"TLP_GREEN\"", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stored_indicator_only_received_from_a_peer_is_not_originated()
    {
        await SeedHelsinkiAsync(ownConfidence: 80);

        var received = await CliRun.RunAsync("policy", "test", "--config", _federation.Nodes[1].ConfigPath, "--peer", Riga, "--stored",
            "--indicator", """{"type":"domain","value":"received-only.example"}""");
        var unknown = await CliRun.RunAsync("policy", "test", "--config", _federation.Nodes[1].ConfigPath, "--peer", Riga, "--stored",
            "--indicator", """{"type":"domain","value":"never-seen.example"}""");

        Assert.Equal(0, received.ExitCode);
        Assert.Contains("NOT ORIGINATED: only received from peers", received.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("would receive", received.Output, StringComparison.Ordinal);
        Assert.Contains("NOT ORIGINATED: not stored at this node", unknown.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stored_mode_without_a_database_says_the_node_has_not_run()
    {
        var result = await CliRun.RunAsync("policy", "test", "--config", Tallinn, "--peer", Helsinki, "--stored",
            "--indicator", """{"type":"domain","value":"evil.example"}""");

        Assert.Equal(CliExitCodes.Failure, result.ExitCode);
        Assert.Contains("has not run yet", result.Error, StringComparison.Ordinal);
    }
}
