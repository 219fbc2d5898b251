using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Policy;

namespace CyberCoop.Gateway.Tests.Policy;

public sealed class RelayRulesTests
{
    [Theory]
    [InlineData(Tlp.Clear, true, 0, 1, true)]
    [InlineData(Tlp.Green, true, 0, 1, true)]
    [InlineData(Tlp.Green, true, 1, 1, false)]
    [InlineData(Tlp.Green, true, 0, 0, false)]
    [InlineData(Tlp.Green, false, 0, 3, false)]
    [InlineData(Tlp.Amber, true, 0, 3, false)]
    [InlineData(Tlp.AmberStrict, true, 0, 3, false)]
    [InlineData(Tlp.Red, true, 0, 3, false)]
    [InlineData(Tlp.Unspecified, true, 0, 3, false)]
    public void Only_clear_or_green_with_origin_consent_within_the_hop_limit_is_relayed(Tlp tlp, bool allowed, int hop, int maxHops, bool expected)
    {
        Assert.Equal(expected, RelayRules.MayRelay(new Indicator { Tlp = tlp }, allowed, hop, maxHops));
    }
}
