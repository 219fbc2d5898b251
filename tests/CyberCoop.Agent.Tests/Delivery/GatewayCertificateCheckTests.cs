using System.Security.Cryptography.X509Certificates;
using CyberCoop.Agent.Configuration;
using CyberCoop.Agent.Delivery;
using CyberCoop.Crypto;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyberCoop.Agent.Tests.Delivery;

public sealed class GatewayCertificateCheckTests(DevFederationFixture federation) : IClassFixture<DevFederationFixture>
{
    private (AgentSettings Settings, AgentTrust Validator) ForFirstAgent(string? expectedId = null)
    {
        var node = federation.Layout.Nodes[0];
        var settings = AgentConfigLoader.Load(node.Agents[0].ConfigPath);
        if (expectedId is not null)
        {
            settings = settings with { ExpectedGatewayId = expectedId };
        }

        var validator = AgentTrust.Load(settings, TimeProvider.System, NullLogger.Instance);
        return (settings, validator);
    }

    private static bool Check(string certPath, AgentSettings settings, AgentTrust validator)
    {
        var all = PemFiles.LoadCertificates(certPath);
        using var chain = new X509Chain();
        chain.ChainPolicy.ExtraStore.AddRange(all.Skip(1).ToArray());
        return GatewayChannelFactory.Check(all[0], chain, validator, settings, NullLogger.Instance);
    }

    [Fact]
    public void Own_domains_gateway_is_accepted()
    {
        var (settings, validator) = ForFirstAgent();

        Assert.True(Check(federation.Layout.Nodes[0].Certificate, settings, validator));
    }

    [Fact]
    public void Gateway_of_another_trust_domain_is_rejected()
    {
        var (settings, validator) = ForFirstAgent();

        Assert.False(Check(federation.Layout.Nodes[1].Certificate, settings, validator));
    }

    [Fact]
    public void Agent_certificate_posing_as_the_gateway_is_rejected()
    {
        var (settings, validator) = ForFirstAgent();

        Assert.False(Check(federation.Layout.Nodes[0].Agents[1].Certificate, settings, validator));
    }

    [Fact]
    public void Gateway_other_than_the_expected_id_is_rejected()
    {
        var (settings, validator) = ForFirstAgent(expectedId: $"spiffe://{federation.Layout.Nodes[0].TrustDomain}/gateway/someone-else");

        Assert.False(Check(federation.Layout.Nodes[0].Certificate, settings, validator));
    }

    [Fact]
    public void Gateway_signed_by_an_unpinned_root_claiming_our_domain_is_rejected()
    {
        var (settings, validator) = ForFirstAgent();
        using var rogue = CertificateAuthority.CreateRoot(settings.TrustDomain);
        using var cert = rogue.Issue(SpiffeId.Gateway(settings.TrustDomain, "tallinn"));

        Assert.False(GatewayChannelFactory.Check(cert, null, validator, settings, NullLogger.Instance));
    }

    [Fact]
    public void No_certificate_is_rejected()
    {
        var (settings, validator) = ForFirstAgent();

        Assert.False(GatewayChannelFactory.Check(null, null, validator, settings, NullLogger.Instance));
    }
}
