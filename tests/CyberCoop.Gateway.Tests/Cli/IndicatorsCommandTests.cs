using System.Text.Json;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Google.Protobuf.WellKnownTypes;

namespace CyberCoop.Gateway.Tests.Cli;

/// <summary><c>indicators export</c> prints what a node holds, one JSON object per line.</summary>
public sealed class IndicatorsCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Export_prints_every_stored_indicator_with_marking_and_observations()
    {
        var node = DevFederation.Create(_dir.Path, new DevFederationOptions { BasePort = 0 }).Nodes[0];
        var loaded = GatewayConfigFile.Load(node.ConfigPath);
        await using (var store = await GatewayStore.OpenAsync(loaded.Resolve(loaded.Config.Node.Storage), TimeProvider.System, CancellationToken.None))
        {
            var validator = new SightingValidator(TimeProvider.System);
            var items = new[] { "evil.example", "bad.example" }.Select(v => validator.Validate(new Sighting
            {
                Type = IndicatorType.Domain,
                Value = v,
                Tlp = Tlp.Green,
                Confidence = 60,
                ObservedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
                Sensor = "zeek",
            }, node.Id, "agent-1")).ToList();
            await store.CommitIngestAsync("agent-1", new byte[] { 1 }, items, CancellationToken.None);
        }

        var result = await CliRun.RunAsync("indicators", "export", "--config", node.ConfigPath);

        Assert.Equal(0, result.ExitCode);
        var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        using var first = JsonDocument.Parse(lines.Single(l => l.Contains("evil.example", StringComparison.Ordinal)));
        Assert.Equal("domain", first.RootElement.GetProperty("type").GetString());
        Assert.Equal("GREEN", first.RootElement.GetProperty("tlp").GetString());
        Assert.Equal(node.Id, first.RootElement.GetProperty("observations")[0].GetProperty("node").GetString());
    }

    [Fact]
    public async Task Export_before_the_node_ever_ran_says_so()
    {
        var node = DevFederation.Create(_dir.Path, new DevFederationOptions { BasePort = 0 }).Nodes[0];

        var result = await CliRun.RunAsync("indicators", "export", "--config", node.ConfigPath);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("has not run yet", result.Error, StringComparison.Ordinal);
    }
}
