using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Storage;
using CyberCoop.Testing;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// A gateway on PostgreSQL whose server's pg_wal volume fills up (<see cref="PostgresSmallWal"/>: a cluster of its own
/// with pg_wal on a 16 MB tmpfs and a replication slot that keeps every WAL segment, as an abandoned replica's slot
/// does). PostgreSQL PANICs when it cannot create the next WAL segment, terminates every session, fails its crash
/// recovery for want of space and stops (a statement that meets the full volume outside a critical section gets ERROR
/// 53100 first, answered RESOURCE_EXHAUSTED "storage-full" naming pg_wal). Meanwhile the gateway answers its agent and
/// its peer with UNAVAILABLE "store-unavailable" naming the store and the outage (not an internal error, as before), loses nothing it acknowledged and
/// none of its background services dies: once the volume is grown and the server started again (pg_ctl, as an
/// operator would), it takes ingest again without a restart, the peer's backlog arrives exactly once, its own outbox
/// reaches the peer, the audit entries queued during the outage are written and the audit log is still one chain.
/// </summary>
public sealed class PostgresWalFullTests : IAsyncLifetime
{
    private const int WalMegabytes = 16;

    private static readonly TimeSpan s_recovery = TimeSpan.FromSeconds(120);

    private PostgresSmallWal _server = null!;
    private TestFederation _f = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await PostgresSmallWal.StartAsync(WalMegabytes);
        var database = await _server.CreateDatabaseAsync("ee", TestContext.Current.CancellationToken);
        _f = TestFederation.Create("ee", "fi");
        _f.PeerBoth("ee", "fi");
        foreach (var nation in _f.Nations.Values)
        {
            nation.EditNode(n => n with { Reconnect = new ReconnectConfig { MinBackoffMilliseconds = 100, MaxBackoffSeconds = 1, DeniedMaxBackoffSeconds = 2 } });
        }

