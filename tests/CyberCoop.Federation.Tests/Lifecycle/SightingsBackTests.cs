using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Lifecycle;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests.Lifecycle;

/// <summary>Sightings reported back to the origin over real nations, under each peer's sightingsBack policy.</summary>
public sealed class SightingsBackTests : IAsyncLifetime
{
    private const string Value = "c2.sightings.example";
    private TestFederation _f = null!;

    public async ValueTask InitializeAsync()
    {
        // ee publishes to fi and lv; fi reports counts and sectors back to ee, lv's policy towards ee is off.
        _f = TestFederation.Create("ee", "fi", "lv");
        _f.Peer("ee", "fi");
        _f.Peer("ee", "lv");
        _f.Peer("fi", "ee");
        _f.Peer("lv", "ee");
        _f["fi"].EditPeer(_f["ee"].GatewayId, p => p with { SightingsBack = "counts+sector" });
        await _f.StartAsync();
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    private static string Id => IdOf(IndicatorType.Domain, Value);

    private SightingsReporter Reporter(string code) => _f[code].Node!.Services.GetRequiredService<SightingsReporter>();

    private Task<IReadOnlyList<ReceivedSightings>> AtOriginAsync() => _f["ee"].Node!.Runtime.Store.ReadReceivedSightingsAsync(Id, CancellationToken.None);

    private static Sighting LocalSighting(uint count)
    {
        var sighting = Sighting(IndicatorType.Domain, Value);
        sighting.Sensor = "fi-secret-sensor-7";
        sighting.Count = count;
        sighting.Sectors.Add("energy");
        return sighting;
    }

    private async Task PublishAsync()
    {
        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, Value));
        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, Value) is not null && await _f.GetAsync("lv", IndicatorType.Domain, Value) is not null,
            "fi and lv hold ee's indicator");
    }

    [Fact]
    public async Task Sightings_flow_back_to_the_origin_as_counts_and_sectors_only()
    {
        await PublishAsync();
        await _f.IngestAsync("fi", LocalSighting(3));
        await _f.IngestAsync("lv", LocalSighting(5));

        Assert.Equal(1, await Reporter("fi").ReportOnceAsync(CancellationToken.None));
        Assert.Equal(0, await Reporter("lv").ReportOnceAsync(CancellationToken.None));

        await WaitUntilAsync(async () => (await AtOriginAsync()).Count == 1, "ee receives fi's report");
        var fromFi = Assert.Single(await AtOriginAsync());
        Assert.Equal(_f["fi"].GatewayId, fromFi.Reporter);
        Assert.Equal(3, fromFi.Count);
        Assert.Equal(["energy"], fromFi.Sectors);
        var audit = await LifecycleFederation.AuditAsync(_f["ee"].Node!.Runtime.Store);
        Assert.Contains(audit, e => e.Decision == "sightings-received" && e.Actor == _f["fi"].GatewayId);
        Assert.DoesNotContain(audit, e => e.Reason.Contains("fi-secret-sensor", StringComparison.Ordinal) || e.DetailsJson.Contains("fi-secret-sensor", StringComparison.Ordinal));
        Assert.DoesNotContain(audit, e => e.DetailsJson.Contains("scada-hmi-07", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Only_new_sightings_are_reported_in_the_next_period()
    {
        await PublishAsync();
        await _f.IngestAsync("fi", LocalSighting(2));
        await Reporter("fi").ReportOnceAsync(CancellationToken.None);
        await WaitUntilAsync(async () => (await AtOriginAsync()).Count == 1, "ee receives the first report");

        Assert.Equal(0, await Reporter("fi").ReportOnceAsync(CancellationToken.None));
        await _f.IngestAsync("fi", LocalSighting(4));
        Assert.Equal(1, await Reporter("fi").ReportOnceAsync(CancellationToken.None));

        await WaitUntilAsync(async () => (await AtOriginAsync()).SingleOrDefault()?.Reports == 2, "ee receives the second report");
        var total = Assert.Single(await AtOriginAsync());
        Assert.Equal(6, total.Count);
    }

    [Fact]
    public async Task Counts_policy_sends_no_sectors()
    {
        _f["fi"].EditPeer(_f["ee"].GatewayId, p => p with { SightingsBack = "counts" });
        _f.WriteConfigs();
        Assert.True(_f["fi"].Node!.Runtime.Reload().Applied);
        await PublishAsync();
        await _f.IngestAsync("fi", LocalSighting(1));

        await Reporter("fi").ReportOnceAsync(CancellationToken.None);

        await WaitUntilAsync(async () => (await AtOriginAsync()).Count == 1, "ee receives fi's report");
        Assert.Empty(Assert.Single(await AtOriginAsync()).Sectors);
    }

    [Fact]
    public async Task Report_naming_another_reporter_or_signed_by_someone_else_is_refused()
    {
        await PublishAsync();
        var crafted = new CraftedEnvelopes(_f, "lv", "ee");
        SightingReport Report(string reporter) => new()
        {
            ReportId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)),
            Reporter = reporter,
            Origin = _f["ee"].GatewayId,
            PeriodStart = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1)),
            PeriodEnd = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            Sightings = { new SightingCount { IndicatorId = Id, Count = 1000, FirstSeen = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1)), LastSeen = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow) } },
        };
        byte[] Signed(SightingReport report, SigningKeyPair key) => new SignedSightingReport
        {
            Report = report.ToByteString(),
            Suite = Suite.X25519Aes256GcmEd25519,
            SignerKeyId = ByteString.CopyFrom(key.PublicKey.KeyId),
            Signature = ByteString.CopyFrom(ContentSignatures.Sign(SignaturePurpose.SightingReport, report.ToByteArray(), key)),
        }.ToByteArray();
        var lvKey = _f["lv"].Node!.Runtime.Identity.SigningKey(Suite.X25519Aes256GcmEd25519);
        var fiKey = _f["fi"].Node!.Runtime.Identity.SigningKey(Suite.X25519Aes256GcmEd25519);
        var withFiKeyId = new SignedSightingReport
        {
            Report = Report(_f["lv"].GatewayId).ToByteString(),
            Suite = Suite.X25519Aes256GcmEd25519,
            SignerKeyId = ByteString.CopyFrom(lvKey.PublicKey.KeyId),
            Signature = ByteString.CopyFrom(ContentSignatures.Sign(SignaturePurpose.SightingReport, Report(_f["lv"].GatewayId).ToByteArray(), fiKey)),
        }.ToByteArray();

        var acks = await crafted.ExchangeAsync(
        [
            await crafted.SealPayloadAsync(Signed(Report(_f["fi"].GatewayId), lvKey), PayloadKind.SightingReport),
            await crafted.SealPayloadAsync(withFiKeyId, PayloadKind.SightingReport),
            await crafted.SealPayloadAsync(Signed(Report(_f["lv"].GatewayId), lvKey), PayloadKind.SightingReport, hopCount: 1),
        ]);

        Assert.All(acks, a => Assert.Equal(AckStatus.Rejected, a.Status));
        Assert.Contains(acks, a => a.Reason.StartsWith("malformed-sighting-report: reporter", StringComparison.Ordinal));
        Assert.Contains(acks, a => a.Reason.StartsWith("bad-signature", StringComparison.Ordinal));
        Assert.Contains(acks, a => a.Reason.StartsWith("relay-not-entitled", StringComparison.Ordinal));
        Assert.Empty(await AtOriginAsync());
    }

    [Fact]
    public async Task Report_about_indicators_the_receiver_did_not_originate_adds_nothing()
    {
        await PublishAsync();
        await _f.IngestAsync("lv", Sighting(IndicatorType.Domain, "lv-only.example"));
        var crafted = new CraftedEnvelopes(_f, "lv", "ee");
        var key = _f["lv"].Node!.Runtime.Identity.SigningKey(Suite.X25519Aes256GcmEd25519);
        var report = new SightingReport
        {
            ReportId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)),
            Reporter = _f["lv"].GatewayId,
            Origin = _f["ee"].GatewayId,
            PeriodStart = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1)),
            PeriodEnd = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            Sightings = { new SightingCount { IndicatorId = IdOf(IndicatorType.Domain, "unknown-to-ee.example"), Count = 5, FirstSeen = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1)), LastSeen = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow) } },
        };
        var signed = new SignedSightingReport
        {
            Report = report.ToByteString(),
            Suite = Suite.X25519Aes256GcmEd25519,
            SignerKeyId = ByteString.CopyFrom(key.PublicKey.KeyId),
            Signature = ByteString.CopyFrom(ContentSignatures.Sign(SignaturePurpose.SightingReport, report.ToByteArray(), key)),
        }.ToByteArray();

        var ack = Assert.Single(await crafted.ExchangeAsync([await crafted.SealPayloadAsync(signed, PayloadKind.SightingReport)]));

        Assert.Equal(AckStatus.Accepted, ack.Status);
        Assert.Empty(await _f["ee"].Node!.Runtime.Store.ReadReceivedSightingsAsync(IdOf(IndicatorType.Domain, "unknown-to-ee.example"), CancellationToken.None));
        Assert.Contains(await LifecycleFederation.AuditAsync(_f["ee"].Node!.Runtime.Store), e => e.Reason.Contains("1 entries ignored", StringComparison.Ordinal));
    }
}
