using System.Text.Json.Nodes;
using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Feeds;
using CyberCoop.Agent.Pipeline;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Hosting;
using Microsoft.Extensions.Logging;
using static CyberCoop.Agent.Tests.Delivery.GatewayEndToEndTests;

namespace CyberCoop.Agent.Tests.Feeds;

/// <summary>
/// A real agent (its runner, spool and state file) polling a MISP feed over HTTPS into a real gateway, stopped and
/// started again: what was sent before the restart is not sent again, what changed meanwhile is.
/// </summary>
public sealed class MispFeedAgentRestartTests : IDisposable
{
    private const string A = "6a2b0c1d-1111-4e5f-8a9b-00000000000a";
    private const string B = "6a2b0c1d-2222-4e5f-8a9b-00000000000b";

    private readonly TempDirectory _dir = new();
    private readonly DevFederationLayout _layout;

    public MispFeedAgentRestartTests()
    {
        _layout = DevFederation.Create(Path.Combine(_dir.Path, "fed"), new DevFederationOptions { BasePort = 0 });
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Agent_restarted_sends_only_what_changed_on_the_feed_while_it_was_down()
    {
        var node = _layout.Nodes[0];
        var t0 = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3600; // the gateway refuses observations from 1970
        var t1 = t0 + 1800;
        await using var server = await MispFeedServer.StartAsync(node.RootCertificate, node.RootKey);
        server.Put("manifest.json", MispFeedServer.Manifest((A, t0), (B, t0)));
        server.Put(A + ".json", MispFeedServer.Event(A, t0, MispFeedServer.Attribute("ip-dst", "45.33.1.7", t0), MispFeedServer.Attribute("domain", "c2.example", t0)));
        var b1 = MispFeedServer.Attribute("sha256", new string('b', 64), t0);
        server.Put(B + ".json", MispFeedServer.Event(B, t0, b1));
        var settings = Configure(node.Agents[0].ConfigPath, server.FeedUrl, node.RootCertificate);
        await using var gateway = await GatewayNode.StartAsync(node.ConfigPath, new GatewayNodeOptions { ConfigureLogging = b => b.SetMinimumLevel(LogLevel.Error) }, Ct);
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning));

        await RunUntilAsync(settings, loggers, async runner =>
            await gateway.Runtime.Store.CountIndicatorsAsync(Ct) == 3 && runner.Spool.UnacknowledgedBatches == 0);
        Assert.Equal(1, server.Count(A + ".json"));

        // While the agent is down: event B gains an attribute (MISP moves the event's and the manifest's timestamps).
        server.Put(B + ".json", MispFeedServer.Event(B, t1, b1, MispFeedServer.Attribute("ip-src", "45.33.1.77", t1)));
        server.Put("manifest.json", MispFeedServer.Manifest((A, t0), (B, t1)));
        var manifestRequests = server.Count("manifest.json");

        await RunUntilAsync(settings, loggers, async runner =>
            await gateway.Runtime.Store.CountIndicatorsAsync(Ct) == 4 && runner.Spool.UnacknowledgedBatches == 0
            && server.Count("manifest.json") >= manifestRequests + 2); // and at least one more poll after it

        Assert.Equal(1, server.Count(A + ".json"));
        Assert.Equal(2, server.Count(B + ".json"));
        Assert.Contains(server.Requests, r => r.Path == "/feed/manifest.json" && r.Status == 304);
        var values = new List<string>();
        await foreach (var indicator in gateway.Runtime.Store.ReadAllIndicatorsAsync(Ct))
        {
            var observation = Assert.Single(indicator.Observations);
            Assert.Equal(1u, observation.Count); // nothing was sent twice
            values.Add(indicator.Value);
        }

        Assert.Equal(["45.33.1.7", "45.33.1.77", new string('b', 64), "c2.example"], values.Order(StringComparer.Ordinal));
    }

    private static async Task RunUntilAsync(AgentSettings settings, ILoggerFactory loggers, Func<AgentRunner, Task<bool>> done)
    {
        await using var runner = new AgentRunner(settings, loggers, TimeProvider.System);
        Assert.IsType<MispFeedPoller>(Assert.Single(runner.Tailers));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = runner.RunAsync(stop.Token);
        try
        {
            await WaitUntilAsync(() => done(runner));
        }
        catch (TimeoutException ex)
        {
            var poller = (MispFeedPoller)runner.Tailers[0];
            throw new TimeoutException(
                $"{ex.Message}: polls {poller.Polls}, events {poller.EventsFetched}, failures {poller.Failures} ({poller.LastFailure}), "
                + $"spooled {runner.Batcher.SightingsSpooled}, stored {runner.Delivery.SightingsStored}, rejected {runner.Delivery.SightingsRejected}, "
                + $"skipped [{string.Join("; ", poller.Diagnostics.Skipped.Select(kv => kv.Key + "=" + kv.Value))}], "
                + $"filtered [{string.Join("; ", poller.Diagnostics.Filtered.Select(kv => kv.Key + "=" + kv.Value))}]", ex);
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(120), Ct);
        }
    }

    private static AgentSettings Configure(string configPath, string feedUrl, string caFile)
    {
        var json = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        json["batch"] = new JsonObject { ["maxItems"] = 100, ["lingerMilliseconds"] = 20 };
        json["sources"] = new JsonArray(new JsonObject
        {
            ["name"] = "misp",
            ["format"] = "misp-feed",
            ["url"] = feedUrl,
            ["pollSeconds"] = 1,
            ["caFile"] = caFile,
        });
        File.WriteAllText(configPath, json.ToJsonString());
        return AgentConfigLoader.Load(configPath);
    }

    public void Dispose() => _dir.Dispose();
}
