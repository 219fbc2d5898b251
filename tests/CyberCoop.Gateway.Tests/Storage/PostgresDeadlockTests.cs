using System.Data.Common;
using CyberCoop.Gateway.Storage;
using CyberCoop.Testing;
using Npgsql;

namespace CyberCoop.Gateway.Tests.Storage;

/// <summary>
/// A write of the PostgreSQL store's group commit that the server picks as a deadlock victim fails alone: it is rolled
/// back to its savepoint and the other writes of its group commit. Npgsql calls a deadlock "transient", and the writer
/// took it for a lost connection, failing every write of the group and reconnecting (under load, a deadlock between a
/// lease renewal and an acknowledged envelope's delete failed ingest batches that had nothing to do with it).
/// </summary>
public sealed class PostgresDeadlockTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_write_chosen_as_a_deadlock_victim_fails_alone_and_the_rest_of_its_group_commits()
    {
        var database = await PostgresTestServer.CreateDatabaseAsync(Ct);
        await PostgresTestServer.ExecuteAsync(database, "CREATE TABLE t (k int PRIMARY KEY, v int NOT NULL); INSERT INTO t VALUES (1, 0), (2, 0)", Ct);
        await using var db = await PostgresDatabase.OpenAsync(database, new PostgresStoreOptions(), Ct);
        await using var other = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database) { Pooling = false }.ConnectionString);
        await other.OpenAsync(Ct);
        await using var otherTransaction = await other.BeginTransactionAsync(Ct);
        // The other session looks for deadlocks only after a minute, so the writer's own check (after the server's
        // deadlock_timeout, 1 s) always finds the cycle first and the writer is the victim. Without it, a loaded machine
        // that ran the writer's backend late could let the other session's check run first and choose itself.
        await ExecuteAsync(other, otherTransaction, "SET LOCAL deadlock_timeout = '60s'");
        await ExecuteAsync(other, otherTransaction, "UPDATE t SET v = 20 WHERE k = 2");

        // Hold the writer in a first group so that the next two writes are queued together and form one group.
        using var gate = new ManualResetEventSlim();
        var held = db.WriteAsync((_, _) => gate.Wait(TimeSpan.FromSeconds(30)), Ct);
        var innocent = db.WriteAsync((c, t) => Execute(c, t, "INSERT INTO t VALUES (3, 3)"), Ct);
        var victim = db.WriteAsync(
            (c, t) =>
            {
                Execute(c, t, "UPDATE t SET v = 1 WHERE k = 1");
                return Execute(c, t, "UPDATE t SET v = 1 WHERE k = 2"); // waits for the other transaction
            },
            Ct);
        gate.Set();

        // Once the writer waits for row 2, the other transaction asks for row 1: a deadlock. Only the writer's check
        // (after deadlock_timeout, 1 s) runs in time, so it finds the cycle and it is the victim.
        await WaitForLockWaitAsync(database);
        var otherUpdate = ExecuteAsync(other, otherTransaction, "UPDATE t SET v = 10 WHERE k = 1");

        var error = await Assert.ThrowsAsync<PostgresException>(() => victim);
        Assert.Equal("40P01", error.SqlState);
        Assert.Equal(1, await innocent);
        Assert.True(await held);
        await otherUpdate;
        await otherTransaction.CommitAsync(Ct);

        // The writer's connection is still in use (no reconnect needed) and the next write commits.
        Assert.Equal(1, await db.WriteAsync((c, t) => Execute(c, t, "INSERT INTO t VALUES (4, 4)"), Ct));
        await using var check = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database) { Pooling = false }.ConnectionString);
        await check.OpenAsync(Ct);
        await using var read = new NpgsqlCommand("SELECT string_agg(k || '=' || v, ',' ORDER BY k) FROM t", check);
        Assert.Equal("1=10,2=20,3=3,4=4", await read.ExecuteScalarAsync(Ct));
    }

    private static int Execute(DbConnection connection, DbTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(Ct);
    }

    /// <summary>Waits until a session of the database waits for a lock (the writer, for row 2).</summary>
    private static async Task WaitForLockWaitAsync(string database)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", connection);
        for (var i = 0; i < 300; i++)
        {
            if ((long)(await command.ExecuteScalarAsync(Ct))! > 0)
            {
                return;
            }

            await Task.Delay(50, Ct);
        }

        Assert.Fail("the writer never waited for the row lock");
    }
}
