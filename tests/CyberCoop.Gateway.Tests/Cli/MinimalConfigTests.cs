using CyberCoop.Gateway.Configuration;
using Xunit;

namespace CyberCoop.Gateway.Tests.Cli;

/// <summary>The hand-written gateway.json of the operator guide: only what has no default.</summary>
public sealed class MinimalConfigTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_minimal_gateway_json_gets_the_documented_defaults()
    {
        await CliRun.RunAsync("certs", "init-domain", "--domain", "ee.cybercoop", "--out", _temp.Combine("ca"));
        await CliRun.RunAsync("certs", "issue", "--ca-dir", _temp.Combine("ca"), "--kind", "gateway", "--name", "tallinn", "--out", _temp.Combine("node"));
        File.Copy(_temp.Combine("ca", "root.crt"), _temp.Combine("node", "root.crt"));
        File.Copy(_temp.Combine("ca", "trust-bundle.pb"), _temp.Combine("node", "trust-bundle.pb"));
        File.WriteAllText(_temp.Combine("node", "gateway.json"), """
            {
              "node": {
                "trustDomain": "ee.cybercoop",
                "name": "tallinn",
                "listen": "127.0.0.1:7401",
                "tls": { "certificate": "tallinn.crt", "key": "tallinn.key", "root": "root.crt" }
              }
            }
            """);

        var loaded = GatewayConfigFile.Load(_temp.Combine("node", "gateway.json"));

        Assert.Equal("hybrid", loaded.Config.Node.Suite);
        Assert.Equal("classic", loaded.Config.Node.MinimumSuite);
        Assert.Equal(600, loaded.Config.Node.ReplayWindowSeconds);
        Assert.Equal("gateway.db", loaded.Config.Node.Storage);
        Assert.Equal("admin.sock", loaded.Config.Node.AdminSocket);
        Assert.Equal("trust-bundle.pb", loaded.Config.Node.TrustBundle);
        Assert.Equal(1000, loaded.Config.Node.Bundle.MaxIndicators);
        Assert.Empty(loaded.Config.Peers);
    }

    [Fact]
    public async Task A_peer_added_to_a_minimal_config_gets_the_default_policies()
    {
        await CliRun.RunAsync("certs", "dev", "--out", _temp.Combine("fed"), "--base-port", "0");
        var config = _temp.Combine("fed", "ee.cybercoop", "gateway.json");
        var loaded = GatewayConfigFile.Load(config);
        var peer = loaded.Config.Peers[0];
        File.WriteAllText(config, $$"""
            {
              "node": {
                "trustDomain": "ee.cybercoop", "name": "tallinn", "listen": "127.0.0.1:0",
                "tls": { "certificate": "gateway.crt", "key": "gateway.key", "root": "root.crt" }
              },
              "peers": [ { "id": "{{peer.Id}}", "trustDomain": "{{peer.TrustDomain}}", "address": "{{peer.Address}}", "root": "{{peer.Root}}", "rootPin": "{{peer.RootPin}}" } ]
            }
            """);

        var reloaded = GatewayConfigFile.Load(config).Config.Peers[0];

        Assert.Equal("AMBER", reloaded.Outbound.TlpCeiling);
        Assert.False(reloaded.Outbound.AllowRelay);
        Assert.Equal("accept", reloaded.Inbound.Mode);
        Assert.Equal(1.0, reloaded.Inbound.TrustWeight);
        Assert.Equal("CLEAR", reloaded.Inbound.TlpFloor);
    }
}
