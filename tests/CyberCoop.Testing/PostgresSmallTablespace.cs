using Npgsql;

namespace CyberCoop.Testing;

/// <summary>
/// A PostgreSQL database whose tables live on a small file system that really fills up: a tmpfs of a given size
/// mounted on a temp folder, made a tablespace of the test server and the database's <c>default_tablespace</c>, so the
/// gateway's tables and indexes (created by its migrations) are written there while the catalogs and the WAL stay in
/// the server's data directory. PostgreSQL then meets ENOSPC when it extends a table file and reports SQLSTATE 53100
/// (disk_full) for that statement, as on a full disk. <see cref="SmallTmpfs.ResizeAsync"/> on <see cref="Volume"/> gives space back without a restart.
/// Needs root (mounting a tmpfs) and a test server on this machine (the tablespace folder must be the server's).
/// </summary>
internal sealed class PostgresSmallTablespace : IAsyncDisposable
{
    private readonly string _server;
    private readonly SmallTmpfs _mount;
    private readonly string _tablespace;
    private readonly string _database;

    private PostgresSmallTablespace(string server, SmallTmpfs mount, string tablespace, string database, string connectionString)
    {
        _server = server;
        _mount = mount;
        _tablespace = tablespace;
        _database = database;
        ConnectionString = connectionString;
    }

    /// <summary>Connection string of the database whose new tables go to the small tablespace.</summary>
    public string ConnectionString { get; }

    /// <summary>Mounts a tmpfs of <paramref name="megabytes"/> MB, makes it a tablespace and creates a database using it.</summary>
    public static async Task<PostgresSmallTablespace> CreateAsync(int megabytes, CancellationToken ct)
    {
        var server = await PostgresTestServer.ServerAsync().ConfigureAwait(false);
        string dataDirectory;
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync(ct).ConfigureAwait(false);
            await using var command = new NpgsqlCommand("SHOW data_directory", connection);
            dataDirectory = (string)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }

        if (!Directory.Exists(dataDirectory))
        {
            throw new InvalidOperationException(
                $"the test PostgreSQL server's data directory {dataDirectory} is not on this machine: a tablespace on a small local file system cannot be given to it ({PostgresTestServer.Variable} must name a local server)");
        }

        // The tablespace folder belongs to the server's user (the owner of its data directory).
        var mount = await SmallTmpfs.MountAsync("pg-full", megabytes, ownerLike: dataDirectory).ConfigureAwait(false);
        var suffix = Guid.NewGuid().ToString("N")[..12];
        var tablespace = "ts_" + suffix;
        var database = "full_" + suffix;
        await PostgresTestServer.ExecuteAsync(server, $"CREATE TABLESPACE {tablespace} LOCATION '{mount.Path}'", ct).ConfigureAwait(false);
        await PostgresTestServer.ExecuteAsync(server, $"CREATE DATABASE {database}", ct).ConfigureAwait(false);
        await PostgresTestServer.ExecuteAsync(server, $"ALTER DATABASE {database} SET default_tablespace = {tablespace}", ct).ConfigureAwait(false);
        return new PostgresSmallTablespace(server, mount, tablespace, database,
            new NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString);
    }

    /// <summary>The small file system holding the tablespace (to show it really filled, and to give space back).</summary>
    public SmallTmpfs Volume => _mount;

    public async ValueTask DisposeAsync()
    {
        try
        {
            NpgsqlConnection.ClearAllPools();
            await PostgresTestServer.ExecuteAsync(_server, $"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", CancellationToken.None).ConfigureAwait(false);
            await PostgresTestServer.ExecuteAsync(_server, $"DROP TABLESPACE IF EXISTS {_tablespace}", CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            await _mount.DisposeAsync().ConfigureAwait(false);
        }
    }
}
