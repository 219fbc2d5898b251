using System.Globalization;
using Npgsql;

namespace CyberCoop.Testing;

/// <summary>
/// A PostgreSQL database whose tables live on a small file system that really fills up: a tmpfs of a given size
/// mounted on a temp folder, made a tablespace of the test server and the database's <c>default_tablespace</c>, so the
/// gateway's tables and indexes (created by its migrations) are written there while the catalogs and the WAL stay in
/// the server's data directory. PostgreSQL then meets ENOSPC when it extends a table file and reports SQLSTATE 53100
/// (disk_full) for that statement, as on a full disk. <see cref="ResizeAsync"/> gives space back without a restart.
/// Needs root (mounting a tmpfs) and a test server on this machine (the tablespace folder must be the server's).
/// </summary>
internal sealed class PostgresSmallTablespace : IAsyncDisposable
{
    private readonly string _server;
    private readonly string _mount;
    private readonly string _tablespace;
    private readonly string _database;

    private PostgresSmallTablespace(string server, string mount, string tablespace, string database, string connectionString)
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
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            throw new InvalidOperationException(
                "this test fills a real file system: it mounts a small tmpfs for a PostgreSQL tablespace, which needs root on Linux (CAP_SYS_ADMIN); .ci/run runs as root");
        }

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

        var suffix = Guid.NewGuid().ToString("N")[..12];
        var mount = Path.Combine(Path.GetTempPath(), "cybercoop-pg-full-" + suffix);
        Directory.CreateDirectory(mount);
        await PostgresCluster.RunAsync("mount", ["-t", "tmpfs", "-o", Size(megabytes), "tmpfs", mount]).ConfigureAwait(false);
        // The tablespace folder belongs to the server's user (the owner of its data directory).
        await PostgresCluster.RunAsync("chown", ["--reference=" + dataDirectory, mount]).ConfigureAwait(false);
        var tablespace = "ts_" + suffix;
        var database = "full_" + suffix;
        await ExecuteAsync(server, $"CREATE TABLESPACE {tablespace} LOCATION '{mount}'", ct).ConfigureAwait(false);
        await ExecuteAsync(server, $"CREATE DATABASE {database}", ct).ConfigureAwait(false);
        await ExecuteAsync(server, $"ALTER DATABASE {database} SET default_tablespace = {tablespace}", ct).ConfigureAwait(false);
        return new PostgresSmallTablespace(server, mount, tablespace, database,
            new NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString);
    }

    /// <summary>Bytes of the tablespace's file system in use (df), to show it really filled.</summary>
    public long UsedBytes()
    {
        var info = new DriveInfo(_mount);
        return info.TotalSize - info.AvailableFreeSpace;
    }

    /// <summary>Bytes the tablespace's file system holds in all.</summary>
    public long SizeBytes() => new DriveInfo(_mount).TotalSize;

    /// <summary>Grows (or shrinks) the file system in place: the space comes back while the server runs.</summary>
    public Task ResizeAsync(int megabytes) => PostgresCluster.RunAsync("mount", ["-o", "remount," + Size(megabytes), _mount]);

    public async ValueTask DisposeAsync()
    {
        try
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(_server, $"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", CancellationToken.None).ConfigureAwait(false);
            await ExecuteAsync(_server, $"DROP TABLESPACE IF EXISTS {_tablespace}", CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            await PostgresCluster.RunAsync("umount", ["-l", _mount]).ConfigureAwait(false);
            Directory.Delete(_mount);
        }
    }

    private static string Size(int megabytes) => string.Create(CultureInfo.InvariantCulture, $"size={megabytes}m");

    private static async Task ExecuteAsync(string connectionString, string sql, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
