using System.Net;
using System.Net.Sockets;
using CyberCoop.Gateway.Storage;
using CyberCoop.Testing;
using Npgsql;

namespace CyberCoop.Gateway.Tests.Storage;

/// <summary>
/// Which failures of a real PostgreSQL server the gateway answers with UNAVAILABLE store-unavailable
/// (<see cref="PostgresOutage"/>): a server that is not there, a session the server ended; not a statement error and not
/// a resource error (those keep their own answers). A full pg_wal volume is shown end to end by PostgresWalFullTests.
/// </summary>
public sealed class PostgresOutageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_server_that_is_not_listening_is_an_outage_naming_the_failed_connection()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        await using var connection = new NpgsqlConnection($"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Pooling=false");
        var refused = await Assert.ThrowsAnyAsync<NpgsqlException>(() => connection.OpenAsync(Ct));

        Assert.Contains("the connection to the server failed or was lost", PostgresOutage.Of(refused), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_session_the_server_terminated_is_an_outage()
    {
        var database = await PostgresTestServer.CreateDatabaseAsync(Ct);
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(Ct);
        await using (var pid = new NpgsqlCommand("SELECT pg_backend_pid()", connection))
        {
            var backend = (int)(await pid.ExecuteScalarAsync(Ct))!;
            await PostgresTestServer.ExecuteAsync(database, $"SELECT pg_terminate_backend({backend}, 10000)", Ct);
        }

        await using var next = new NpgsqlCommand("SELECT 1", connection);
        var lost = await Assert.ThrowsAnyAsync<NpgsqlException>(() => next.ExecuteScalarAsync(Ct));

        Assert.NotNull(PostgresOutage.Of(lost));
    }

    [Fact]
    public async Task A_statement_error_or_a_resource_error_is_not_an_outage()
    {
        var database = await PostgresTestServer.CreateDatabaseAsync(Ct);
        var error = await Assert.ThrowsAsync<PostgresException>(() => PostgresTestServer.ExecuteAsync(database, "SELECT * FROM no_such_table", Ct));
        Assert.Null(PostgresOutage.Of(error));

        var role = "limited_" + Guid.NewGuid().ToString("N")[..12];
        await PostgresTestServer.ExecuteAsync(database, $"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0", Ct);
        try
        {
            var refused = await Assert.ThrowsAsync<PostgresException>(() => PostgresTestServer.ExecuteAsync(
                new NpgsqlConnectionStringBuilder(database) { Username = role }.ConnectionString, "SELECT 1", Ct));
            Assert.Equal("53300", refused.SqlState);
            Assert.Null(PostgresOutage.Of(refused));
        }
        finally
        {
            await PostgresTestServer.ExecuteAsync(database, $"DROP ROLE {role}", Ct);
        }
    }
}
