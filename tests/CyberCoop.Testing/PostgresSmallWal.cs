namespace CyberCoop.Testing;

/// <summary>
/// A throwaway PostgreSQL cluster of its own whose WAL directory (pg_wal) is on a small tmpfs (<c>initdb --waldir</c>),
/// with 1 MB WAL segments and small min/max_wal_size so that ordinary traffic keeps few segments. <see cref="HoldWalAsync"/>
/// creates a physical replication slot that reserves WAL at once and is never consumed — the way an abandoned replica's
/// slot (or a failing archive_command) makes pg_wal grow in production — so the next writes fill the volume with WAL:
/// PostgreSQL cannot create the next segment, PANICs, terminates every session and its crash recovery fails for want of
/// space, so the server stops. <see cref="Volume"/> is then grown in place and <see cref="PostgresCluster.StartServerAsync"/>
/// brings the server back. Needs root (mounting a tmpfs); it never uses the shared test server (CYBERCOOP_TEST_POSTGRES),
/// whose WAL lives wherever its data directory is.
/// </summary>
internal sealed class PostgresSmallWal : IAsyncDisposable
{
    private const string Slot = "cybercoop_test_hold";

    private PostgresSmallWal(SmallTmpfs volume, PostgresCluster cluster)
    {
        Volume = volume;
        Cluster = cluster;
    }

    /// <summary>The file system holding pg_wal.</summary>
    public SmallTmpfs Volume { get; }

    /// <summary>The cluster (its log shows the PANIC).</summary>
    public PostgresCluster Cluster { get; }

    /// <summary>Mounts a tmpfs of <paramref name="megabytes"/> MB and starts a cluster whose pg_wal is on it.</summary>
    public static async Task<PostgresSmallWal> StartAsync(int megabytes, IEnumerable<string>? settings = null)
    {
        var volume = await SmallTmpfs.MountAsync("pg-wal", megabytes).ConfigureAwait(false);
        try
        {
            await PostgresCluster.RunAsync("chown", ["postgres", volume.Path]).ConfigureAwait(false);
            var cluster = await PostgresCluster.StartAsync(
                Path.Combine(Path.GetTempPath(), "cybercoop-pg-wal-cluster-" + Guid.NewGuid().ToString("N")[..8]),
                durable: false,
                settings: ["min_wal_size=2MB", "max_wal_size=4MB", .. settings ?? []],
                initdbArgs: ["--waldir=" + Path.Combine(volume.Path, "pg_wal"), "--wal-segsize=1"]).ConfigureAwait(false);
            return new PostgresSmallWal(volume, cluster);
        }
        catch
        {
            await volume.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Creates a database of the cluster and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name, CancellationToken ct)
    {
        await PostgresTestServer.ExecuteAsync(Cluster.ConnectionString, $"CREATE DATABASE {name}", ct).ConfigureAwait(false);
        return new Npgsql.NpgsqlConnectionStringBuilder(Cluster.ConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>From now on no WAL is recycled or removed: a replication slot reserves it and nothing consumes it.</summary>
    public Task HoldWalAsync(CancellationToken ct) =>
        PostgresTestServer.ExecuteAsync(Cluster.ConnectionString, $"SELECT pg_create_physical_replication_slot('{Slot}', true)", ct);

    /// <summary>Drops the slot, so the next checkpoint may recycle the WAL it held.</summary>
    public Task ReleaseWalAsync(CancellationToken ct) =>
        PostgresTestServer.ExecuteAsync(Cluster.ConnectionString, $"SELECT pg_drop_replication_slot('{Slot}')", ct);

    /// <summary>The server's log so far.</summary>
    public string ServerLog()
    {
        using var stream = new FileStream(Cluster.LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync().ConfigureAwait(false);
        await Volume.DisposeAsync().ConfigureAwait(false);
    }
}
