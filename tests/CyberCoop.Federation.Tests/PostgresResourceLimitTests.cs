using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Testing;
using Grpc.Core;
using Npgsql;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// A real gateway on a real PostgreSQL server that runs short of a resource other than disk (SQLSTATE class 53) while
/// it takes ingest: it refuses with RESOURCE_EXHAUSTED "storage-exhausted" naming PostgreSQL, the cause and the
/// SQLSTATE, loses nothing it acknowledged, stores nothing twice, and takes the refused batch again by itself once the
/// resource is back. 53300 and 53200 are raised by the server itself; 53400 by a trigger (see its test).
/// </summary>
public sealed class PostgresResourceLimitTests : IAsyncDisposable
{
    private const int MaxAttempts = 40;

    private TestFederation? _f;
    private PostgresCluster? _cluster;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// 53300 too_many_connections, raised by the server: the gateway's login role gets CONNECTION LIMIT 0 and its sessions
    /// are terminated (as when other clients of the role hold every slot it may have). The calls that meet a terminated
    /// session are answered UNAVAILABLE (57P01, the session went away); the first that needs a new connection gets 53300.
    /// </summary>
    [Fact]
    public async Task Too_many_connections_for_the_gateways_role_is_refused_with_resource_exhausted_and_ingest_resumes_when_a_connection_is_free()
    {
        var server = await PostgresTestServer.ServerAsync();
        var suffix = Guid.NewGuid().ToString("N")[..12];
        var role = "gw_" + suffix;
        var database = "limit_" + suffix;
        await PostgresTestServer.ExecuteAsync(server, $"CREATE ROLE {role} LOGIN", Ct);
        try
        {
            await PostgresTestServer.ExecuteAsync(server, $"CREATE DATABASE {database} OWNER {role}", Ct);
            await StartGatewayAsync(new NpgsqlConnectionStringBuilder(server) { Username = role, Database = database }.ConnectionString);
            var before = await _f!.IngestAcceptedAsync("ee", [StorageBatch("before", 0)]);

            await PostgresTestServer.ExecuteAsync(server, $"ALTER ROLE {role} CONNECTION LIMIT 0", Ct);
            await PostgresTestServer.ExecuteAsync(server, $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'", Ct);
            var (acknowledged, refusal, batch) = await IngestUntilExhaustedAsync("limit", allowUnavailable: true);
            AssertExhausted(refusal, "the server refused a connection: too many connections", "53300");
            Assert.Contains($"too many connections for role \"{role}\"", refusal.Status.Detail, StringComparison.Ordinal);

            await PostgresTestServer.ExecuteAsync(server, $"ALTER ROLE {role} CONNECTION LIMIT -1", Ct);
            acknowledged.UnionWith(before);
            acknowledged.UnionWith(await ResendUntilTakenAsync("limit", batch));
            await _f.AssertHoldsExactlyOnceAsync("ee", acknowledged);
        }
        finally
        {
            await DisposeAsync();
            NpgsqlConnection.ClearAllPools();
            await PostgresTestServer.ExecuteAsync(server, $"DROP DATABASE IF EXISTS {database} WITH (FORCE)", CancellationToken.None);
            await PostgresTestServer.ExecuteAsync(server, $"DROP ROLE IF EXISTS {role}", CancellationToken.None);
        }
    }

    /// <summary>
    /// 53200 out_of_memory, raised by the server: another session fills the server's shared lock table (session advisory
    /// locks until PostgreSQL answers "out of shared memory") and keeps it full; the gateway's write transaction needs a
    /// lock-table entry for its write lock and its transaction id, so PostgreSQL refuses it with 53200 "out of shared
    /// memory" and the hint to raise max_locks_per_transaction. A cluster of its own (small lock table): filling the
    /// shared test server's would fail other tests running at the same time.
    /// </summary>
    [Fact]
    public async Task A_full_shared_lock_table_out_of_shared_memory_is_refused_with_resource_exhausted_and_ingest_resumes_when_it_is_freed()
    {
        _cluster = await PostgresCluster.StartAsync(
            Path.Combine(Path.GetTempPath(), "cybercoop-pg-locks-" + Guid.NewGuid().ToString("N")[..8]), durable: false,
            settings: ["max_locks_per_transaction=10"]);
        await PostgresTestServer.ExecuteAsync(_cluster.ConnectionString, "CREATE DATABASE ee", Ct);
        await StartGatewayAsync(new NpgsqlConnectionStringBuilder(_cluster.ConnectionString) { Database = "ee" }.ConnectionString);
        var before = await _f!.IngestAcceptedAsync("ee", [StorageBatch("before", 0)]);

        await using (var hog = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_cluster.ConnectionString) { Pooling = false }.ConnectionString))
        {
            await hog.OpenAsync(Ct);

            // The hog takes shared advisory locks (session level: kept after the statement) on new keys until PostgreSQL
            // answers "out of shared memory" (caught in PL/pgSQL, so the session stays as it is). Before every batch it
            // takes again whatever entries transactions of the gateway's background services held meanwhile and freed.
            await using (var define = new NpgsqlCommand(
                "CREATE FUNCTION pg_temp.fill_lock_table(start bigint) RETURNS integer LANGUAGE plpgsql AS $$ " +
                "DECLARE k bigint := start; BEGIN LOOP BEGIN PERFORM pg_advisory_lock_shared(k); k := k + 1; " +
                "EXCEPTION WHEN out_of_memory THEN RETURN k - start; END; END LOOP; END $$", hog))
            {
                await define.ExecuteNonQueryAsync(Ct);
            }

            var round = 0;
            async Task<int> TakeWhatIsLeftAsync()
            {
                await using var take = new NpgsqlCommand($"SELECT pg_temp.fill_lock_table({++round * 100_000_000L})", hog);
                return (int)(await take.ExecuteScalarAsync(Ct))!;
            }

            var taken = await TakeWhatIsLeftAsync();
            Assert.True(taken > 0, "the hog took lock-table entries until the server ran out of shared memory");
            TestContext.Current.TestOutputHelper?.WriteLine($"lock-table entries taken by the hog: {taken}");

            var (acknowledged, refusal, batch) = await IngestUntilExhaustedAsync("locks", allowUnavailable: false, beforeEach: async () => await TakeWhatIsLeftAsync());
            AssertExhausted(refusal, "the server is out of memory", "53200");
            Assert.Contains("out of shared memory", refusal.Status.Detail, StringComparison.Ordinal);
            Assert.Contains("max_locks_per_transaction", refusal.Status.Detail, StringComparison.Ordinal);
            acknowledged.UnionWith(before);

            await using (var release = new NpgsqlCommand("SELECT pg_advisory_unlock_all()", hog))
            {
                await release.ExecuteNonQueryAsync(Ct);
            }

            acknowledged.UnionWith(await ResendUntilTakenAsync("locks", batch));
            await _f.AssertHoldsExactlyOnceAsync("ee", acknowledged);
        }
    }

    /// <summary>
    /// 53400 configuration_limit_exceeded. PostgreSQL raises it for limits the gateway's statements do not reach in
    /// practice (temp_file_limit on a spilling sort, max_prepared_transactions, background workers), and no per-role
    /// setting makes its plain inserts meet one, so a trigger on the real server raises this SQLSTATE for every insert
    /// into the indicators table: this tests the status mapping end to end, not a real configuration limit.
    /// </summary>
    [Fact]
    public async Task A_configuration_limit_raised_by_the_server_is_refused_with_resource_exhausted_and_ingest_resumes_when_it_is_lifted()
    {
        var database = await PostgresTestServer.CreateDatabaseAsync(Ct);
        await StartGatewayAsync(database);
        var before = await _f!.IngestAcceptedAsync("ee", [StorageBatch("before", 0)]);

        await PostgresTestServer.ExecuteAsync(database,
            "CREATE FUNCTION test_limit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN " +
            "RAISE EXCEPTION 'test limit reached' USING ERRCODE = '53400', HINT = 'raised by a test trigger'; END $$", Ct);
        await PostgresTestServer.ExecuteAsync(database, "CREATE TRIGGER test_limit BEFORE INSERT ON indicators FOR EACH STATEMENT EXECUTE FUNCTION test_limit()", Ct);
        var (acknowledged, refusal, batch) = await IngestUntilExhaustedAsync("config", allowUnavailable: false);
        AssertExhausted(refusal, "a server configuration limit was exceeded", "53400");
        acknowledged.UnionWith(before);

        await PostgresTestServer.ExecuteAsync(database, "DROP TRIGGER test_limit ON indicators", Ct);
        acknowledged.UnionWith(await ResendUntilTakenAsync("config", batch));
        await _f.AssertHoldsExactlyOnceAsync("ee", acknowledged);
    }

    public ValueTask DisposeAsync()
    {
        var (f, cluster) = (_f, _cluster);
        (_f, _cluster) = (null, null);
        return TestFederation.DisposeWithClusterAsync(f, cluster);
    }

    private async Task StartGatewayAsync(string connectionString)
    {
        _f = TestFederation.Create("ee");
        _f["ee"].Config = _f["ee"].Config with { Storage = new StorageConfig { Postgres = new PostgresConfig { ConnectionString = connectionString } } };
        await _f.StartAsync("ee");
    }

    /// <summary>
    /// Sends new batches of 500 (each on a new stream, as an agent reconnects; <paramref name="beforeEach"/> runs before
    /// each) until one is refused with
    /// RESOURCE_EXHAUSTED; with <paramref name="allowUnavailable"/>, refusals UNAVAILABLE store-unavailable may come first
    /// (sessions the server terminated) and that batch is sent again. Returns what was acknowledged, the refusal and the
    /// refused batch's number.
    /// </summary>
    private async Task<(HashSet<string> Acknowledged, RpcException Refusal, int Batch)> IngestUntilExhaustedAsync(string prefix, bool allowUnavailable, Func<Task>? beforeEach = null)
    {
        var acknowledged = new HashSet<string>(StringComparer.Ordinal);
        var batch = 0;
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (beforeEach is not null)
            {
                await beforeEach();
            }

            try
            {
                acknowledged.UnionWith(await _f!.IngestAcceptedAsync("ee", [StorageBatch(prefix, batch)]));
                batch++;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
            {
                return (acknowledged, ex, batch);
            }
            catch (RpcException ex) when (allowUnavailable && ex.StatusCode == StatusCode.Unavailable)
            {
                Assert.StartsWith(DamagedDatabaseInterceptor.StoreUnavailable + ": the PostgreSQL store postgresql://", ex.Status.Detail, StringComparison.Ordinal);
            }
        }

        Assert.Fail($"no RESOURCE_EXHAUSTED in {MaxAttempts} batches");
        throw new InvalidOperationException("unreachable");
    }

    private static void AssertExhausted(RpcException refusal, string cause, string sqlState)
    {
        TestContext.Current.TestOutputHelper?.WriteLine($"{refusal.StatusCode}: {refusal.Status.Detail}");
        Assert.Equal(StatusCode.ResourceExhausted, refusal.StatusCode);
        Assert.StartsWith(DamagedDatabaseInterceptor.StorageExhausted + ": the PostgreSQL store postgresql://", refusal.Status.Detail, StringComparison.Ordinal);
        Assert.Contains($"{cause} (SQLSTATE {sqlState}: ", refusal.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("nothing of this request was stored or acknowledged", refusal.Status.Detail, StringComparison.Ordinal);
        Assert.False(Gateway.Outbound.PeerForwarder.IsRefusal(refusal), "a peer retries it with its ordinary backoff");
    }

    /// <summary>Re-sends the refused batch (same id, as an agent does) until the gateway takes it; its ids.</summary>
    private async Task<HashSet<string>> ResendUntilTakenAsync(string prefix, int batch)
    {
        HashSet<string>? taken = null;
        await WaitUntilAsync(async () =>
        {
            try
            {
                taken = await _f!.IngestAcceptedAsync("ee", [StorageBatch(prefix, batch)]);
                return true;
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.ResourceExhausted or StatusCode.Unavailable)
            {
                return false;
            }
        }, "the gateway takes the refused batch again", TimeSpan.FromSeconds(60));
        return taken!;
    }
}