        _f["ee"].Config = _f["ee"].Config with { Storage = new StorageConfig { Postgres = new PostgresConfig { ConnectionString = database } } };
        await _f.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _f.DisposeAsync();
        }
        finally
        {
            // The server and its tmpfs go even when the gateways' stop failed (the mount would outlive the test run).
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_full_pg_wal_volume_is_answered_with_unavailable_naming_the_store_loses_nothing_acknowledged_and_service_resumes_when_the_server_is_back()
    {
        var ct = TestContext.Current.CancellationToken;
        var ee = _f["ee"].Node!;
        var eeId = _f["ee"].GatewayId;
        var fromFi = _f["fi"].Node!.Runtime.Metrics.Peer(eeId);

        // fi's agent ingests steadily; fi forwards everything to ee, whose store is on the small-WAL server.
        await using var load = IngestLoad.Start(_f, "fi", "p" + Guid.NewGuid().ToString("n")[..8]);
        await load.WaitForBatchesAsync(5);

        // From now on every WAL segment is kept: ee's own agent ingests until the gateway refuses.
        await _server.HoldWalAsync(ct);
        var (acknowledged, refused) = await _f.IngestUntilRefusedAsync("ee", "wal");

        // A backend that meets the full volume while it creates the next WAL segment outside a critical section gets an
        // ERROR 53100 (answered RESOURCE_EXHAUSTED storage-full naming pg_wal); inside one (writing a commit record) it
        // PANICs and the server closes every session (answered UNAVAILABLE store-unavailable). The agent re-sends the
        // refused batch until the server is gone.
        var refusals = new List<RpcException> { Assert.IsType<RpcException>(refused) };
        var batch = acknowledged.Count / 500;
        for (var attempt = 0; refusals[^1].StatusCode != StatusCode.Unavailable && attempt < 200; attempt++)
        {
            try
            {
                acknowledged.UnionWith(await _f.IngestAcceptedAsync("ee", [StorageBatch("wal", batch)]));
                batch++;
            }
            catch (RpcException ex)
            {
                refusals.Add(ex);
            }
        }

        foreach (var r in refusals)
        {
            Assert.True(
                (r.StatusCode == StatusCode.ResourceExhausted && r.Status.Detail.StartsWith(DamagedDatabaseInterceptor.StorageFull + ": the PostgreSQL store postgresql://", StringComparison.Ordinal)
                    && r.Status.Detail.Contains("(pg_wal) is full (SQLSTATE 53100", StringComparison.Ordinal))
                || (r.StatusCode == StatusCode.Unavailable && r.Status.Detail.StartsWith(DamagedDatabaseInterceptor.StoreUnavailable + ": the PostgreSQL store postgresql://", StringComparison.Ordinal)),
                $"{r.StatusCode}: {r.Status.Detail}");
            Assert.Contains("nothing of this request was", r.Status.Detail, StringComparison.Ordinal);
        }

        var refusal = refusals[^1];
        Assert.Equal(StatusCode.Unavailable, refusal.StatusCode);
        Assert.NotEmpty(acknowledged);
        Assert.True(_server.Volume.IsFull(), $"the pg_wal volume really is full ({_server.Volume.UsedBytes()} of {_server.Volume.SizeBytes()} bytes)");
        Assert.Contains("No space left on device", _server.ServerLog(), StringComparison.Ordinal);
        Assert.Contains("PANIC", _server.ServerLog(), StringComparison.Ordinal);

        // PostgreSQL's crash recovery needs WAL space too (its end-of-recovery checkpoint): it fails and the server stops.
        // The gateway keeps running and keeps answering with the clear status, to its agent and to its peer.
        await WaitUntilAsync(async () => !await _server.Cluster.IsRunningAsync(), "the server stopped after its failed recovery", s_recovery);
        Assert.Contains("shutting down due to startup process failure", _server.ServerLog(), StringComparison.Ordinal);
        var again = await Assert.ThrowsAsync<RpcException>(() => _f.IngestAsync("ee", Sighting(Contracts.V1.IndicatorType.Domain, "while-down.example")));
        Assert.Equal(StatusCode.Unavailable, again.StatusCode);
        Assert.StartsWith(DamagedDatabaseInterceptor.StoreUnavailable + ": ", again.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("the connection to the server failed", again.Status.Detail, StringComparison.Ordinal);

        // The peer is told the same (its forwarder retries with the ordinary backoff, not the refusal's long one).
        await WaitUntilAsync(() => Task.FromResult(fromFi.Snapshot().LastError.Contains(DamagedDatabaseInterceptor.StoreUnavailable + ":", StringComparison.Ordinal)),
            "fi's forwarder reports ee's store-unavailable answer", s_recovery);
        Assert.False(Gateway.Outbound.PeerForwarder.IsRefusal(again), "not a refusal of the caller: ordinary backoff");

        // Decisions audited outside a transaction while the server is away are queued, not lost.
        var runtime = ee.Runtime;
        for (var i = 0; i < 5; i++)
        {
            runtime.AuditLater(new AuditEntry { Kind = AuditKinds.Denied, Actor = "spiffe://xx.example/agent/during-outage-" + i, Subject = "tls", Decision = "denied", Reason = "test" });
        }

        // The operator grows the volume and starts the server; the gateway was never restarted.
        await _server.Volume.ResizeAsync(64);
        await _server.Cluster.StartServerAsync();

        await _server.ReleaseWalAsync(ct);

        // The refused batch, re-sent as an agent does (same batch id), is taken once the store answers again.
        HashSet<string>? resent = null;
        await WaitUntilAsync(async () =>
        {
            try
            {
                resent = await _f.IngestAcceptedAsync("ee", [StorageBatch("wal", batch)]);
                return true;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
            {
                return false; // pooled connections of the old server are found broken one by one
            }
        }, "ee takes ingest again", s_recovery);
        var after = await _f.IngestAcceptedAsync("ee", [StorageBatch("after", 0), StorageBatch("after", 1)]);
        var offered = await load.StopAsync();

        Assert.False(ee.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested, "the gateway kept running");

        // Nothing acknowledged lost, nothing stored twice: ee holds its own acknowledged ingest and everything fi's agent
        // was acknowledged, each once; its counter of indicators received from fi moved by exactly that many.
        var ownAtEe = new HashSet<string>(acknowledged, StringComparer.Ordinal);
        ownAtEe.UnionWith(resent!);
        ownAtEe.UnionWith(after);
        await WaitUntilAsync(async () => await _f.CountHeldAsync("ee", offered) == offered.Count, $"ee holds all {offered.Count} indicators fi acknowledged", s_recovery);
        var expectedAtEe = new HashSet<string>(ownAtEe, StringComparer.Ordinal);
        expectedAtEe.UnionWith(offered);
        await _f.AssertHoldsExactlyOnceAsync("ee", expectedAtEe);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"acknowledged at ee before the outage: {acknowledged.Count}; refusals: {string.Join(" | ", refusals.Select(r => $"{r.StatusCode}: {r.Status.Detail}"))}; while down: {again.Status.Detail}; " +
            $"fi's agent acknowledged {offered.Count}, all at ee once; ee's own {ownAtEe.Count} at fi once");
        var counters = Assert.Single(await runtime.Store.ReadPeerCountersAsync(CancellationToken.None), c => c.Peer == _f["fi"].GatewayId);
        Assert.Equal(offered.Count, counters.IndicatorsReceived);

        // ee's dispatcher and forwarder survived: its own ingest reaches fi, exactly once next to fi's own.
        await WaitUntilAsync(async () => await _f.CountHeldAsync("fi", ownAtEe) == ownAtEe.Count, $"fi holds all {ownAtEe.Count} indicators ee acknowledged", s_recovery);
        var expectedAtFi = new HashSet<string>(ownAtEe, StringComparer.Ordinal);
        expectedAtFi.UnionWith(offered);
        await _f.AssertHoldsExactlyOnceAsync("fi", expectedAtFi);

        // The audit writer survived the outage: what was queued is written, and the log is one chain.
        await WaitUntilAsync(() => Task.FromResult(runtime.AuditPending == 0), "the audit entries queued during the outage are written", s_recovery);
        Assert.Equal(0, runtime.AuditDropped);
        var audit = await _f.AuditAsync("ee");
        Assert.Equal(5, audit.Count(e => e.Actor.StartsWith("spiffe://xx.example/agent/during-outage-", StringComparison.Ordinal)));
        var verified = await runtime.Store.Audit.VerifyAsync(null, CancellationToken.None);
        Assert.True(verified.Ok, verified.Problem);
    }
}
