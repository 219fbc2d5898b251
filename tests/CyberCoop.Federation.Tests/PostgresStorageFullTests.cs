using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Testing;
using Grpc.Core;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// A gateway on PostgreSQL whose tables sit on a file system that really fills up (a small tmpfs made the database's
/// tablespace, see <see cref="PostgresSmallTablespace"/>): PostgreSQL fails the write with SQLSTATE 53100 disk_full, and
/// the gateway refuses ingest with RESOURCE_EXHAUSTED "storage-full" naming PostgreSQL and the cause, loses nothing it
/// acknowledged, keeps serving reads, and takes ingest again as soon as the file system has room (no restart).
/// </summary>
public sealed class PostgresStorageFullTests : IAsyncLifetime
{
    private const int SmallMegabytes = 4;

    private TestFederation _f = null!;
    private PostgresSmallTablespace _tablespace = null!;

    public async ValueTask InitializeAsync()
    {
        _tablespace = await PostgresSmallTablespace.CreateAsync(SmallMegabytes, TestContext.Current.CancellationToken);
        _f = TestFederation.Create("ee", "fi");
        _f.PeerBoth("ee", "fi");
        _f["ee"].Config = _f["ee"].Config with { Storage = new StorageConfig { Postgres = new PostgresConfig { ConnectionString = _tablespace.ConnectionString } } };
        _f.WriteConfigs();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _f.DisposeAsync();
        }
        finally
        {
            // The tmpfs goes even when the gateway's stop failed (the mount would outlive the test run).
            await _tablespace.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_full_postgresql_tablespace_refuses_ingest_with_resource_exhausted_naming_the_cause_and_resumes_when_space_returns()
    {
        await _f.StartAsync("ee");

        var (acknowledged, refused) = await _f.IngestUntilRefusedAsync("ee", "full");

        var refusal = Assert.IsType<RpcException>(refused);
        Assert.Equal(StatusCode.ResourceExhausted, refusal.StatusCode);
        Assert.StartsWith(DamagedDatabaseInterceptor.StorageFull + ": the PostgreSQL store postgresql://", refusal.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("disk or tablespace holding its data is full", refusal.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("SQLSTATE 53100", refusal.Status.Detail, StringComparison.Ordinal);
        Assert.NotEmpty(acknowledged);
        Assert.True(_tablespace.Volume.IsFull(), "the tablespace's file system really is full");

        // Still serving: reads work and every acknowledged indicator is there.
        var store = _f["ee"].Node!.Runtime.Store;
        foreach (var id in acknowledged)
        {
            Assert.NotNull(await store.GetIndicatorAsync(id, CancellationToken.None));
        }

        // Space returns while the server and the gateway run: ingest is taken again, nothing restarted.
        await _tablespace.Volume.ResizeAsync(64);
        var (more, none) = await _f.IngestUntilRefusedAsync("ee", "after", maxBatches: 3);
        Assert.Null(none);
        Assert.Equal(3 * 500, more.Count);
        Assert.Equal(acknowledged.Count + more.Count, await store.CountIndicatorsAsync(CancellationToken.None));
    }
}
