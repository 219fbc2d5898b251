using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using static CyberCoop.Gateway.Tests.Storage.StoreFixtures;

namespace CyberCoop.Gateway.Tests.Storage;

public sealed class SchemaMigrationsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Dispose();

    private static SqliteConnection Connect(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    [Fact]
    public async Task A_version_1_database_is_migrated_and_keeps_its_data()
    {
        var path = _dir.File("old.db");
        using (var connection = Connect(path))
        {
            SchemaMigrations.Migrate(connection, targetVersion: 1);
            using var insert = connection.CreateCommand();
            insert.CommandText =
                "INSERT INTO outbox (peer, envelope_id, envelope, indicator_count, created_at) VALUES ('p', x'01', x'0203', 1, 0);" +
                "INSERT INTO indicators (id, type, value, tlp, confidence, updated_at, blob) VALUES ($id, 1, $value, 2, 50, 0, $blob);";
            insert.Parameters.AddWithValue("$id", Ipv4(1).Id);
            insert.Parameters.AddWithValue("$value", Ipv4(1).Value);
            insert.Parameters.AddWithValue("$blob", Google.Protobuf.MessageExtensions.ToByteArray(Ipv4(1, count: 2)));
            insert.ExecuteNonQuery();
            Assert.Equal(1L, SchemaMigrations.ReadVersion(connection));
        }

        await using (var store = await GatewayStore.OpenAsync(path, new FakeTimeProvider(Now), Ct))
        {
            Assert.Equal(1L, (await store.GetOutboxStatsAsync("p", Ct)).Depth);
            await store.ScheduleEmbargoedAsync("p", "id", Now, Ct); // table added by version 2
            Assert.Equal(2u, (await store.GetIndicatorAsync(Ipv4(1).Id, Ct))!.Observations[0].Count);
            var merged = await store.CommitIngestAsync("agent", Id(1), [ValidationOutcome.Valid(Ipv4(1, count: 3))], Ct);
            Assert.Equal(Contracts.V1.ItemOutcome.Merged, merged.Results[0].Outcome);
            Assert.Equal(5u, (await store.GetIndicatorAsync(Ipv4(1).Id, Ct))!.Observations[0].Count);
        }

        using var check = Connect(path);
        Assert.Equal(SchemaMigrations.LatestVersion, SchemaMigrations.ReadVersion(check));
    }

    [Fact]
    public async Task Reopening_a_current_database_does_not_migrate_again()
    {
        var path = _dir.File("current.db");
        await (await GatewayStore.OpenAsync(path, new FakeTimeProvider(Now), Ct)).DisposeAsync();

        await using var store = await GatewayStore.OpenAsync(path, new FakeTimeProvider(Now), Ct);

        Assert.Equal(0L, await store.CountIndicatorsAsync(Ct));
    }

    [Fact]
    public async Task A_database_from_a_newer_build_is_refused()
    {
        var path = _dir.File("future.db");
        using (var connection = Connect(path))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA user_version = 999";
            command.ExecuteNonQuery();
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => GatewayStore.OpenAsync(path, new FakeTimeProvider(Now), Ct));

        Assert.Contains("version 999 is newer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_is_refused()
    {
        var path = _dir.File("garbage.db");
        await File.WriteAllTextAsync(path, new string('x', 4096), Ct);

        await Assert.ThrowsAsync<SqliteException>(() => GatewayStore.OpenAsync(path, new FakeTimeProvider(Now), Ct));
    }

    [Fact]
    public async Task Missing_directories_are_created()
    {
        var path = Path.Combine(_dir.Path, "a", "b", "gateway.db");

        await using var store = await GatewayStore.OpenAsync(path, new FakeTimeProvider(Now), Ct);

        Assert.True(File.Exists(path));
    }
}
