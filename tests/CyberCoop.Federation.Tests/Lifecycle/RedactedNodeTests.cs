using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Configuration;
using static CyberCoop.Federation.Tests.Lifecycle.LifecycleFederation;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests.Lifecycle;

/// <summary>
/// An origin whose outbound policy redacts `node` (docs/protocol.md §7, observations) can still withdraw what it shared:
/// the receiver stores the origin's redacted observations under the origin's id, which the signed bundle names anyway.
/// </summary>
public sealed class RedactedNodeTests : IAsyncLifetime
{
    private const string Value = "203.0.113.91";
    private TestFederation _f = null!;

    public async ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi");
        _f.Peer("ee", "fi", new OutboundPolicyConfig { TlpCeiling = "AMBER", Redact = ["sensor", "context", "node"] });
        _f.Peer("fi", "ee");
        _f.WriteConfigs();
        await _f.StartAsync();
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task Withdrawal_reaches_a_peer_that_got_the_indicator_with_its_node_redacted()
    {
        var id = IdOf(IndicatorType.Ipv4, Value);
        await _f.IngestAsync("ee", Sighting(IndicatorType.Ipv4, Value, Tlp.Green));
        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Ipv4, Value) is not null, "fi holds ee's indicator", TimeSpan.FromSeconds(40));
        var stored = await _f.GetAsync("fi", IndicatorType.Ipv4, Value);
        var observation = Assert.Single(stored!.Observations);
        Assert.Equal(_f["ee"].GatewayId, observation.Node);
        Assert.Equal("", observation.Sensor);

        await WithdrawAsync(_f, "ee", id, "sinkholed, no longer malicious");

        var store = _f["fi"].Node!.Runtime.Store;
        await WaitUntilAsync(async () => (await store.ReadWithdrawalsAsync(id, CancellationToken.None)).Count == 1, "fi records ee's withdrawal", TimeSpan.FromSeconds(40));
        Assert.Single(await AuditAsync(store), e => e.Decision == "withdrawn-by-origin" && e.Subject == id);
        Assert.DoesNotContain(await AuditAsync(store), e => e.Subject == id && e.Reason.Contains("not-origin", StringComparison.Ordinal));
    }
}
