using System.Text.Json;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Tests.Cli;

/// <summary><c>indicators export/show/withdraw/suppress</c>: lifecycle state as an operator sees it, and every bad argument.</summary>
public sealed class IndicatorLifecycleCommandsTests : IDisposable
{
    private const string Peer = "spiffe://fi.cybercoop/gateway/helsinki";
    private readonly TempDirectory _dir = new();
    private readonly DevNode _node;

    public IndicatorLifecycleCommandsTests() => _node = DevFederation.Create(_dir.Path, new DevFederationOptions { BasePort = 0 }).Nodes[0];

    public void Dispose() => _dir.Dispose();

    private static string IdOf(string domain) => IndicatorIds.Compute(IndicatorType.Domain, domain);

    /// <summary>Stores active.example (own), withdrawn.example (from a peer, withdrawn by it), suppressed.example and expired.example.</summary>
    private async Task SeedAsync()
    {
        var loaded = GatewayConfigFile.Load(_node.ConfigPath);
        await using var store = await GatewayStore.OpenAsync(loaded.Resolve(loaded.Config.Node.Storage), TimeProvider.System, CancellationToken.None);
        var now = DateTimeOffset.UtcNow;
        var validator = new SightingValidator(TimeProvider.System);
        var items = new[] { "active.example", "suppressed.example", "expired.example" }.Select(v => validator.Validate(new Sighting
        {
            Type = IndicatorType.Domain,
            Value = v,
            Tlp = Tlp.Green,
            Confidence = 60,
            ObservedAt = Timestamp.FromDateTimeOffset(now.AddMinutes(-10)),
            ValidUntil = v.StartsWith("expired", StringComparison.Ordinal) ? Timestamp.FromDateTimeOffset(now.AddMinutes(-1)) : null,
            Sensor = "zeek",
        }, _node.Id, "agent-1")).ToList();
        await store.CommitIngestAsync("agent-1", new byte[] { 1 }, items, CancellationToken.None);
        var fromPeer = new Indicator
        {
            Id = IdOf("withdrawn.example"),
            Type = IndicatorType.Domain,
            Value = "withdrawn.example",
            Tlp = Tlp.Green,
            Confidence = 50,
            OriginDomain = "fi.cybercoop",
            Observations = { new Observation { Node = Peer, Count = 1, Confidence = 50 } },
        };
        await store.CommitReceivedAsync(new ReceivedEnvelope { EnvelopeId = new byte[] { 1 }, Sender = Peer, Origin = Peer, BundleId = new byte[] { 2 }, Accepted = [fromPeer] }, CancellationToken.None);
        await store.CommitReceivedWithdrawalAsync(new byte[] { 3 }, new WithdrawalRecord(Peer, fromPeer.Id, new byte[16], "false positive", now, now, Peer), _ => null, [], CancellationToken.None);
        await store.SuppressAsync(new SuppressionRecord(IdOf("suppressed.example"), "local fp", now),
            new AuditEntry { Kind = AuditKinds.Suppressed, Actor = "t", Subject = IdOf("suppressed.example"), Decision = "suppressed" }, CancellationToken.None);
        await store.CommitReceivedSightingsAsync(new byte[] { 4 }, Peer, new byte[16],
            [new ReceivedSightingEntry(IdOf("active.example"), 7, now.AddHours(-2), now.AddHours(-1), ["energy"])], [], now, CancellationToken.None);
    }

