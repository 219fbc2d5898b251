using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Configuration;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// Sovereignty of received content (issue 13, item 1): a node that received an indicator from a peer and later saw the
/// same value from its own agent originates only its own observation. The peer's content (its confidence, first_seen,
/// TLP, tags, sectors, description, context, origin domain, observations) neither triggers a share to a third nation
/// nor shapes what that nation receives; it could reach the third nation only by relay, which the peer did not allow.
/// </summary>
public sealed class OriginViewTests : IAsyncLifetime
{
    private static readonly DateTimeOffset EeSeen = DateTimeOffset.UtcNow.AddHours(-3);
    private static readonly DateTimeOffset FiSeen = DateTimeOffset.UtcNow.AddMinutes(-5);
    private static readonly DateTimeOffset EeValidUntil = DateTimeOffset.UtcNow.AddDays(30);
    private static readonly DateTimeOffset FiValidUntil = DateTimeOffset.UtcNow.AddDays(2);

    private TestFederation _f = null!;

    public async ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi", "lv");
        // ee -> fi: everything, nothing redacted (so fi holds ee's sensor and context), and no relay.
        _f.Peer("ee", "fi", new OutboundPolicyConfig { TlpCeiling = "AMBER", AllowRelay = false, Redact = [] });
        _f.Peer("fi", "ee");
        // fi -> lv: at least confidence 70; nothing redacted, so every field fi sends can be compared.
        _f.Peer("fi", "lv", new OutboundPolicyConfig { TlpCeiling = "AMBER", MinConfidence = 70, Redact = [] });
        _f.Peer("lv", "fi");
        // ee and lv are peers, but ee never shares domains or CVEs with lv.
        _f.Peer("ee", "lv", new OutboundPolicyConfig { TlpCeiling = "AMBER", AllowedTypes = ["ipv4"] });
        _f.Peer("lv", "ee");
        await _f.StartAsync();
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Theory]
    [InlineData(IndicatorType.Domain, "merged-only-passes.example", 50u, 50u, 75u)]
    [InlineData(IndicatorType.Cve, "CVE-2024-3400", 100u, 50u, 100u)]
    public async Task Own_sighting_below_the_peers_minimum_is_withheld_although_the_record_merged_with_a_peers_passes(
        IndicatorType type, string value, uint eeConfidence, uint fiConfidence, uint mergedAtFi)
    {
        await ReceiveAtFiFromEeAsync(type, value, eeConfidence);

        await IngestAsync("fi", FiSighting(type, value, fiConfidence));

        var id = IdOf(type, value);
        var merged = await _f.GetAsync("fi", type, value);
        Assert.Equal(mergedAtFi, merged!.Confidence); // the merged record would pass lv's minimum of 70
        Assert.Equal(fiConfidence, (await _f["fi"].Node!.Runtime.Store.GetOwnViewAsync(id, CancellationToken.None))!.Confidence);
        await WaitUntilAsync(
            async () => (await _f.AuditAsync("fi")).Any(e => e.Kind == "withheld" && e.Subject == _f["lv"].GatewayId && e.Reason == "below-min-confidence" &&
                e.DetailsJson.Contains(id, StringComparison.Ordinal)),
            "fi records the own sighting as withheld from lv for its confidence");
        // A later own indicator that passes reaches lv: the dispatcher has gone past the withheld one.
        await IngestAsync("fi", FiSighting(IndicatorType.Domain, "sentinel-" + type.ToString().ToLowerInvariant() + ".example", 90));
        await WaitUntilAsync(async () => await _f.GetAsync("lv", IndicatorType.Domain, "sentinel-" + type.ToString().ToLowerInvariant() + ".example") is not null,
            "the sentinel reached lv");

        Assert.Null(await _f.GetAsync("lv", type, value));
        Assert.DoesNotContain(await _f.AuditAsync("lv"), e => e.DetailsJson.Contains(id, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(IndicatorType.Domain, "own-view-passes.example", 60u, 80u)]
    [InlineData(IndicatorType.Cve, "CVE-2023-4966", 100u, 80u)]
    public async Task Third_nation_receives_exactly_the_own_observation_and_nothing_of_the_peers(
        IndicatorType type, string value, uint eeConfidence, uint fiConfidence)
    {
        await ReceiveAtFiFromEeAsync(type, value, eeConfidence);

        var fiSighting = FiSighting(type, value, fiConfidence);
        await IngestAsync("fi", fiSighting);
        await WaitUntilAsync(async () => await _f.GetAsync("lv", type, value) is not null, "lv received fi's own view");

        var id = IdOf(type, value);
        var atLv = (await _f.GetAsync("lv", type, value))!;
        var merged = (await _f.GetAsync("fi", type, value))!;
        var ownAtFi = (await _f["fi"].Node!.Runtime.Store.GetOwnViewAsync(id, CancellationToken.None))!;
        var fiObserved = Timestamp.FromDateTimeOffset(FiSeen);

        // Precondition: fi's merged record carries ee's content in every field checked below.
        Assert.Equal("ee.cybercoop", merged.OriginDomain);
        Assert.Equal(Tlp.Amber, merged.Tlp);
        Assert.Contains("ee-only", merged.Tags);
        Assert.Contains(merged.Observations, o => o.Node == _f["ee"].GatewayId);
        Assert.Equal(Timestamp.FromDateTimeOffset(EeValidUntil), merged.ValidUntil);
        Assert.Equal(Timestamp.FromDateTimeOffset(EeSeen), merged.FirstSeen);

        // Field by field: what lv holds (it has no other source) is fi's own sighting only.
        Assert.Equal(id, atLv.Id);
        Assert.Equal("fi.cybercoop", atLv.OriginDomain);
        Assert.Equal(fiConfidence, atLv.Confidence);
        Assert.Equal(Tlp.Green, atLv.Tlp);
        Assert.Equal(fiObserved, atLv.FirstSeen);
        Assert.Equal(fiObserved, atLv.LastSeen);
        Assert.Equal(Timestamp.FromDateTimeOffset(FiValidUntil), atLv.ValidUntil);
        Assert.Equal(["fi-tag"], atLv.Tags);
        Assert.Equal(["fi-sector"], atLv.Sectors);
        Assert.Equal("", atLv.Description);
        var observation = Assert.Single(atLv.Observations);
        Assert.Equal(_f["fi"].GatewayId, observation.Node);
        Assert.Equal("sensor-1/fi-ids", observation.Sensor);
        Assert.Equal(fiConfidence, observation.Confidence);
        Assert.Equal(1u, observation.Count);
        Assert.Equal(fiObserved, observation.FirstSeen);
        Assert.Equal(fiObserved, observation.LastSeen);
        Assert.Equal(new Dictionary<string, string> { ["fi-key"] = "fi-value" }, observation.Context);
        // And as a whole: exactly fi's origin view, and not one byte of ee's content.
        Assert.Equal(ownAtFi, atLv);
        var bytes = atLv.ToByteArray();
        foreach (var marker in new[] { "ee-only", "ee-sector", "EE analyst", "ee-key", "ee-value", "ee-ids", "ee.cybercoop" })
        {
            Assert.DoesNotContain(marker, System.Text.Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        }

        var received = Assert.Single(await _f.AuditAsync("lv"), e => e.Kind == "received" && e.DetailsJson.Contains(id, StringComparison.Ordinal));
        Assert.StartsWith("origin " + _f["fi"].GatewayId + ", hop 0", received.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Indicator_only_received_from_a_peer_is_not_originated_to_a_third_nation()
    {
        await ReceiveAtFiFromEeAsync(IndicatorType.Domain, "received-only.example", 95);

        await IngestAsync("fi", FiSighting(IndicatorType.Domain, "sentinel-received-only.example", 90));
        await WaitUntilAsync(async () => await _f.GetAsync("lv", IndicatorType.Domain, "sentinel-received-only.example") is not null, "the sentinel reached lv");

        Assert.Null(await _f["fi"].Node!.Runtime.Store.GetOwnViewAsync(IdOf(IndicatorType.Domain, "received-only.example"), CancellationToken.None));
        Assert.Null(await _f.GetAsync("lv", IndicatorType.Domain, "received-only.example"));
    }

    /// <summary>ee's agent reports the value with ee-only content in every field; waits until fi stored it.</summary>
    private async Task ReceiveAtFiFromEeAsync(IndicatorType type, string value, uint confidence)
    {
        var sighting = new Sighting
        {
            Type = type,
            Value = value,
            Tlp = Tlp.Amber,
            Confidence = confidence,
            ObservedAt = Timestamp.FromDateTimeOffset(EeSeen),
            ValidUntil = Timestamp.FromDateTimeOffset(EeValidUntil),
            Description = "EE analyst note: seen in a ministry",
            Sensor = "ee-ids",
            Count = 3,
            Tags = { "ee-only" },
            Sectors = { "ee-sector" },
            Context = { ["ee-key"] = "ee-value" },
        };
        await IngestAsync("ee", sighting);
        await WaitUntilAsync(async () => await _f.GetAsync("fi", type, value) is not null, "fi received ee's indicator");
        Assert.Equal("ee.cybercoop", (await _f.GetAsync("fi", type, value))!.OriginDomain);
    }

    private static Sighting FiSighting(IndicatorType type, string value, uint confidence) => new()
    {
        Type = type,
        Value = value,
        Tlp = Tlp.Green,
        Confidence = confidence,
        ObservedAt = Timestamp.FromDateTimeOffset(FiSeen),
        ValidUntil = Timestamp.FromDateTimeOffset(FiValidUntil),
        Sensor = "fi-ids",
        Count = 1,
        Tags = { "fi-tag" },
        Sectors = { "fi-sector" },
        Context = { ["fi-key"] = "fi-value" },
    };

    private async Task IngestAsync(string code, Sighting sighting)
    {
        var result = await _f.IngestAsync(code, sighting);
        Assert.NotEqual(ItemOutcome.Rejected, Assert.Single(result.Items).Outcome);
    }
}
