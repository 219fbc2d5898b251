using Npgsql;

namespace CyberCoop.Testing;

/// <summary>
/// The real PostgreSQL server the PostgreSQL store tests run against: the one named by <c>CYBERCOOP_TEST_POSTGRES</c>
/// (a connection string with rights to create databases; <c>.ci/run</c> starts a throwaway cluster and sets it), else a
/// throwaway cluster of its own (initdb into a temp folder, pg_ctl on a free local port, stopped when the test process
/// exits). Fails, never skips, when neither is possible: the message says what to install.
/// </summary>
internal static class PostgresTestServer
{
    /// <summary>Name of the environment variable with the server's connection string.</summary>
    public const string Variable = "CYBERCOOP_TEST_POSTGRES";

    private static readonly Lazy<Task<string>> s_server = new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Connection string of the server itself (a superuser on its <c>postgres</c> database), started on first use.</summary>
    public static Task<string> ServerAsync() => s_server.Value;

    /// <summary>Creates a new, empty database for one test and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync(CancellationToken ct)
    {
        var server = await s_server.Value.ConfigureAwait(false);
        var name = "t_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync(ct).ConfigureAwait(false);
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        return new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    /// <summary>Runs one statement on its own connection (no pooling: the connection is gone when this returns).</summary>
    public static async Task ExecuteAsync(string connectionString, string sql, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(ct).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static async Task<string> StartAsync()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } given)
        {
            return given;
        }

        if (PostgresCluster.FindBin() is null)
        {
            throw new InvalidOperationException(
                $"PostgreSQL tests need a server: set {Variable} to a connection string, or install PostgreSQL (apt-get install postgresql) so initdb and pg_ctl are found");
        }

        var cluster = await PostgresCluster.StartAsync(
            Path.Combine(Path.GetTempPath(), "cybercoop-pg-" + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N")[..6]), durable: false).ConfigureAwait(false);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.Stop();
        return cluster.ConnectionString;
    }
}
