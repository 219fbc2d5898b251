using CyberCoop.Gateway.Hosting;
using Grpc.Core;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// A gateway whose database cannot grow (node.storageMaxMegabytes reached: SQLite's max_page_count, the same SQLITE_FULL a
/// full disk gives) refuses writes with RESOURCE_EXHAUSTED "storage-full", loses nothing it acknowledged, keeps serving,
/// and takes everything once it has room again.
/// </summary>
public sealed class StorageFullTests : IAsyncLifetime
{
    private const int SmallDatabaseMegabytes = 3;

    private TestFederation _f = null!;

    public ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi");
        _f.PeerBoth("ee", "fi");
        foreach (var nation in _f.Nations.Values)
        {
            nation.EditNode(n => n with { Reconnect = new Gateway.Configuration.ReconnectConfig { MinBackoffMilliseconds = 100, MaxBackoffSeconds = 1, DeniedMaxBackoffSeconds = 60 } });
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task A_full_database_refuses_ingest_with_resource_exhausted_naming_the_cause_and_resumes_when_space_returns()
    {
        _f["ee"].EditNode(n => n with { StorageMaxMegabytes = SmallDatabaseMegabytes });
        await _f.StartAsync("ee");

        var (acknowledged, refused) = await _f.IngestUntilRefusedAsync("ee", "full");

        var refusal = Assert.IsType<RpcException>(refused);
        Assert.Equal(StatusCode.ResourceExhausted, refusal.StatusCode);
        Assert.StartsWith(DamagedDatabaseInterceptor.StorageFull + ": the database ", refusal.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("node.storageMaxMegabytes", refusal.Status.Detail, StringComparison.Ordinal);
        Assert.NotEmpty(acknowledged);

        // Still serving: reads work and every acknowledged indicator is there.
        var store = _f["ee"].Node!.Runtime.Store;
        foreach (var id in acknowledged)
        {
            Assert.NotNull(await store.GetIndicatorAsync(id, CancellationToken.None));
        }

        // Space returns (the operator raises the limit and restarts): ingest is taken again.
        await _f.StopAsync("ee");
        _f["ee"].EditNode(n => n with { StorageMaxMegabytes = 0 });
        await _f.StartAsync("ee");
        var (more, none) = await _f.IngestUntilRefusedAsync("ee", "after", maxBatches: 3);
        Assert.Null(none);
        Assert.Equal(3 * 500, more.Count);
        Assert.Equal(acknowledged.Count + more.Count, await _f["ee"].Node!.Runtime.Store.CountIndicatorsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Envelopes_for_a_peer_whose_database_is_full_stay_in_the_outbox_and_arrive_exactly_once_after_it_has_room()
    {
        _f["fi"].EditNode(n => n with { StorageMaxMegabytes = SmallDatabaseMegabytes });
        await _f.StartAsync();

        // ee takes 15,000 indicators (its own database has room); fi fills up on the way.
        var sent = new HashSet<string>(StringComparer.Ordinal);
        for (var b = 0; b < 30; b++)
        {
            var (ids, refusal) = await _f.IngestUntilRefusedAsync("ee", $"peerfull{b}", maxBatches: 1);
            Assert.Null(refusal);
            sent.UnionWith(ids);
        }

        var metrics = _f["ee"].Node!.Runtime.Metrics.Peer(_f["fi"].GatewayId);
        await WaitUntilAsync(() => Task.FromResult(metrics.Snapshot().LastError.Contains(DamagedDatabaseInterceptor.StorageFull, StringComparison.Ordinal)),
            "ee's stream to fi fails with fi's storage-full", TimeSpan.FromSeconds(60));
        var outbox = await _f["ee"].Node!.Runtime.Store.GetOutboxStatsAsync(_f["fi"].GatewayId, CancellationToken.None);
        Assert.True(outbox.Depth > 0, "envelopes fi could not store stay queued at ee");
        var storedAtFull = await _f["fi"].Node!.Runtime.Store.CountIndicatorsAsync(CancellationToken.None);
        Assert.InRange(storedAtFull, 1, sent.Count - 1);

        await _f.StopAsync("fi");
        _f["fi"].EditNode(n => n with { StorageMaxMegabytes = 0 });
        await _f.StartAsync("fi");

        await WaitUntilAsync(async () => await _f["fi"].Node!.Runtime.Store.CountIndicatorsAsync(CancellationToken.None) >= sent.Count,
            "every indicator reaches fi once it has room", TimeSpan.FromSeconds(90));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var indicator in _f["fi"].Node!.Runtime.Store.ReadAllIndicatorsAsync(CancellationToken.None))
        {
            Assert.True(seen.Add(indicator.Id), $"{indicator.Id} stored twice");
            Assert.Equal(1u, Assert.Single(indicator.Observations).Count);
        }

        Assert.True(seen.SetEquals(sent));
    }
}