    [Fact]
    public async Task Export_prints_active_ones_and_withdrawn_ones_only_as_revoked()
    {
        await SeedAsync();

        var result = await CliRun.RunAsync("indicators", "export", "--config", _node.ConfigPath);
        var all = await CliRun.RunAsync("indicators", "export", "--config", _node.ConfigPath, "--include-inactive");

        Assert.Equal(0, result.ExitCode);
        var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["active.example", "withdrawn.example"], lines.Select(l => l.GetProperty("value").GetString()).Order(StringComparer.Ordinal));
        var withdrawn = lines.Single(l => l.GetProperty("value").GetString() == "withdrawn.example");
        Assert.True(withdrawn.GetProperty("revoked").GetBoolean());
        Assert.Equal("withdrawn", withdrawn.GetProperty("status").GetString());
        Assert.False(lines.Single(l => l.GetProperty("value").GetString() == "active.example").TryGetProperty("revoked", out _));
        Assert.Equal(4, all.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("\"status\":\"suppressed\"", all.Output, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"expired\"", all.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_prints_status_withdrawals_and_which_nations_reported_sightings()
    {
        await SeedAsync();

        var active = await CliRun.RunAsync("indicators", "show", "domain:ACTIVE.example", "--config", _node.ConfigPath);
        var withdrawn = await CliRun.RunAsync("indicators", "show", IdOf("withdrawn.example"), "--config", _node.ConfigPath);

        Assert.Equal(0, active.ExitCode);
        using var a = JsonDocument.Parse(active.Output);
        Assert.Equal("active", a.RootElement.GetProperty("status").GetString());
        var sighting = a.RootElement.GetProperty("sightings")[0];
        Assert.Equal("fi.cybercoop", sighting.GetProperty("nation").GetString());
        Assert.Equal(7, sighting.GetProperty("count").GetInt64());
        Assert.Equal("energy", sighting.GetProperty("sectors")[0].GetString());
        using var w = JsonDocument.Parse(withdrawn.Output);
        Assert.Equal("withdrawn", w.RootElement.GetProperty("status").GetString());
        Assert.Equal(Peer, w.RootElement.GetProperty("withdrawals")[0].GetProperty("origin").GetString());
        Assert.Equal("false positive", w.RootElement.GetProperty("withdrawals")[0].GetProperty("reason").GetString());
    }

    [Theory]
    [InlineData("nonsense")]
    [InlineData("ipv5:1.2.3.4")]
    [InlineData("ipv4:999.1.1.1")]
    [InlineData(":value")]
    public async Task Bad_indicator_argument_is_a_usage_error_naming_it(string indicator)
    {
        var show = await CliRun.RunAsync("indicators", "show", indicator, "--config", _node.ConfigPath);
        var withdraw = await CliRun.RunAsync("indicators", "withdraw", indicator, "--reason", "x", "--config", _node.ConfigPath);
        var suppress = await CliRun.RunAsync("indicators", "suppress", indicator, "--reason", "x", "--config", _node.ConfigPath);

        Assert.All([show, withdraw, suppress], r =>
        {
            Assert.Equal(2, r.ExitCode);
            Assert.Contains(indicator, r.Error, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Withdraw_and_suppress_without_a_running_node_say_so_and_reason_is_required()
    {
        var withdraw = await CliRun.RunAsync("indicators", "withdraw", "domain:evil.example", "--reason", "fp", "--config", _node.ConfigPath);
        var suppress = await CliRun.RunAsync("indicators", "suppress", "domain:evil.example", "--reason", "fp", "--config", _node.ConfigPath);
        var noReason = await CliRun.RunAsync("indicators", "withdraw", "domain:evil.example", "--config", _node.ConfigPath);

        Assert.Equal(1, withdraw.ExitCode);
        Assert.Contains("no gateway is running", withdraw.Error, StringComparison.Ordinal);
        Assert.Equal(1, suppress.ExitCode);
        Assert.Contains("no gateway is running", suppress.Error, StringComparison.Ordinal);
        Assert.Equal(2, noReason.ExitCode);
        Assert.Contains("--reason", noReason.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Indicator_argument_normalizes_type_value_like_an_agent_sighting()
    {
        Assert.Equal(IdOf("example.com"), IndicatorLifecycleCommands.ParseIndicator("domain:Example.COM"));
        Assert.Equal(IdOf("example.com"), IndicatorLifecycleCommands.ParseIndicator(IdOf("example.com")));
        Assert.Equal(IndicatorIds.Compute(IndicatorType.Url, "http://a.example/x"), IndicatorLifecycleCommands.ParseIndicator("url:http://A.example:80/x"));
    }

    [Fact]
    public async Task Show_of_an_indicator_the_node_does_not_hold_says_so()
    {
        await SeedAsync();

        var result = await CliRun.RunAsync("indicators", "show", "domain:unknown.example", "--config", _node.ConfigPath);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("holds no indicator", result.Error, StringComparison.Ordinal);
    }
}
