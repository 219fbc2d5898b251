using System.Text.Json.Nodes;
using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Delivery;
using CyberCoop.Contracts.V1;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyberCoop.Agent.Tests.Delivery;

/// <summary>
/// A misconfigured agent is noticed: it says at start what is wrong (log output of the real agent process), and the
/// gateway's status and metrics show each agent's last call, counts and last error (a real gateway on loopback).
/// </summary>
public sealed class MisconfigurationTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);
    private readonly GuideDomain _domain = new("ee.cybercoop", "tallinn");

    public void Dispose() => _domain.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<string> SetUpAsync(string agent = "a0")
    {
        await GatewayCli.MustAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _domain.P("ca"));
        await _domain.SetUpGatewayAsync("ca");
        return await _domain.SetUpAgentAsync(agent);
    }

    private static void EditAgent(string folder, Action<JsonObject> edit)
    {
        var path = Path.Combine(folder, "agent.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
    }

    [Fact]
    public async Task Missing_source_path_is_reported_at_start_and_read_once_it_appears()
    {
        var agent = await SetUpAsync();
        await using var gateway = await GatewayCli.StartAsync(_domain.P("node", "gateway.json"), Ct);

        await using var host = AgentHost.Start(Path.Combine(agent, "agent.json"));

        await Eventually.TrueAsync(() => host.Output.Contains("eve.json does not exist (yet); watching for it", StringComparison.Ordinal), s_timeout, () => host.Output);
        await Eventually.TrueAsync(() => host.Output.Contains("reachable", StringComparison.Ordinal), s_timeout, () => host.Output);
        GuideDomain.WriteEve(agent, 0, 0, 30);
        await Eventually.TrueAsync(async () => await gateway.Runtime.Store.CountIndicatorsAsync(Ct) == 30, s_timeout, () => host.Output);
        Assert.Contains("eve.json appeared", host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_gateway_address_is_reported_at_start_with_the_address_and_the_reason()
    {
        var agent = await SetUpAsync();
        var nobody = CyberCoop.Gateway.Hosting.LoopbackPorts.Reserve();
        EditAgent(agent, json => json["gateway"]!["address"] = $"https://127.0.0.1:{nobody}");

        await using var host = AgentHost.Start(Path.Combine(agent, "agent.json"));

        await Eventually.TrueAsync(() => host.Output.Contains($"Cannot reach gateway https://127.0.0.1:{nobody}/", StringComparison.Ordinal), s_timeout, () => host.Output);
        Assert.True(host.Output.Contains("refused", StringComparison.OrdinalIgnoreCase), host.Output);
    }

    [Fact]
    public async Task Gateway_certificate_refused_by_the_pin_is_reported_at_start_with_the_tls_reason()
    {
        await GatewayCli.MustAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _domain.P("other"));
        var agent = await SetUpAsync();
        // The agent pins another root of its domain than the one its gateway's certificate chains to.
        File.Copy(_domain.P("other", "root.crt"), Path.Combine(agent, "root.crt"), overwrite: true);
        var pin = (await GatewayCli.MustAsync("certs", "fingerprint", _domain.P("other", "root.crt"))).Trim();
        EditAgent(agent, json => json["tls"]!["rootPin"] = pin);
        await using var gateway = await GatewayCli.StartAsync(_domain.P("node", "gateway.json"), Ct);

        await using var host = AgentHost.Start(Path.Combine(agent, "agent.json"));

        await Eventually.TrueAsync(() => host.Output.Contains("Cannot reach gateway", StringComparison.Ordinal), s_timeout, () => host.Output);
        Assert.Contains($"Cannot reach gateway https://127.0.0.1:{_domain.Port}/: TLS handshake failed: the gateway's certificate was refused: ", host.Output, StringComparison.Ordinal);
        Assert.Contains("does not chain to the pinned root", host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_and_metrics_show_each_agents_last_seen_sightings_and_last_error_and_keep_them_across_a_restart()
    {
        var agent = await SetUpAsync();
        var metricsPort = CyberCoop.Gateway.Hosting.LoopbackPorts.Reserve();
        var configPath = _domain.P("node", "gateway.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        config["node"]!["metricsListen"] = $"127.0.0.1:{metricsPort}";
        File.WriteAllText(configPath, config.ToJsonString());
        GuideDomain.WriteEve(agent, 0, 0, 50);

        var gateway = await GatewayCli.StartAsync(configPath, Ct);
        try
        {
            await using (var host = AgentHost.Start(Path.Combine(agent, "agent.json")))
            {
                await Eventually.TrueAsync(async () => await gateway.Runtime.Store.CountIndicatorsAsync(Ct) == 50, s_timeout, () => host.Output);
                await Eventually.TrueAsync(() => gateway.Runtime.Activity.Rows.TryGetValue("spiffe://ee.cybercoop/agent/a0", out var a) && a.BundleSequence == 1, s_timeout, () => host.Output);
            }

            // One sighting the gateway refuses, sent over the agent's own mTLS channel.
            var settings = AgentConfigLoader.Load(Path.Combine(agent, "agent.json"));
            var trust = AgentTrust.Load(settings, TimeProvider.System, NullLogger.Instance);
            using (var channel = GatewayChannelFactory.Create(settings, trust, NullLogger.Instance))
            {
                using var call = new Ingest.IngestClient(channel).Submit(cancellationToken: Ct);
                var batch = new IngestBatch { BatchId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()) };
                batch.Sightings.Add(new Sighting { Type = IndicatorType.Ipv4, Value = "999.1.1.1", Tlp = Tlp.Amber, Confidence = 50 });
                await call.RequestStream.WriteAsync(batch, Ct);
                Assert.True(await call.ResponseStream.MoveNext(Ct));
                Assert.Equal(ItemOutcome.Rejected, call.ResponseStream.Current.Items[0].Outcome);
                await call.RequestStream.CompleteAsync();
            }

            var status = await GatewayCli.MustAsync("status", "--config", configPath);
            var row = Assert.Single(status.Split('\n'), l => l.StartsWith("spiffe://ee.cybercoop/agent/a0", StringComparison.Ordinal));
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(row, @"^spiffe://ee\.cybercoop/agent/a0\s+\d+s ago\s+\d+\s+50\s+1\s+1\s+sighting 0 rejected: "), status);
            Assert.Contains("sightings ingested  50 (1 rejected)", status, StringComparison.Ordinal);

            using var http = new HttpClient();
            var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"), Ct);
            Assert.Contains(metrics.Split('\n'), l => l.StartsWith("cybercoop_agent_sightings_stored", StringComparison.Ordinal)
                && l.Contains("agent=\"spiffe://ee.cybercoop/agent/a0\"", StringComparison.Ordinal) && l.TrimEnd().EndsWith(" 50", StringComparison.Ordinal));
            Assert.Contains(metrics.Split('\n'), l => l.StartsWith("cybercoop_agent_last_seen", StringComparison.Ordinal)
                && l.Contains("agent=\"spiffe://ee.cybercoop/agent/a0\"", StringComparison.Ordinal));

            // Restart the gateway: the per-agent counters and the node's totals come back from the store.
            await gateway.DisposeAsync();
            gateway = await GatewayCli.StartAsync(configPath, Ct);
            var after = await GatewayCli.MustAsync("status", "--config", configPath);
            var rowAfter = Assert.Single(after.Split('\n'), l => l.StartsWith("spiffe://ee.cybercoop/agent/a0", StringComparison.Ordinal));
            Assert.Matches(@"^spiffe://ee\.cybercoop/agent/a0\s+\d+s ago\s+\d+\s+50\s+1\s+1\s+sighting 0 rejected: ", rowAfter);
            Assert.Contains("sightings ingested  50 (1 rejected)", after, StringComparison.Ordinal);
        }
        finally
        {
            await gateway.DisposeAsync();
        }
    }
}
