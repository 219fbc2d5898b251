using CyberCoop.Gateway.Storage;
using CyberCoop.Testing;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace CyberCoop.Gateway.Tests.Storage;

/// <summary>
/// The PostgreSQL schema (<see cref="PostgresSchema"/>) holds the same tables and columns as SQLite's
/// (<see cref="SchemaMigrations"/>): a SQLite migration without its PostgreSQL twin fails here, not in production.
/// </summary>
public sealed class StoreSchemaTests : IDisposable
{
    /// <summary>PostgreSQL-only: the outbox claims that let several gateway processes share one database, and the migration record.</summary>
    private static readonly string[] PostgresOnly = ["outbox.claimed_by", "outbox.lease_until", "schema_version.version"];

    /// <summary>PostgreSQL-only index: SQLite's version 1 had it too and lost it when a later migration rebuilt the table.</summary>
    private static readonly string[] PostgresOnlyIndexes = ["ix_indicators_updated_at"];

    private readonly TempDirectory _dir = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Postgres_schema_has_every_table_and_column_of_the_sqlite_schema()
    {
        var sqlite = await SqliteColumnsAsync();
        var postgres = await PostgresColumnsAsync();

        Assert.Equal(sqlite.Order(StringComparer.Ordinal), postgres.Except(PostgresOnly).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Postgres_schema_has_every_index_of_the_sqlite_schema()
    {
        var sqlite = await SqliteIndexesAsync();
        var postgres = (await PostgresIndexesAsync()).Except(PostgresOnlyIndexes).ToList();

        Assert.Contains("ix_audit_kind_seq", sqlite);
        Assert.DoesNotContain("ix_indicators_value", sqlite); // left out on purpose: see SchemaMigrations version 12
        Assert.True(sqlite.Order(StringComparer.Ordinal).SequenceEqual(postgres.Order(StringComparer.Ordinal)),
            $"SQLite: {string.Join(", ", sqlite.Order(StringComparer.Ordinal))}; PostgreSQL: {string.Join(", ", postgres.Order(StringComparer.Ordinal))}");
    }

    [Fact]
    public async Task Console_audit_search_walks_an_index_not_the_whole_log_on_sqlite()
    {
        var path = _dir.File("plan.db");
        await (await GatewayStore.OpenAsync(path, TimeProvider.System, Ct)).DisposeAsync();
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        await connection.OpenAsync(Ct);

        var audit = await PlanAsync(connection, "SELECT seq FROM audit WHERE kind = 'admin' AND seq < 5 ORDER BY seq DESC LIMIT 51");

        Assert.Contains("ix_audit_kind_seq", audit, StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_processes_opening_a_new_postgres_database_at_once_migrate_it_once()
    {
        var database = await PostgresTestServer.CreateDatabaseAsync(Ct);

        var stores = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => GatewayStore.OpenPostgresAsync(database, TimeProvider.System, new PostgresStoreOptions(), Ct)));

        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(Ct);
        Assert.Equal(PostgresSchema.LatestVersion, await PostgresSchema.ReadVersionAsync(connection, Ct));
        await using var rows = new NpgsqlCommand("SELECT COUNT(*) FROM schema_version", connection);
        Assert.Equal(1L, await rows.ExecuteScalarAsync(Ct));
        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_postgres_database_of_a_newer_build_is_refused_untouched()
    {
        var database = await PostgresTestServer.CreateDatabaseAsync(Ct);
        await (await GatewayStore.OpenPostgresAsync(database, TimeProvider.System, new PostgresStoreOptions(), Ct)).DisposeAsync();
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync(Ct);
            await using var newer = new NpgsqlCommand($"UPDATE schema_version SET version = {PostgresSchema.LatestVersion + 1}", connection);
            await newer.ExecuteNonQueryAsync(Ct);
        }

        var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => GatewayStore.OpenPostgresAsync(database, TimeProvider.System, new PostgresStoreOptions(), Ct));

        Assert.Contains($"schema version {PostgresSchema.LatestVersion + 1} is newer than this build supports", error.Message, StringComparison.Ordinal);
    }

    private Task<List<string>> SqliteColumnsAsync() => SqliteNamesAsync(
        "SELECT m.name || '.' || c.name FROM sqlite_master m JOIN pragma_table_info(m.name) c WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'");

    private Task<List<string>> SqliteIndexesAsync() =>
        SqliteNamesAsync("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'");

    private static Task<List<string>> PostgresColumnsAsync() =>
        PostgresNamesAsync("SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'public'");

    /// <summary>Indexes created by name (not those PostgreSQL makes for primary keys and unique constraints).</summary>
    private static Task<List<string>> PostgresIndexesAsync() => PostgresNamesAsync(
        "SELECT i.indexname FROM pg_indexes i WHERE i.schemaname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)");

    private static async Task<string> PlanAsync(SqliteConnection connection, string sql) =>
        string.Join("; ", await ReadStringsAsync(connection, "EXPLAIN QUERY PLAN " + sql, column: 3));

    /// <summary>The first column of <paramref name="sql"/> over a new store's SQLite schema.</summary>
    private async Task<List<string>> SqliteNamesAsync(string sql)
    {
        var path = _dir.File(Guid.NewGuid().ToString("N") + ".db");
        await (await GatewayStore.OpenAsync(path, TimeProvider.System, Ct)).DisposeAsync();
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        await connection.OpenAsync(Ct);
        return await ReadStringsAsync(connection, sql, column: 0);
    }

    /// <summary>The first column of <paramref name="sql"/> over a new store's PostgreSQL schema.</summary>
    private static async Task<List<string>> PostgresNamesAsync(string sql)
    {
        var database = await PostgresTestServer.CreateDatabaseAsync(Ct);
        await (await GatewayStore.OpenPostgresAsync(database, TimeProvider.System, new PostgresStoreOptions(), Ct)).DisposeAsync();
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(Ct);
        return await ReadStringsAsync(connection, sql, column: 0);
    }

    private static async Task<List<string>> ReadStringsAsync(System.Data.Common.DbConnection connection, string sql, int column)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var values = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(Ct);
        while (await reader.ReadAsync(Ct))
        {
            values.Add(reader.GetString(column));
        }

        return values;
    }
}
