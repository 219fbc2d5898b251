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
    public async Task A_version_6_outbox_is_read_as_bundles_after_the_lifecycle_migration()
    {
        var path = _dir.File("v6.db");
        using (var connection = Connect(path))
        {
            SchemaMigrations.Migrate(connection, targetVersion: 6);
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO outbox (peer, envelope_id, envelope, indicator_count, created_at, hop_count) VALUES ('p', x'01', x'0203', 1, 0, 1)";
            insert.ExecuteNonQuery();
        }

        await using var store = await GatewayStore.OpenAsync(path, new FakeTimeProvider(Now), Ct);
        var entry = Assert.Single(await store.ReadOutboxAsync("p", 0, 10, Ct));

        Assert.Equal(Contracts.V1.PayloadKind.Bundle, entry.Kind);
        Assert.Equal(1, entry.HopCount);
        Assert.Empty(await store.ReadWithdrawalsAsync(Ipv4(1).Id, Ct)); // table added by version 7
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
    public async Task A_version_5_database_is_migrated_to_binary_id_keys_and_finds_merges_and_exports_its_indicators()
    {
        var path = _dir.File("v5.db");
        var ids = new[] { Ipv4(1).Id, Ipv4(2).Id, Ipv4(3).Id };
        using (var connection = Connect(path))
        {
            SchemaMigrations.Migrate(connection, targetVersion: 5);
            using var insert = connection.CreateCommand();
            insert.CommandText =
                "INSERT INTO indicators (rid, id, type, value, tlp, confidence, updated_at, blob, local_seq) VALUES ($rid, $id, 1, $value, 2, 50, 0, $blob, $seq)";
            var rid = insert.Parameters.Add("$rid", SqliteType.Integer);
            var id = insert.Parameters.Add("$id", SqliteType.Text);
            var value = insert.Parameters.Add("$value", SqliteType.Text);
            var blob = insert.Parameters.Add("$blob", SqliteType.Blob);
            var seq = insert.Parameters.Add("$seq", SqliteType.Integer);
            foreach (var i in new[] { 3, 1, 2 })
            {
                var indicator = Ipv4(i, count: 2);
                (rid.Value, id.Value, value.Value, blob.Value, seq.Value) = (10 + i, indicator.Id, indicator.Value, Google.Protobuf.MessageExtensions.ToByteArray(indicator), i);
                insert.ExecuteNonQuery();
            }

            // An id not in canonical UUID form (validation never produces one; the key keeps it as text).
            var legacy = Ipv4(4, count: 2);
            legacy.Id = "legacy-" + legacy.Id.ToUpperInvariant();
            (rid.Value, id.Value, value.Value, blob.Value, seq.Value) = (20, legacy.Id, legacy.Value, Google.Protobuf.MessageExtensions.ToByteArray(legacy), DBNull.Value);
            insert.ExecuteNonQuery();
            using var embargo = connection.CreateCommand();
            embargo.CommandText = "INSERT INTO embargo (peer, indicator_id, until) VALUES ('p', $id, 0)";
            embargo.Parameters.AddWithValue("$id", ids[1]);
            embargo.ExecuteNonQuery();
        }

        await using (var store = await GatewayStore.OpenAsync(path, new FakeTimeProvider(Now), Ct))
        {
            Assert.Equal(0L, new FileInfo(path + "-wal").Length); // the rebuilt table was checkpointed at open
            Assert.Equal(2u, (await store.GetIndicatorAsync(ids[0], Ct))!.Observations[0].Count);
            Assert.Equal(2u, (await store.GetIndicatorAsync("legacy-" + Ipv4(4).Id.ToUpperInvariant(), Ct))!.Observations[0].Count);
            Assert.Null(await store.GetIndicatorAsync(Ipv4(4).Id, Ct));

            var merged = await store.CommitIngestAsync("agent", Id(1), [ValidationOutcome.Valid(Ipv4(1, count: 3)), ValidationOutcome.Valid(Ipv4(5))], Ct);

            Assert.Equal([Contracts.V1.ItemOutcome.Merged, Contracts.V1.ItemOutcome.Accepted], merged.Results.Select(r => r.Outcome));
            Assert.Equal(5u, (await store.GetIndicatorAsync(ids[0], Ct))!.Observations[0].Count);
            Assert.Equal(5L, await store.CountIndicatorsAsync(Ct));
            var exported = await store.ReadAllIndicatorsAsync(Ct).Select(i => i.Id).ToListAsync(Ct);
            Assert.Equal(5, exported.Count);
            var canonical = exported.Where(x => !x.StartsWith("legacy-", StringComparison.Ordinal)).ToList();
            Assert.Equal(canonical.Order(StringComparer.Ordinal), canonical); // id order
            Assert.Equal([ids[1]], (await store.ReadDueEmbargoedAsync("p", Now, 10, Ct)).Select(i => i.Id));
            // The change feed keeps its order across the migration (row ids and local_seq kept), then the new change.
            Assert.Equal([ids[1], ids[2], ids[0], Ipv4(5).Id], (await store.ReadLocalChangesAsync(1, 10, Ct)).Select(c => c.Indicator.Id));
            var duplicate = await store.CommitIngestAsync("agent", Id(2), [ValidationOutcome.Valid(Ipv4(2))], Ct);
            Assert.Equal(Contracts.V1.ItemOutcome.Merged, duplicate.Results[0].Outcome);
        }

        using var check = Connect(path);
        Assert.Equal(SchemaMigrations.LatestVersion, SchemaMigrations.ReadVersion(check));
        using var keys = check.CreateCommand();
        keys.CommandText = "SELECT id, typeof(id_key), hex(id_key) FROM indicators ORDER BY rid";
        using var reader = keys.ExecuteReader();
        var rows = new List<(string Id, string Type, string Hex)>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        }

        Assert.Equal(5, rows.Count); // 4 migrated, Ipv4(5) new
        Assert.All(rows.Where(r => !r.Id.StartsWith("legacy-", StringComparison.Ordinal)), r =>
        {
            Assert.Equal("blob", r.Type);
            Assert.Equal(r.Id.Replace("-", "", StringComparison.Ordinal).ToUpperInvariant(), r.Hex);
        });
        Assert.Equal("text", rows.Single(r => r.Id.StartsWith("legacy-", StringComparison.Ordinal)).Type);
    }

    [Fact]
    public async Task Envelope_ids_seen_by_a_version_6_database_stay_duplicates_for_any_bundle_after_migration()
    {
        var path = _dir.File("v6.db");
        using (var connection = Connect(path))
        {
            SchemaMigrations.Migrate(connection, targetVersion: 6);
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO seen_envelopes (envelope_id, sender, received_at) VALUES ($id, 'spiffe://lv.cybercoop/gateway/riga', 0)";
            insert.Parameters.AddWithValue("$id", Id(1));
            insert.ExecuteNonQuery();
        }

        await using (var store = await GatewayStore.OpenAsync(path, new FakeTimeProvider(Now), Ct))
        {
            var seen = await store.FindSeenEnvelopeAsync(Id(1), Ct);

            Assert.NotNull(seen);
            Assert.Null(seen.Origin);
            Assert.True(seen.Carries("spiffe://lv.cybercoop/gateway/riga", Id(9)), "a row without its bundle matches any verified copy");
        }

        using var check = Connect(path);
        Assert.Equal(SchemaMigrations.LatestVersion, SchemaMigrations.ReadVersion(check));
    }

    [Fact]
    public async Task After_migration_a_second_row_with_an_existing_id_is_refused_by_the_unique_key()
    {
        var path = _dir.File("unique.db");
        await (await GatewayStore.OpenAsync(path, new FakeTimeProvider(Now), Ct)).DisposeAsync();
        using var connection = Connect(path);
        using var insert = connection.CreateCommand();
        insert.CommandText =
            "INSERT INTO indicators (id_key, id, type, value, tlp, confidence, updated_at, blob) VALUES (unhex('00112233445566778899aabbccddeeff'), 'x', 1, 'v', 2, 50, 0, x'');" +
            "INSERT INTO indicators (id_key, id, type, value, tlp, confidence, updated_at, blob) VALUES (unhex('00112233445566778899aabbccddeeff'), 'y', 1, 'v', 2, 50, 0, x'');";

        var error = Assert.Throws<SqliteException>(() => insert.ExecuteNonQuery());

        Assert.Contains("UNIQUE", error.Message, StringComparison.Ordinal);
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

        var error = await Assert.ThrowsAsync<DamagedDatabaseException>(() => GatewayStore.OpenAsync(path, new FakeTimeProvider(Now), Ct));

        Assert.Contains("does not start with the SQLite header", error.Message, StringComparison.Ordinal);
        Assert.Equal(new string('x', 4096), await File.ReadAllTextAsync(path, Ct));
    }

    [Fact]
    public async Task Missing_directories_are_created()
    {
        var path = Path.Combine(_dir.Path, "a", "b", "gateway.db");

        await using var store = await GatewayStore.OpenAsync(path, new FakeTimeProvider(Now), Ct);

        Assert.True(File.Exists(path));
    }
}
