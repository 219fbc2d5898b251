using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Lifecycle;
using CyberCoop.Gateway.Storage;
using Microsoft.Extensions.DependencyInjection;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests.Lifecycle;

/// <summary>
/// A relayed sighting report through real gateway processes that are killed (SIGKILL) and restarted: the origin ee and
/// the relay fi run as processes, the relay-only reporter lv in this process (so the test can start its report pass).
/// </summary>
public sealed class RelayedSightingsDurabilityTests : IAsyncLifetime
{
    private const string Value = "relayed-durable.sightings.example";
    private TestFederation _f = null!;

    public ValueTask InitializeAsync()
    {
        _f = LifecycleFederation.Create();
        _f.TrustOrigin("ee", "lv");
        _f["lv"].EditPeer(_f["fi"].GatewayId, p => p with { SightingsBack = "counts" });
        _f["fi"].EditPeer(_f["ee"].GatewayId, p => p with { SightingsBack = "counts" });
        _f.WriteConfigs();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    private static string Id => IdOf(IndicatorType.Domain, Value);

    [Fact]
    public async Task Relay_killed_with_the_report_in_its_outbox_and_the_killed_origin_get_it_there_exactly_once_after_restart()
    {
        var ee = await GatewayProcess.StartAsync(_f["ee"].ConfigPath, _f["ee"].Port);
        var fi = await GatewayProcess.StartAsync(_f["fi"].ConfigPath, _f["fi"].Port);
        try
        {
            await _f.StartAsync("lv");
            await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, Value, Tlp.Green));
            await WaitUntilAsync(async () => await _f.GetAsync("lv", IndicatorType.Domain, Value) is not null, "lv holds ee's indicator by fi's relay", TimeSpan.FromSeconds(60));

            // The origin dies; lv reports; the relay dies (SIGKILL) as soon as it has queued the report for ee.
            await ee.KillAsync();
            await ee.DisposeAsync();
            var sighting = Sighting(IndicatorType.Domain, Value, Tlp.Green);
            sighting.Count = 7;
            await _f.IngestAsync("lv", sighting);
            Assert.Equal(1, await _f["lv"].Node!.Services.GetRequiredService<SightingsReporter>().ReportOnceAsync(CancellationToken.None));
            await WaitUntilAsync(async () => (await ReadAsync("fi", s => s.ReadOutboxAsync(_f["ee"].GatewayId, 0, 1000, CancellationToken.None))).Any(e => e.Kind == PayloadKind.SightingReport),
                "fi queues lv's report for ee", TimeSpan.FromSeconds(60));
            await fi.KillAsync();
            await fi.DisposeAsync();
            Assert.Empty(await ReadAsync("ee", s => s.ReadReceivedSightingsAsync(Id, CancellationToken.None)));

            ee = await GatewayProcess.StartAsync(_f["ee"].ConfigPath, _f["ee"].Port);
            fi = await GatewayProcess.StartAsync(_f["fi"].ConfigPath, _f["fi"].Port);

            await WaitUntilAsync(async () => (await ReadAsync("ee", s => s.ReadReceivedSightingsAsync(Id, CancellationToken.None))).Count == 1,
                "ee gets lv's report after both restarts", TimeSpan.FromSeconds(90));
            await WaitUntilAsync(async () => (await ReadAsync("fi", s => s.GetOutboxStatsAsync(_f["ee"].GatewayId, CancellationToken.None))).Depth == 0,
                "fi's outbox to ee drains", TimeSpan.FromSeconds(60));
            var fromLv = Assert.Single(await ReadAsync("ee", s => s.ReadReceivedSightingsAsync(Id, CancellationToken.None)));
            Assert.Equal(_f["lv"].GatewayId, fromLv.Reporter);
            Assert.Equal(7, fromLv.Count);
            Assert.Equal(1, fromLv.Reports);
            Assert.Single(await ReadAsync("ee", LifecycleFederation.AuditAsync), e => e.Decision == "sightings-received");
            Assert.Single(await ReadAsync("fi", LifecycleFederation.AuditAsync), e => e.Decision == "sightings-forwarded");
        }
        finally
        {
            await ee.DisposeAsync();
            await fi.DisposeAsync();
        }
    }

    private Task<T> ReadAsync<T>(string code, Func<GatewayStore, Task<T>> read) => LifecycleFederation.ReadAsync(_f, code, read);
}
