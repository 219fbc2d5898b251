using System.Security.Cryptography;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Lifecycle;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests.Lifecycle;

/// <summary>
/// Sightings of a relayed indicator travel back along the relay path: ee originates, fi relays to lv (not ee's peer),
/// lv's agent sees it; lv reports to fi under its policy towards fi, fi forwards the lv-signed report to ee under its
/// policy towards ee, and ee (which pins lv's root as a trusted origin) verifies it end to end. Real nations on loopback
/// with real mTLS and SQLite.
/// </summary>
public sealed class RelayedSightingsTests : IAsyncLifetime
{
    private const string Value = "relayed-c2.sightings.example";
    private const string SecretSensor = "lv-secret-sensor-9";
    private const string SecretHost = "lv-scada-hmi-03.corp.lv";
    private TestFederation _f = null!;

    public ValueTask InitializeAsync()
    {
        _f = LifecycleFederation.Create();
        _f.TrustOrigin("ee", "lv");
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    private static string Id => IdOf(IndicatorType.Domain, Value);

    private GatewayStore Store(string code) => _f[code].Node!.Runtime.Store;

    private SightingsReporter Reporter(string code) => _f[code].Node!.Services.GetRequiredService<SightingsReporter>();

    private Task<IReadOnlyList<ReceivedSightings>> AtOriginAsync() => Store("ee").ReadReceivedSightingsAsync(Id, CancellationToken.None);

    private void Policy(string at, string towards, string level) =>
        _f[at].EditPeer(_f[towards].GatewayId, p => p with { SightingsBack = level });

    private async Task StartWithPoliciesAsync(string lvTowardsFi, string fiTowardsEe)
    {
        Policy("lv", "fi", lvTowardsFi);
        Policy("fi", "ee", fiTowardsEe);
        await _f.StartAsync();
    }

    /// <summary>ee publishes a GREEN indicator; waits until the relay-only node lv holds it (by fi's relay).</summary>
    private async Task PublishAndRelayAsync()
    {
        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, Value, Tlp.Green));
        await WaitUntilAsync(async () => await _f.GetAsync("lv", IndicatorType.Domain, Value) is not null, "lv holds ee's indicator by fi's relay");
    }

    private static Sighting LvSighting(uint count)
    {
        var sighting = Sighting(IndicatorType.Domain, Value, Tlp.Green);
        sighting.Sensor = SecretSensor;
        sighting.Count = count;
        sighting.Sectors.Add("transport");
        sighting.Context["host"] = SecretHost;
        return sighting;
    }

    public static TheoryData<string, string, bool, bool, string?> PolicyCombinations => new()
    {
        // lv towards fi, fi towards ee, reaches ee, with sectors, what fi audits when it withholds
        { "counts", "counts", true, false, null },
        { "counts+sector", "counts+sector", true, true, null },
        { "counts", "counts+sector", true, false, null },
        { "counts+sector", "counts", false, false, "sightings-back-counts" },
        { "counts", "off", false, false, "sightings-back-off" },
    };

    [Theory]
    [MemberData(nameof(PolicyCombinations))]
    public async Task Relayed_sighting_reaches_the_origin_only_if_every_hop_allows_it(string lvTowardsFi, string fiTowardsEe, bool reaches, bool withSectors, string? withheldAtFi)
    {
        await StartWithPoliciesAsync(lvTowardsFi, fiTowardsEe);
        await PublishAndRelayAsync();
        await _f.IngestAsync("lv", LvSighting(4));

        Assert.Equal(1, await Reporter("lv").ReportOnceAsync(CancellationToken.None));

        // fi decides: forwarded or withheld, audited either way.
        await WaitUntilAsync(async () => (await _f.AuditAsync("fi")).Any(e => e.Decision is "sightings-forwarded" or "sightings-withheld"), "fi handles lv's report");
        var atFi = (await _f.AuditAsync("fi")).Single(e => e.Decision is "sightings-forwarded" or "sightings-withheld");
        Assert.Equal(_f["lv"].GatewayId, atFi.Actor);
        if (reaches)
        {
            Assert.Equal("sightings-forwarded", atFi.Decision);
            await WaitUntilAsync(async () => (await AtOriginAsync()).Count == 1, "ee receives lv's report through fi");
            var fromLv = Assert.Single(await AtOriginAsync());
            Assert.Equal(_f["lv"].GatewayId, fromLv.Reporter);
            Assert.Equal(4, fromLv.Count);
            Assert.Equal(withSectors ? ["transport"] : [], fromLv.Sectors);
            var received = (await _f.AuditAsync("ee")).Single(e => e.Decision == "sightings-received");
            Assert.Equal(_f["fi"].GatewayId, received.Actor);
            Assert.Contains($"reported by {_f["lv"].GatewayId}, relayed by {_f["fi"].GatewayId}, hop 1", received.Reason, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal("sightings-withheld", atFi.Decision);
            Assert.StartsWith(withheldAtFi!, atFi.Reason, StringComparison.Ordinal);
            Assert.DoesNotContain(await Store("fi").ReadOutboxAsync(_f["ee"].GatewayId, 0, 1000, CancellationToken.None), e => e.Kind == PayloadKind.SightingReport);
            Assert.Empty(await AtOriginAsync());
        }

        // Nothing about lv's sensors or hosts anywhere on the path.
        foreach (var code in new[] { "fi", "ee" })
        {
            Assert.DoesNotContain(await _f.AuditAsync(code), e => (e.Reason + e.DetailsJson).Contains(SecretSensor, StringComparison.Ordinal)
                || (e.Reason + e.DetailsJson).Contains(SecretHost, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Relay_only_node_with_policy_off_towards_its_relay_sends_nothing()
    {
        await StartWithPoliciesAsync("off", "counts");
        await PublishAndRelayAsync();
        await _f.IngestAsync("lv", LvSighting(2));

        Assert.Equal(0, await Reporter("lv").ReportOnceAsync(CancellationToken.None));

        Assert.DoesNotContain(await Store("lv").ReadOutboxAsync(_f["fi"].GatewayId, 0, 1000, CancellationToken.None), e => e.Kind == PayloadKind.SightingReport);
        Assert.DoesNotContain(await _f.AuditAsync("lv"), e => e.Decision == "sightings-reported");
        Assert.DoesNotContain(await _f.AuditAsync("fi"), e => e.Kind == AuditKinds.Sighting);
        Assert.Empty(await AtOriginAsync());
    }

    [Fact]
    public async Task Origin_lists_the_relay_path_reporter_in_indicators_show()
    {
        await StartWithPoliciesAsync("counts+sector", "counts+sector");
        await PublishAndRelayAsync();
        await _f.IngestAsync("fi", Sighting(IndicatorType.Domain, Value, Tlp.Green));
        await _f.IngestAsync("lv", LvSighting(6));

        await Reporter("lv").ReportOnceAsync(CancellationToken.None);
        await Reporter("fi").ReportOnceAsync(CancellationToken.None);
        await WaitUntilAsync(async () => (await AtOriginAsync()).Count == 2, "ee receives fi's own and lv's relayed report");

        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CliInvocation.InvokeAsync(GatewayCommandLine.Build(), ["indicators", "show", "domain:" + Value, "--config", _f["ee"].ConfigPath],
            new System.CommandLine.InvocationConfiguration { Output = output, Error = error });

        Assert.True(exit == 0, error.ToString());
        using var json = System.Text.Json.JsonDocument.Parse(output.ToString());
        var sightings = json.RootElement.GetProperty("sightings").EnumerateArray().ToDictionary(s => s.GetProperty("reporter").GetString()!, s => s);
        Assert.Equal(6, sightings[_f["lv"].GatewayId].GetProperty("count").GetInt64());
        Assert.Equal(_f["lv"].Domain, sightings[_f["lv"].GatewayId].GetProperty("nation").GetString());
        Assert.Equal(1, sightings[_f["fi"].GatewayId].GetProperty("count").GetInt64());
        Assert.DoesNotContain(SecretSensor, output.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(SecretHost, output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Origin_restarted_while_the_report_waits_at_the_relay_gets_it_exactly_once()
    {
        await StartWithPoliciesAsync("counts", "counts");
        await PublishAndRelayAsync();
        await _f.StopAsync("ee");
        await _f.IngestAsync("lv", LvSighting(3));

        Assert.Equal(1, await Reporter("lv").ReportOnceAsync(CancellationToken.None));
        await WaitUntilAsync(async () => (await Store("fi").ReadOutboxAsync(_f["ee"].GatewayId, 0, 1000, CancellationToken.None)).Any(e => e.Kind == PayloadKind.SightingReport),
            "fi queued lv's report for ee while ee is down");
        var queued = (await Store("fi").ReadOutboxAsync(_f["ee"].GatewayId, 0, 1000, CancellationToken.None)).Single(e => e.Kind == PayloadKind.SightingReport);
        var forwarded = SignedSightingReport.Parser.ParseFrom(queued.EnvelopeBytes);
        Assert.Equal(1, queued.HopCount);
        Assert.Equal(_f["lv"].GatewayId, SightingReport.Parser.ParseFrom(forwarded.Report).Reporter);
        Assert.NotNull(forwarded.ReporterAnnouncement);
        Assert.True(queued.EnvelopeBytes.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(SecretSensor)) < 0);
        Assert.True(queued.EnvelopeBytes.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(SecretHost)) < 0);

        // The relay restarts too, with the report only in its outbox.
        await _f.StopAsync("fi");
        await _f.StartAsync("fi", "ee");

        await WaitUntilAsync(async () => (await AtOriginAsync()).Count == 1, "ee receives lv's report after the restarts");
        await WaitUntilAsync(async () => (await Store("fi").GetOutboxStatsAsync(_f["ee"].GatewayId, CancellationToken.None)).Depth == 0, "fi's outbox to ee drains");
        var fromLv = Assert.Single(await AtOriginAsync());
        Assert.Equal(1, fromLv.Reports);
        Assert.Equal(3, fromLv.Count);
        Assert.Single(await _f.AuditAsync("ee"), e => e.Decision == "sightings-received");
    }

    /// <summary>A report lv signed (as lv's reporter does), addressed to ee, about the given indicators.</summary>
    private SignedSightingReport LvReport(SigningKeyPair? signWith = null, params string[] indicatorIds)
    {
        var now = DateTimeOffset.UtcNow;
        var report = new SightingReport
        {
            ReportId = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)),
            Reporter = _f["lv"].GatewayId,
            Origin = _f["ee"].GatewayId,
            PeriodStart = Timestamp.FromDateTimeOffset(now.AddHours(-1)),
            PeriodEnd = Timestamp.FromDateTimeOffset(now),
        };
        foreach (var id in indicatorIds.Length == 0 ? [Id] : indicatorIds)
        {
            report.Sightings.Add(new SightingCount { IndicatorId = id, Count = 500, FirstSeen = Timestamp.FromDateTimeOffset(now.AddHours(-1)), LastSeen = Timestamp.FromDateTimeOffset(now) });
        }

        var lvKey = _f["lv"].Node!.Runtime.Identity.SigningKey(Suite.X25519Aes256GcmEd25519);
        var bytes = report.ToByteArray();
        return new SignedSightingReport
        {
            Report = ByteString.CopyFrom(bytes),
            Suite = Suite.X25519Aes256GcmEd25519,
            SignerKeyId = ByteString.CopyFrom(lvKey.PublicKey.KeyId),
            Signature = ByteString.CopyFrom(ContentSignatures.Sign(SignaturePurpose.SightingReport, bytes, signWith ?? lvKey)),
            ReporterAnnouncement = _f["fi"].Node!.Services.GetRequiredService<PeerKeyDirectory>().Find(_f["lv"].GatewayId)!.Signed,
        };
    }

    [Fact]
    public async Task Forged_or_replayed_forwarded_report_is_refused_and_audited()
    {
        await StartWithPoliciesAsync("counts", "counts");
        await PublishAndRelayAsync();
        await WaitUntilAsync(() => Task.FromResult(_f["fi"].Node!.Services.GetRequiredService<PeerKeyDirectory>().Find(_f["lv"].GatewayId) is not null), "fi knows lv's keys");
        var fiToEe = new CraftedEnvelopes(_f, "fi", "ee");
        var fiKey = _f["fi"].Node!.Runtime.Identity.SigningKey(Suite.X25519Aes256GcmEd25519);
        var tampered = LvReport();
        var changed = SightingReport.Parser.ParseFrom(tampered.Report);
        changed.Sightings[0].Count = 50_000;
        tampered.Report = changed.ToByteString();
        var notGivenToFi = LvReport(null, IdOf(IndicatorType.Domain, "never-sent-to-fi.example"));
        var genuine = LvReport();

        var acks = await fiToEe.ExchangeAsync(
        [
            await fiToEe.SealPayloadAsync(LvReport(fiKey).ToByteArray(), PayloadKind.SightingReport, hopCount: 1), // fi signs in lv's name
            await fiToEe.SealPayloadAsync(tampered.ToByteArray(), PayloadKind.SightingReport, hopCount: 1),         // changed after lv signed
            await fiToEe.SealPayloadAsync(notGivenToFi.ToByteArray(), PayloadKind.SightingReport, hopCount: 1),    // ee never gave fi that one
            await fiToEe.SealPayloadAsync(genuine.ToByteArray(), PayloadKind.SightingReport, hopCount: 0),         // relayed copy claiming hop 0
        ]);

        Assert.All(acks, a => Assert.Equal(AckStatus.Rejected, a.Status));
        Assert.Equal(2, acks.Count(a => a.ReasonCode == RejectReason.BadSignature));
        Assert.Single(acks, a => a.ReasonCode == RejectReason.NotRelayedToSender);
        Assert.Single(acks, a => a.ReasonCode == RejectReason.MalformedSightingReport && a.Reason.Contains("is not the sender", StringComparison.Ordinal));
        Assert.Empty(await AtOriginAsync());

        // The genuine relayed report is accepted once; the same signed report again, in a new envelope, is a replay.
        var first = Assert.Single(await fiToEe.ExchangeAsync([await fiToEe.SealPayloadAsync(genuine.ToByteArray(), PayloadKind.SightingReport, hopCount: 1)]));
        var replay = Assert.Single(await fiToEe.ExchangeAsync([await fiToEe.SealPayloadAsync(genuine.ToByteArray(), PayloadKind.SightingReport, hopCount: 1)]));

        Assert.Equal(AckStatus.Accepted, first.Status);
        Assert.Equal(AckStatus.Duplicate, replay.Status);
        Assert.Equal("duplicate: sighting report already received", replay.Reason);
        Assert.Equal(500, Assert.Single(await AtOriginAsync()).Count);
        Assert.Contains(await _f.AuditAsync("ee"), e => e.Decision == "dropped" && e.Reason.StartsWith("sighting-report-already-received", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Relay_refuses_a_report_about_an_indicator_it_did_not_relay_to_the_reporter_and_drops_a_replay()
    {
        await StartWithPoliciesAsync("counts", "counts");
        await PublishAndRelayAsync();
        // ee's AMBER indicator reaches fi but is never relayed to lv (AMBER stops at the first recipient).
        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "amber-stays-at-fi.example", Tlp.Amber));
        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, "amber-stays-at-fi.example") is not null, "fi holds ee's AMBER indicator");
        var lvToFi = new CraftedEnvelopes(_f, "lv", "fi");
        var notRelayed = LvReport(null, IdOf(IndicatorType.Domain, "amber-stays-at-fi.example"));
        notRelayed.ReporterAnnouncement = null;
        var genuine = LvReport();
        genuine.ReporterAnnouncement = null;

        var acks = await lvToFi.ExchangeAsync(
        [
            await lvToFi.SealPayloadAsync(notRelayed.ToByteArray(), PayloadKind.SightingReport),
            await lvToFi.SealPayloadAsync(genuine.ToByteArray(), PayloadKind.SightingReport),
        ]);
        var replay = Assert.Single(await lvToFi.ExchangeAsync([await lvToFi.SealPayloadAsync(genuine.ToByteArray(), PayloadKind.SightingReport)]));

        Assert.Equal(RejectReason.NotRelayedToSender, acks[0].ReasonCode);
        Assert.Equal(AckStatus.Accepted, acks[1].Status);
        Assert.Equal(AckStatus.Duplicate, replay.Status);
        Assert.Equal("duplicate: sighting report already forwarded", replay.Reason);
        await WaitUntilAsync(async () => (await AtOriginAsync()).Count == 1, "ee receives the genuine report once");
        Assert.Equal(1, Assert.Single(await AtOriginAsync()).Reports);
        Assert.Contains(await _f.AuditAsync("fi"), e => e.Decision == "dropped" && e.Reason.StartsWith("sighting-report-already-forwarded", StringComparison.Ordinal));
        Assert.Empty(await Store("ee").ReadReceivedSightingsAsync(IdOf(IndicatorType.Domain, "amber-stays-at-fi.example"), CancellationToken.None));
    }
}
