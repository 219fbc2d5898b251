using CyberCoop.Gateway.Storage;
using Microsoft.Data.Sqlite;

namespace CyberCoop.Gateway.Tests.Storage;

/// <summary>
/// The writer's group commit (<see cref="SqliteDatabase.WriteAsync{T}"/>): writes queued while a transaction commits
/// share the next one; each still succeeds or fails on its own, and completes only after its commit.
/// </summary>
public sealed class GroupCommitTests : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _dir = new();
    private readonly SqliteDatabase _db;
    private readonly ManualResetEventSlim _gate = new();

    public GroupCommitTests()
    {
        _db = SqliteDatabase.Open(_dir.File("group.db"), new StoreOptions());
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask DisposeAsync()
    {
        _gate.Set();
        await _db.DisposeAsync();
        _gate.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task Writes_queued_while_a_commit_runs_share_the_next_transaction()
    {
        await CreateTableAsync();
        var (blocker, started) = BlockWriter();
        await started.WaitAsync(Timeout, Ct);
        var groupsBefore = _db.GroupsCommitted;

        var queued = Enumerable.Range(1, 5).Select(i => InsertAsync(i)).ToList();
        Assert.All(queued, t => Assert.False(t.IsCompleted)); // nothing is answered before its commit
        _gate.Set();
        await blocker.WaitAsync(Timeout, Ct);
        await Task.WhenAll(queued).WaitAsync(Timeout, Ct);

        Assert.Equal(groupsBefore + 2, _db.GroupsCommitted); // the blocker's transaction, then one for all five
        Assert.Equal([1L, 2L, 3L, 4L, 5L], await ReadRowsAsync());
    }

    [Fact]
    public async Task A_failing_write_is_rolled_back_alone_and_the_rest_of_its_group_commits()
    {
        await CreateTableAsync();
        var (blocker, started) = BlockWriter();
        await started.WaitAsync(Timeout, Ct);

        var first = InsertAsync(1);
        var failing = _db.WriteAsync<int>((connection, transaction) =>
        {
            Insert(connection, transaction, 2);
            throw new InvalidOperationException("this write is broken");
        }, Ct);
        var third = InsertAsync(3);
        _gate.Set();
        await blocker.WaitAsync(Timeout, Ct);

        await first.WaitAsync(Timeout, Ct);
        await third.WaitAsync(Timeout, Ct);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => failing.WaitAsync(Timeout, Ct));
        Assert.Equal("this write is broken", error.Message);
        Assert.Equal([1L, 3L], await ReadRowsAsync());
    }

    [Fact]
    public async Task A_write_cancelled_before_the_writer_starts_it_writes_nothing()
    {
        await CreateTableAsync();
        var (blocker, started) = BlockWriter();
        await started.WaitAsync(Timeout, Ct);
        using var cts = new CancellationTokenSource();

        var cancelled = _db.WriteAsync((connection, transaction) => Insert(connection, transaction, 7), cts.Token);
        var kept = InsertAsync(8);
        await cts.CancelAsync();
        _gate.Set();
        await blocker.WaitAsync(Timeout, Ct);
        await kept.WaitAsync(Timeout, Ct);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal([8L], await ReadRowsAsync());
    }

    [Fact]
    public async Task Closing_commits_what_was_queued_and_refuses_later_writes()
    {
        await CreateTableAsync();
        var (blocker, started) = BlockWriter();
        await started.WaitAsync(Timeout, Ct);
        var queued = InsertAsync(1);

        var closing = _db.DisposeAsync().AsTask();
        _gate.Set();
        await closing.WaitAsync(Timeout, Ct);

        await queued.WaitAsync(Timeout, Ct);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => _db.WriteAsync((_, _) => 0, Ct));
        await using var reopened = SqliteDatabase.Open(_dir.File("group.db"), new StoreOptions());
        await using var connection = reopened.OpenReader();
        await using var count = connection.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM t";
        Assert.Equal(1L, (long)(await count.ExecuteScalarAsync(Ct))!);
    }

    private Task<int> CreateTableAsync() =>
        _db.WriteAsync((connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "CREATE TABLE t (v INTEGER NOT NULL)";
            return command.ExecuteNonQuery();
        }, Ct);

    /// <summary>A write that holds the writer until <see cref="_gate"/> is set; <c>started</c> completes once it runs.</summary>
    private (Task<int> Write, Task Started) BlockWriter()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var write = _db.WriteAsync((_, _) =>
        {
            started.TrySetResult();
            return _gate.Wait(Timeout) ? 0 : throw new TimeoutException("the test never released the writer");
        }, Ct);
        return (write, started.Task);
    }

    private Task<int> InsertAsync(int value) => _db.WriteAsync((connection, transaction) => Insert(connection, transaction, value), Ct);

    private static int Insert(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, int value)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO t (v) VALUES ($v)";
        command.Parameters.AddWithValue("$v", value);
        command.ExecuteNonQuery();
        return value;
    }

    private async Task<List<long>> ReadRowsAsync()
    {
        await using var connection = _db.OpenReader();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT v FROM t ORDER BY v";
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var rows = new List<long>();
        while (await reader.ReadAsync(Ct))
        {
            rows.Add(reader.GetInt64(0));
        }

        return rows;
    }
}
