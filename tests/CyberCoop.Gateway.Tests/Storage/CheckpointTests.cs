using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using static CyberCoop.Gateway.Tests.Storage.StoreFixtures;

namespace CyberCoop.Gateway.Tests.Storage;

/// <summary>
/// Checkpoints off the writer's path (<see cref="StoreOptions.CheckpointPages"/>): the WAL stays bounded under
/// sustained writes, and a crash at any point keeps every committed write.
/// </summary>
public sealed class CheckpointTests : IDisposable
{
    private const int CheckpointPages = 64;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _dir = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Fact]
    public async Task The_wal_stays_bounded_under_sustained_writes()
    {
        var path = _dir.File("bounded.db");
        await using var store = await GatewayStore.OpenAsync(path, new FakeTimeProvider(Now), new StoreOptions { CheckpointPages = CheckpointPages }, Ct);
        var db = Database(store);
        long largestWal = 0;

        for (var batch = 0; batch < 60; batch++)
        {
            await store.CommitIngestAsync("agent", Id((byte)batch), Items(batch * 200, 200), Ct).WaitAsync(Timeout, Ct);
            largestWal = Math.Max(largestWal, new FileInfo(path + "-wal").Length);
        }

        Assert.True(db.CheckpointsCompleted >= 3, $"background checkpoints ran ({db.CheckpointsCompleted}; {db.WalPagesWritten} WAL pages written)");
        Assert.Equal(0, db.CheckpointFailures);
        Assert.True(db.WalPagesWritten > 10 * CheckpointPages, "the writes were far more than one checkpoint's worth");
        // Without restarts the WAL would hold every page written; with them it stays near the journal size limit
        // (twice the checkpoint size) plus the commits that ran while a checkpoint did.
        Assert.True(largestWal < db.WalPagesWritten * 4120 / 3, $"WAL grew to {largestWal:N0} bytes for {db.WalPagesWritten:N0} pages written");
        Assert.Equal(12_000L, await store.CountIndicatorsAsync(Ct));
    }

    [Fact]
    public async Task A_crash_after_background_checkpoints_keeps_every_committed_write()
    {
        var path = _dir.File("crash.db");
        var crashed = _dir.File("crashed.db");
        await using (var store = await GatewayStore.OpenAsync(path, new FakeTimeProvider(Now), new StoreOptions { CheckpointPages = CheckpointPages }, Ct))
        {
            var db = Database(store);
            for (var batch = 0; batch < 30; batch++)
            {
                await store.CommitIngestAsync("agent", Id((byte)batch), Items(batch * 200, 200), Ct).WaitAsync(Timeout, Ct);
            }

            Assert.True(db.CheckpointsCompleted >= 1, "a background checkpoint ran before the crash");

            // The crash: hold the writer (so no commit is half written), copy the files as they are on disk, and open
            // the copy as the next process would (no shared-memory index: it is rebuilt from the WAL).
            using var gate = new ManualResetEventSlim();
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var hold = db.WriteAsync((_, _) =>
            {
                started.TrySetResult();
                return gate.Wait(Timeout) ? 0 : throw new TimeoutException("the test never released the writer");
            }, Ct);
            await started.Task.WaitAsync(Timeout, Ct);
            await WaitForIdleCheckpointerAsync(db);
            File.Copy(path, crashed);
            File.Copy(path + "-wal", crashed + "-wal");
            gate.Set();
            await hold.WaitAsync(Timeout, Ct);
        }

        await using var reopened = await GatewayStore.OpenAsync(crashed, new FakeTimeProvider(Now), Ct);
        Assert.Equal(6_000L, await reopened.CountIndicatorsAsync(Ct));
        var resent = await reopened.CommitIngestAsync("agent", Id(29), Items(29 * 200, 200), Ct);
        Assert.True(resent.Duplicate, "the last committed batch is known after the crash");
        Assert.NotNull(await reopened.GetIndicatorAsync(Items(5_999, 1)[0].Indicator!.Id, Ct));
    }

    [Fact]
    public async Task Closing_truncates_the_wal()
    {
        var path = _dir.File("close.db");
        await using (var store = await GatewayStore.OpenAsync(path, new FakeTimeProvider(Now), new StoreOptions { CheckpointPages = CheckpointPages }, Ct))
        {
            for (var batch = 0; batch < 10; batch++)
            {
                await store.CommitIngestAsync("agent", Id((byte)batch), Items(batch * 200, 200), Ct);
            }
        }

        Assert.True(!File.Exists(path + "-wal") || new FileInfo(path + "-wal").Length == 0);
        await using var reopened = await GatewayStore.OpenAsync(path, new FakeTimeProvider(Now), Ct);
        Assert.Equal(2_000L, await reopened.CountIndicatorsAsync(Ct));
    }

    [Fact]
    public void A_checkpoint_size_that_is_not_positive_is_refused()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => SqliteDatabase.Open(_dir.File("bad.db"), new StoreOptions { CheckpointPages = 0 }));

        Assert.Contains("CheckpointPages", error.Message, StringComparison.Ordinal);
    }

    private static List<ValidationOutcome> Items(int first, int count) =>
        [.. Enumerable.Range(first, count).Select(i => ValidationOutcome.Valid(Ipv4(i)))];

    private static SqliteDatabase Database(GatewayStore store) => store.Database!;

    private static async Task WaitForIdleCheckpointerAsync(SqliteDatabase db)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (db.CheckpointRunning && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10, Ct);
        }
    }
}
