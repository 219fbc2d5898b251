using CyberCoop.Gateway.Pipeline;
using CyberCoop.Gateway.Storage;
using CyberCoop.Testing;
using Microsoft.Data.Sqlite;
using Npgsql;
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

    private const string Riga = "spiffe://lv.cybercoop/gateway/riga";

    /// <summary>
    /// The paths of a database from before deliveries were keyed by row id (SQLite 14, PostgreSQL 4): this node gave
    /// Ipv4(1) of its own to p1 and p2, relayed Ipv4(2) of Riga to p3, and gave Ipv4(9), no longer stored, to p1.
    /// </summary>
    private static readonly (int Indicator, string Origin, string Peer)[] OldPaths = [(1, Node, "p1"), (1, Node, "p2"), (2, Riga, "p3"), (9, Node, "p1")];

    /// <summary>After the migration the old paths are found by id, a withdrawal follows exactly them, new ones add to them.</summary>
    private static async Task AssertOldPathsKeptAsync(GatewayStore store)
    {
        Assert.Equal(["p1", "p2"], await store.ReadDeliveredPeersAsync(Ipv4(1).Id, Node, Ct));
        Assert.Empty(await store.ReadDeliveredPeersAsync(Ipv4(1).Id, Riga, Ct));
        Assert.Equal(["p3"], await store.ReadDeliveredPeersAsync(Ipv4(2).Id, Riga, Ct));
        Assert.Empty(await store.ReadDeliveredPeersAsync(Ipv4(3).Id, Node, Ct));
        Assert.Empty(await store.ReadDeliveredPeersAsync(Ipv4(9).Id, Node, Ct));

        var withdrawal = new WithdrawalRecord(Riga, Ipv4(2).Id, Id(30), "false-positive", Now, Now, Riga);
        var (result, relayedTo) = await store.CommitReceivedWithdrawalAsync(Id(31), withdrawal,
            peer => new OutboxItem(peer, Id(32), [1], 0, Now, 1, Contracts.V1.PayloadKind.Withdrawal), [], Ct);
        Assert.Equal(WithdrawalCommit.Applied, result);
        Assert.Equal(["p3"], relayedTo);

        var change = (await store.ReadLocalChangesAsync(0, 10, Ct)).Single(c => c.Indicator.Id == Ipv4(1).Id);
        await store.CommitDispatchAsync("p4", change.Seq, [new OutboxItem("p4", Id(33), [1], 1, Now, Origin: Node, IndicatorIds: [Ipv4(1).Id], IndicatorRowIds: [change.RowId])], [], [], [], 0, Ct);
        Assert.Equal(["p1", "p2", "p4"], await store.ReadDeliveredPeersAsync(Ipv4(1).Id, Node, Ct));
    }

    [Fact]
    public async Task A_version_14_database_keeps_its_delivery_paths_when_they_are_keyed_by_row_id()
    {
        var path = _dir.File("v14.db");
        using (var connection = Connect(path))
        {
            SchemaMigrations.Migrate(connection, targetVersion: 14);
            using var insert = connection.CreateCommand();
            insert.CommandText =
                $"INSERT INTO indicators (rid, id_key, id, type, value, tlp, confidence, updated_at, blob, local_seq, own_state) VALUES ($rid, {IndicatorKey.Sql("$id")}, $id, 1, $value, 2, 50, 0, $blob, $rid, 1)";
            var rid = insert.Parameters.Add("$rid", SqliteType.Integer);
            var id = insert.Parameters.Add("$id", SqliteType.Text);
            var value = insert.Parameters.Add("$value", SqliteType.Text);
            var blob = insert.Parameters.Add("$blob", SqliteType.Blob);
            foreach (var i in new[] { 3, 1, 2 })
            {
                var indicator = Ipv4(i);
                (rid.Value, id.Value, value.Value, blob.Value) = (10 + i, indicator.Id, indicator.Value, Google.Protobuf.MessageExtensions.ToByteArray(indicator));
                insert.ExecuteNonQuery();
            }

            using var delivery = connection.CreateCommand();
            delivery.CommandText = $"INSERT INTO deliveries (id_key, origin, peer, delivered_at) VALUES ({IndicatorKey.Sql("$id")}, $origin, $peer, 0)";
            var deliveredId = delivery.Parameters.Add("$id", SqliteType.Text);
            var origin = delivery.Parameters.Add("$origin", SqliteType.Text);
            var peer = delivery.Parameters.Add("$peer", SqliteType.Text);
            foreach (var (indicator, from, to) in OldPaths)
            {
                (deliveredId.Value, origin.Value, peer.Value) = (Ipv4(indicator).Id, from, to);
                delivery.ExecuteNonQuery();
            }
        }

        await using (var store = await GatewayStore.OpenAsync(path, new FakeTimeProvider(Now), Ct))
        {
            await AssertOldPathsKeptAsync(store);
        }

        using var check = Connect(path);
        Assert.Equal(SchemaMigrations.LatestVersion, SchemaMigrations.ReadVersion(check));
        using var rows = check.CreateCommand();
        rows.CommandText = "SELECT rid || ' ' || origin || ' ' || peer FROM deliveries ORDER BY rid, origin, peer";
        using var reader = rows.ExecuteReader();
        var keyed = new List<string>();
        while (reader.Read())
        {
            keyed.Add(reader.GetString(0));
        }

        // Keyed by row id; the path of the indicator no longer stored is gone.
        Assert.Equal([$"11 {Node} p1", $"11 {Node} p2", $"11 {Node} p4", $"12 {Riga} p3"], keyed);
    }

    [Fact]
    public async Task A_version_4_postgres_database_keeps_its_delivery_paths_when_they_are_keyed_by_row_id()
    {
        var database = await PostgresTestServer.CreateDatabaseAsync(Ct);
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync(Ct);
            await PostgresSchema.MigrateAsync(connection, Ct, targetVersion: 4);
            foreach (var i in new[] { 3, 1, 2 })
            {
                var indicator = Ipv4(i);
                await using var insert = new NpgsqlCommand(
                    "INSERT INTO indicators (id_key, id, type, value, tlp, confidence, updated_at, blob, local_seq, own_state) VALUES (@id, @id, 1, @value, 2, 50, 0, @blob, @seq, 1)", connection);
                insert.Parameters.AddWithValue("id", indicator.Id);
                insert.Parameters.AddWithValue("value", indicator.Value);
                insert.Parameters.AddWithValue("blob", Google.Protobuf.MessageExtensions.ToByteArray(indicator));
                insert.Parameters.AddWithValue("seq", (long)i);
                await insert.ExecuteNonQueryAsync(Ct);
            }

            foreach (var (indicator, from, to) in OldPaths)
            {
                await using var delivery = new NpgsqlCommand("INSERT INTO deliveries (id_key, origin, peer, delivered_at) VALUES (@id, @origin, @peer, 0)", connection);
                delivery.Parameters.AddWithValue("id", Ipv4(indicator).Id);
                delivery.Parameters.AddWithValue("origin", from);
                delivery.Parameters.AddWithValue("peer", to);
                await delivery.ExecuteNonQueryAsync(Ct);
            }
        }

        await using (var store = await GatewayStore.OpenPostgresAsync(database, new FakeTimeProvider(Now), new PostgresStoreOptions(), Ct))
        {
            await AssertOldPathsKeptAsync(store);
        }

        await using var check = new NpgsqlConnection(database);
        await check.OpenAsync(Ct);
        Assert.Equal(PostgresSchema.LatestVersion, await PostgresSchema.ReadVersionAsync(check, Ct));
        await using var count = new NpgsqlCommand("SELECT COUNT(*) FROM deliveries", check);
        Assert.Equal(4L, await count.ExecuteScalarAsync(Ct)); // 3 kept (the one of the indicator no longer stored is gone), 1 new
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
