using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Federation;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// The dispatcher takes what Ingest just committed from memory, and falls back to the durable change feed when it
/// cannot (peer without keys yet, restart): either way every indicator arrives exactly once.
/// </summary>
public sealed class HandoffTests : IAsyncLifetime
{
    private TestFederation _f = null!;

    public ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi");
        _f.PeerBoth("ee", "fi", new OutboundPolicyConfig { TlpCeiling = "AMBER" });
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task Indicators_ingested_while_the_peer_is_connected_are_dispatched_from_memory_exactly_once()
    {
        await _f.StartAsync();
        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "first.handoff.example"));
        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, "first.handoff.example") is not null, "fi has the first indicator (peer keys known)");
        var dispatcher = Dispatcher("ee");
        var fromMemoryBefore = dispatcher.IndicatorsFromHandoff;

        await IngestBatchesAsync("mem", batches: 3, perBatch: 200);

        await WaitUntilAsync(async () => await _f["fi"].Node!.Runtime.Store.CountIndicatorsAsync(CancellationToken.None) == 601, "fi holds all 601 indicators", TimeSpan.FromSeconds(60));
        Assert.Equal(600, dispatcher.IndicatorsFromHandoff - fromMemoryBefore);
        await AssertEachOnceAsync("mem", 600);
    }

    [Fact]
    public async Task Indicators_ingested_before_the_peer_was_reachable_come_from_the_change_feed_exactly_once()
    {
        await _f.StartAsync("ee");
        await IngestBatchesAsync("feed", batches: 2, perBatch: 250);
        var dispatcher = Dispatcher("ee");

        await _f.StartAsync("fi");

        await WaitUntilAsync(async () => await _f["fi"].Node!.Runtime.Store.CountIndicatorsAsync(CancellationToken.None) == 500, "fi holds all 500 indicators", TimeSpan.FromSeconds(60));
        Assert.True(dispatcher.IndicatorsFromFeed >= 500, $"read {dispatcher.IndicatorsFromFeed} indicators from the change feed");
        await AssertEachOnceAsync("feed", 500);
    }

    private OutboundDispatcher Dispatcher(string code) => _f[code].Node!.Services.GetRequiredService<OutboundDispatcher>();

    private async Task IngestBatchesAsync(string prefix, int batches, int perBatch)
    {
        using var call = _f.IngestClient("ee").Submit();
        for (var b = 0; b < batches; b++)
        {
            var batch = new IngestBatch { BatchId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()) };
            for (var i = 0; i < perBatch; i++)
            {
                batch.Sightings.Add(Sighting(IndicatorType.Domain, $"{prefix}-{b}-{i}.handoff.example"));
            }

            await call.RequestStream.WriteAsync(batch);
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.All(call.ResponseStream.Current.Items, item => Assert.Equal(ItemOutcome.Accepted, item.Outcome));
        }

        await call.RequestStream.CompleteAsync();
    }

    /// <summary>
    /// fi holds every indicator of the batches, and accepted each in exactly one bundle (its "received" audit entries
    /// list the ids): nothing was dispatched twice, by the hand-off and the feed both.
    /// </summary>
    private async Task AssertEachOnceAsync(string prefix, int expected)
    {
        var stored = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var indicator in _f["fi"].Node!.Runtime.Store.ReadAllIndicatorsAsync(CancellationToken.None))
        {
            if (indicator.Value.StartsWith(prefix + "-", StringComparison.Ordinal))
            {
                stored.Add(indicator.Id);
            }
        }

        Assert.Equal(expected, stored.Count);
        var accepted = new Dictionary<string, int>(StringComparer.Ordinal);
        await foreach (var entry in _f["fi"].Node!.Runtime.Store.Audit.TailAsync(100_000, CancellationToken.None))
        {
            if (entry.Kind != "received" || entry.Decision != "accepted")
            {
                continue;
            }

            using var details = System.Text.Json.JsonDocument.Parse(entry.DetailsJson);
            foreach (var id in details.RootElement.GetProperty("indicators").EnumerateArray())
            {
                var key = id.GetString()!;
                accepted[key] = accepted.GetValueOrDefault(key) + 1;
            }
        }

        Assert.All(stored, id => Assert.Equal(1, accepted.GetValueOrDefault(id)));
    }
}
