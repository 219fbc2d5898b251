using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Policy;

namespace CyberCoop.Gateway.Tests.Policy;

public sealed class PolicyValidationTests
{
    [Fact]
    public void Default_policies_are_valid()
    {
        Assert.Empty(new OutboundPolicy().Validate("peers[0].outbound"));
        Assert.Empty(new InboundPolicy().Validate("peers[0].inbound"));
    }

    [Fact]
    public void Every_outbound_error_is_reported_with_its_field()
    {
        var policy = new OutboundPolicy
        {
            TlpCeiling = Tlp.Unspecified,
            AllowRed = true,
            MinConfidence = 101,
            Embargo = TimeSpan.FromMinutes(-1),
            AllowedTypes = [(IndicatorType)55],
            Redact = ["sensor", "hostname"],
            BlockedTags = [" "],
        };

        var errors = policy.Validate("peers[1].outbound");

        Assert.Contains(errors, e => e.StartsWith("peers[1].outbound.tlpCeiling:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("peers[1].outbound.allowRed:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("peers[1].outbound.minConfidence:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("peers[1].outbound.embargo:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("peers[1].outbound.allowedTypes[0]:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("peers[1].outbound.redact[1]: 'hostname'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("peers[1].outbound.blockedTags[0]:", StringComparison.Ordinal));
        Assert.Equal(7, errors.Count);
    }

    [Fact]
    public void Inbound_trust_weight_outside_zero_to_one_is_refused()
    {
        Assert.Single(new InboundPolicy { TrustWeight = 1.5 }.Validate("in"));
        Assert.Single(new InboundPolicy { TrustWeight = double.NaN }.Validate("in"));
        Assert.Single(new InboundPolicy { TlpFloor = (Tlp)9 }.Validate("in"));
    }
}
