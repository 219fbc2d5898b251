using Xunit;
using System.Text.Json;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;

namespace CyberCoop.Gateway.Tests.Cli;

public sealed class DevFederationTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Certs_dev_makes_three_meshed_nations_whose_configs_load()
    {
        var result = await CliRun.RunAsync("certs", "dev", "--out", _temp.Combine("certs-dev"), "--base-port", "17401");

        Assert.Equal(0, result.ExitCode);
        string[] domains = ["ee.cybercoop", "fi.cybercoop", "lv.cybercoop"];
        var ports = new List<string>();
        foreach (var domain in domains)
        {
            var loaded = GatewayConfigFile.Load(_temp.Combine("certs-dev", domain, "gateway.json"));
            Assert.Equal(domain, loaded.Config.Node.TrustDomain);
            Assert.Equal(2, loaded.Config.Peers.Count);
            Assert.DoesNotContain(loaded.Config.Peers, p => p.TrustDomain == domain);
            ports.Add(loaded.Config.Node.Listen);
        }

        Assert.Equal(["127.0.0.1:17401", "127.0.0.1:17402", "127.0.0.1:17403"], ports);
        Assert.Contains("spiffe://fi.cybercoop/gateway/helsinki", result.Output, StringComparison.Ordinal);
        Assert.Contains("spiffe://lv.cybercoop/agent/rail-sensor", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_peer_entry_pins_the_root_that_signed_that_peers_gateway()
    {
        var layout = DevFederationFixture.Create(_temp.Path);

        foreach (var node in layout.Nodes)
        {
            var loaded = GatewayConfigFile.Load(node.ConfigPath);
            foreach (var peer in loaded.Config.Peers)
            {
                var peerNode = layout.Nodes.Single(n => n.Id == peer.Id);
                Assert.Equal(peerNode.RootPin, peer.RootPin);
                Assert.Equal(peerNode.Address, peer.Address);
                using var pinnedRoot = PemFiles.LoadCertificate(loaded.Resolve(peer.Root));
                using var peerGateway = PemFiles.LoadCertificate(peerNode.Certificate);
                var validator = new ChainValidator([new TrustAnchor(peer.TrustDomain, pinnedRoot, peer.RootPin)]);
                Assert.True(validator.Validate(peerGateway, null, CertificatePurpose.Server).IsValid);
            }
        }
    }

    [Fact]
    public void A_root_of_one_nation_does_not_validate_another_nations_certificates()
    {
        var layout = DevFederationFixture.Create(_temp.Path);
        using var finnishRoot = PemFiles.LoadCertificate(layout.Nodes[1].RootCertificate);
        using var estonianGateway = PemFiles.LoadCertificate(layout.Nodes[0].Certificate);
        using var estonianAgent = PemFiles.LoadCertificate(layout.Nodes[0].Agents[0].Certificate);

        var wrongDomain = new ChainValidator([new TrustAnchor("fi.cybercoop", finnishRoot, layout.Nodes[1].RootPin)]);

        Assert.False(wrongDomain.Validate(estonianGateway, null, CertificatePurpose.Server).IsValid);
        Assert.False(wrongDomain.Validate(estonianAgent, null, CertificatePurpose.Client).IsValid);
        Assert.Throws<ArgumentException>(() => new TrustAnchor("ee.cybercoop", finnishRoot, layout.Nodes[1].RootPin));
    }

    [Fact]
    public void Agent_configs_point_at_their_own_gateway_with_the_own_root_pin()
    {
        var layout = DevFederationFixture.Create(_temp.Path);

        foreach (var node in layout.Nodes)
        {
            Assert.Equal(2, node.Agents.Count);
            foreach (var agent in node.Agents)
            {
                using var document = JsonDocument.Parse(File.ReadAllText(agent.ConfigPath));
                var root = document.RootElement;
                Assert.Equal(agent.Name, root.GetProperty("name").GetString());
                Assert.Equal(node.TrustDomain, root.GetProperty("trustDomain").GetString());
                Assert.Equal(node.Address, root.GetProperty("gateway").GetProperty("address").GetString());
                Assert.Equal(node.Id, root.GetProperty("gateway").GetProperty("expectedId").GetString());
                Assert.Equal(node.RootPin, root.GetProperty("tls").GetProperty("rootPin").GetString());
                Assert.NotEmpty(root.GetProperty("sources").EnumerateArray());
                using var certificate = PemFiles.LoadCertificate(agent.Certificate);
                using var ownRoot = PemFiles.LoadCertificate(Path.Combine(agent.Directory, root.GetProperty("tls").GetProperty("root").GetString()!));
                Assert.True(new ChainValidator([new TrustAnchor(node.TrustDomain, ownRoot, node.RootPin)]).Validate(certificate, null, CertificatePurpose.Client).IsValid);
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, TempDirectory.ModeOf(agent.Key));
            }
        }
    }

    [Fact]
    public void Policies_differ_per_peer_and_never_share_red()
    {
        var layout = DevFederationFixture.Create(_temp.Path);

        var tallinn = GatewayConfigFile.Load(layout.Nodes[0].ConfigPath).Config;
        var toHelsinki = tallinn.Peers.Single(p => p.TrustDomain == "fi.cybercoop").Outbound;
        var toRiga = tallinn.Peers.Single(p => p.TrustDomain == "lv.cybercoop").Outbound;
        Assert.NotEqual(toHelsinki.TlpCeiling, toRiga.TlpCeiling);
        Assert.All(layout.Nodes.SelectMany(n => GatewayConfigFile.Load(n.ConfigPath).Config.Peers), p => Assert.False(p.Outbound.AllowRed));
    }

    [Fact]
    public void Free_ports_are_distinct()
    {
        var layout = DevFederationFixture.Create(_temp.Path);

        Assert.Equal(3, layout.Nodes.Select(n => n.Port).Distinct().Count());
        Assert.All(layout.Nodes, n => Assert.InRange(n.Port, 1, 65_535));
    }

    [Fact]
    public async Task Certs_dev_refuses_to_overwrite_an_earlier_federation_unless_forced()
    {
        var first = DevFederationFixture.Create(_temp.Path);
        var pin = first.Nodes[0].RootPin;

        var refused = await CliRun.RunAsync("certs", "dev", "--out", _temp.Path);

        Assert.Equal(CliExitCodes.Failure, refused.ExitCode);
        Assert.Contains("--force", refused.Error, StringComparison.Ordinal);
        using (var unchanged = PemFiles.LoadCertificate(first.Nodes[0].RootCertificate))
        {
            Assert.Equal(pin, SpkiPin.Compute(unchanged));
        }

        var forced = await CliRun.RunAsync("certs", "dev", "--out", _temp.Path, "--force");

        Assert.Equal(0, forced.ExitCode);
        using var replaced = PemFiles.LoadCertificate(first.Nodes[0].RootCertificate);
        Assert.NotEqual(pin, SpkiPin.Compute(replaced));
    }

    [Fact]
    public async Task Certs_dev_accepts_a_folder_with_only_readme_and_gitignore_but_not_other_content()
    {
        File.WriteAllText(_temp.Combine("README.md"), "dev federation");
        File.WriteAllText(_temp.Combine(".gitignore"), "*");

        var ok = await CliRun.RunAsync("certs", "dev", "--out", _temp.Path, "--base-port", "0");

        Assert.Equal(0, ok.ExitCode);
        Assert.Empty(Directory.GetDirectories(_temp.Path, ".staging-*"));

        using var other = new TempDirectory();
        File.WriteAllText(Path.Combine(other.Path, "notes.txt"), "mine");
        var refused = await CliRun.RunAsync("certs", "dev", "--out", other.Path);
        Assert.Equal(CliExitCodes.Failure, refused.ExitCode);
        Assert.Contains("not empty", refused.Error, StringComparison.Ordinal);
        Assert.Single(Directory.GetFileSystemEntries(other.Path));
    }
}
