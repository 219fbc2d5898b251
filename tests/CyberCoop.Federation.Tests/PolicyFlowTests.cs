using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Configuration;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>What flows where between three real nations, and why.</summary>
public sealed class PolicyFlowTests : IAsyncLifetime
{
    private TestFederation _f = null!;

    public async ValueTask InitializeAsync()
    {
        // ee <-> fi <-> lv; ee and lv are not peers, but lv pins ee's root to verify relayed content.
        _f = TestFederation.Create("ee", "fi", "lv");
        _f.Peer("ee", "fi", new OutboundPolicyConfig
        {
            TlpCeiling = "AMBER",
            AllowedTypes = ["ipv4", "domain", "sha256", "url"],
            AllowRelay = true,
        });
        _f.Peer("fi", "ee");
        _f.Peer("fi", "lv", new OutboundPolicyConfig { TlpCeiling = "GREEN", AllowRelay = false });
        _f.Peer("lv", "fi");
        _f.TrustOrigin("lv", "ee");
        await _f.StartAsync();
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task Amber_indicator_reaches_the_peer_but_is_not_relayed_to_a_third_nation()
    {
        var result = await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "Amber-C2.example", Tlp.Amber));
        Assert.Equal(ItemOutcome.Accepted, result.Items[0].Outcome);

        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, "amber-c2.example") is not null, "fi has the AMBER indicator");
        var atFi = await _f.GetAsync("fi", IndicatorType.Domain, "amber-c2.example");
        Assert.Equal(Tlp.Amber, atFi!.Tlp);
        Assert.Equal("ee.cybercoop", atFi.OriginDomain);

        // Give the relay path every chance, then check lv never got it and fi recorded why.
        await WaitUntilAsync(async () => (await _f.AuditAsync("fi")).Any(e => e.Reason.Contains("tlp-too-high", StringComparison.Ordinal)), "fi records the relay refusal");
        Assert.Null(await _f.GetAsync("lv", IndicatorType.Domain, "amber-c2.example"));
    }

    [Fact]
    public async Task Green_indicator_with_relay_allowed_reaches_third_nation_with_origin_signature_verified()
    {
        await _f.IngestAsync("ee", Sighting(IndicatorType.Ipv4, "198.51.100.23", Tlp.Green));

        await WaitUntilAsync(async () => await _f.GetAsync("lv", IndicatorType.Ipv4, "198.51.100.23") is not null, "lv has the relayed GREEN indicator", TimeSpan.FromSeconds(30));
        var atLv = await _f.GetAsync("lv", IndicatorType.Ipv4, "198.51.100.23");
        Assert.Equal("ee.cybercoop", atLv!.OriginDomain);
        Assert.Contains(atLv.Observations, o => o.Node == _f["ee"].GatewayId);
        var lvAudit = await _f.AuditAsync("lv");
        Assert.Contains(lvAudit, e => e.Kind == "received" && e.Reason.Contains("origin " + _f["ee"].GatewayId + ", hop 1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Red_indicator_never_leaves_its_nation()
    {
        await _f.IngestAsync("ee",
            Sighting(IndicatorType.Sha256, new string('a', 64), Tlp.Red),
            Sighting(IndicatorType.Sha256, new string('b', 64), Tlp.Amber));

        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Sha256, new string('b', 64)) is not null, "the AMBER companion reached fi");
        Assert.NotNull(await _f.GetAsync("ee", IndicatorType.Sha256, new string('a', 64)));
        Assert.Null(await _f.GetAsync("fi", IndicatorType.Sha256, new string('a', 64)));
        var audit = await _f.AuditAsync("ee");
        Assert.Contains(audit, e => e.Kind == "withheld" && e.DetailsJson.Contains(IdOf(IndicatorType.Sha256, new string('a', 64)), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Type_not_allowed_for_peer_is_withheld_with_the_reason_recorded()
    {
        await _f.IngestAsync("ee",
            Sighting(IndicatorType.Cve, "CVE-2024-3400", Tlp.Green),
            Sighting(IndicatorType.Domain, "allowed-type.example", Tlp.Green));

        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, "allowed-type.example") is not null, "the allowed type reached fi");
        Assert.Null(await _f.GetAsync("fi", IndicatorType.Cve, "CVE-2024-3400"));
        var audit = await _f.AuditAsync("ee");
        var withheld = Assert.Single(audit, e => e.Kind == "withheld" && e.DetailsJson.Contains(IdOf(IndicatorType.Cve, "CVE-2024-3400"), StringComparison.Ordinal));
        Assert.Contains("type", withheld.Reason, StringComparison.Ordinal);
        Assert.Equal(_f["fi"].GatewayId, withheld.Subject);
    }

    [Fact]
    public async Task Redacted_fields_are_absent_at_the_peer()
    {
        await _f.IngestAsync("ee", Sighting(IndicatorType.Url, "http://Phish.example/login?x=1", Tlp.Amber));

        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Url, "http://Phish.example/login?x=1") is not null, "fi has the URL");
        var atFi = await _f.GetAsync("fi", IndicatorType.Url, "http://Phish.example/login?x=1");
        var atEe = await _f.GetAsync("ee", IndicatorType.Url, "http://Phish.example/login?x=1");
        Assert.Contains(atEe!.Observations, o => o.Sensor.Length > 0 && o.Context.ContainsKey("internal_host"));
        var fromEe = Assert.Single(atFi!.Observations, o => o.Node == _f["ee"].GatewayId);
        Assert.Equal("", fromEe.Sensor);
        Assert.Empty(fromEe.Context);
    }
}
