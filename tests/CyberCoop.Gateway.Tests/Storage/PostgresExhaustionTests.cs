using CyberCoop.Gateway.Storage;
using CyberCoop.Testing;
using Npgsql;

namespace CyberCoop.Gateway.Tests.Storage;

/// <summary>
/// Which errors of a real PostgreSQL server the gateway answers with RESOURCE_EXHAUSTED (<see cref="PostgresExhaustion"/>):
/// the server's resource errors, and nothing else. disk_full is shown end to end by PostgresStorageFullTests.
/// </summary>
public sealed class PostgresExhaustionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_connection_refused_for_too_many_connections_is_a_resource_error_naming_the_cause()
    {
        var database = await PostgresTestServer.CreateDatabaseAsync(Ct);
        var role = "limited_" + Guid.NewGuid().ToString("N")[..12];
        await PostgresTestServer.ExecuteAsync(database, $"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0", Ct);
        try
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database) { Username = role, Pooling = false }.ConnectionString);

            var refused = await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync(Ct));

            Assert.Equal("53300", refused.SqlState);
            Assert.Contains("too many connections", PostgresExhaustion.Of(refused), StringComparison.Ordinal);
        }
        finally
        {
            await PostgresTestServer.ExecuteAsync(database, $"DROP ROLE {role}", Ct);
        }
    }

    [Fact]
    public async Task An_ordinary_statement_error_is_not_a_resource_error()
    {
        var database = await PostgresTestServer.CreateDatabaseAsync(Ct);

        var error = await Assert.ThrowsAsync<PostgresException>(() => PostgresTestServer.ExecuteAsync(database, "SELECT * FROM no_such_table", Ct));

        Assert.Equal("42P01", error.SqlState);
        Assert.Null(PostgresExhaustion.Of(error));
    }
}
