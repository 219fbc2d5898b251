using System.Globalization;
using System.Net;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Testing;
using Google.Protobuf;
using Grpc.Core;
using Npgsql;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// The operator's <c>status</c> while the gateway's PostgreSQL server is down: a gateway on a cluster of its own, peered
/// with a gateway on SQLite; the server is stopped with <c>pg_ctl -m immediate</c> (as a crash). <c>status</c> and
/// <c>status --json</c> (the real CLI over the admin socket) still answer, with everything the node holds in memory, a
/// "store UNAVAILABLE since ..." line carrying the cause the refused calls carry, and the store's counts as unknown
/// (before, the store read failed and <c>status</c> failed with it). Once the server is started again, status is normal.
/// </summary>
public sealed class PostgresOutageStatusTests : IAsyncDisposable
{
    private TestFederation? _f;
    private PostgresCluster? _cluster;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Status_shows_the_store_unavailable_with_its_cause_and_since_when_while_the_server_is_down_and_is_normal_once_it_is_back()
    {
        _cluster = await PostgresCluster.StartAsync(
            Path.Combine(Path.GetTempPath(), "cybercoop-pg-status-" + Guid.NewGuid().ToString("N")[..8]), durable: false);
        await PostgresTestServer.ExecuteAsync(_cluster.ConnectionString, "CREATE DATABASE ee", Ct);
        _f = TestFederation.Create("ee", "fi");
        _f.PeerBoth("ee", "fi");
        _f["ee"].Config = _f["ee"].Config with
        {
            Storage = new StorageConfig { Postgres = new PostgresConfig { ConnectionString = new NpgsqlConnectionStringBuilder(_cluster.ConnectionString) { Database = "ee" }.ConnectionString } },
            Console = new ConsoleConfig { Listen = "127.0.0.1:0", LoopbackOnly = true },
        };
        await _f.StartAsync();
        using var console = new HttpClient { BaseAddress = new Uri(_f["ee"].Node!.ConsoleUrl!) };
        var acknowledged = await _f.IngestAcceptedAsync("ee", [StorageBatch("before", 0)]);

        var normal = await StatusJsonAsync();
        Assert.Equal("", normal.StoreUnavailable);
        Assert.Null(normal.StoreUnavailableSince);
        Assert.Equal((ulong)acknowledged.Count, normal.IndicatorsStored);

        var stoppedAt = DateTimeOffset.UtcNow;
        await _cluster.StopServerAsync();
        var refusal = await Assert.ThrowsAsync<RpcException>(() => _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "while-down.example")));
        Assert.Equal(StatusCode.Unavailable, refusal.StatusCode);

        // --json: the cause is the one the refusal carried, with when the gateway first met it; the rest is from memory.
        var down = await StatusJsonAsync();
        // (The refusal's and status's own read may have met the outage differently, e.g. a lost pooled connection and a
        // refused new one: the text in the parentheses is PostgreSQL's client's.)
        var cause = $"the PostgreSQL store postgresql://127.0.0.1:{_cluster.Port}/ee is unreachable or not serving: the connection to the server failed or was lost (";
        Assert.StartsWith(cause, down.StoreUnavailable, StringComparison.Ordinal);
        Assert.StartsWith($"{DamagedDatabaseInterceptor.StoreUnavailable}: {cause}", refusal.Status.Detail, StringComparison.Ordinal);
        Assert.NotNull(down.StoreUnavailableSince);
        Assert.InRange(down.StoreUnavailableSince.ToDateTimeOffset(), stoppedAt, DateTimeOffset.UtcNow);
        Assert.Equal(normal.Node, down.Node);
        Assert.Equal(normal.StartedAt, down.StartedAt);
        Assert.True(down.SightingsIngested >= normal.SightingsIngested, "the node's counters are kept in memory");
        Assert.Equal(_f["fi"].GatewayId, Assert.Single(down.Peers).Peer);
        Assert.Equal(normal.Agents.Select(a => a.Agent), down.Agents.Select(a => a.Agent));

        // The text: the store line and the counts that could not be read, shown as unknown.
        var (exit, output, error) = await _f.StatusAsync("ee", json: false);
        Assert.True(exit == 0, $"status exited {exit}: {output}{error}");
        TestContext.Current.TestOutputHelper?.WriteLine(output);
        var since = down.StoreUnavailableSince.ToDateTimeOffset().UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        Assert.Contains($"store               UNAVAILABLE since {since} (", output, StringComparison.Ordinal);
        Assert.Contains($"ago): {cause}", output, StringComparison.Ordinal);
        Assert.Contains("indicators stored   unknown (store unavailable)", output, StringComparison.Ordinal);
        Assert.Contains(_f["fi"].GatewayId, output, StringComparison.Ordinal);

        // The web console: the overview and the peers page answer from memory with the same outage as an alarm and the
        // store's counts as unknown; a page that needs the store (indicator search) is a 503 naming the cause.
        var overview = WebUtility.HtmlDecode(await console.GetStringAsync("/", Ct));
        Assert.Contains($"the store is UNAVAILABLE since {down.StoreUnavailableSince.ToDateTimeOffset().UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}", overview, StringComparison.Ordinal);
        Assert.Contains(cause, overview, StringComparison.Ordinal);
        Assert.Contains("unknown (store unavailable)", overview, StringComparison.Ordinal);
        Assert.Contains(_f["fi"].GatewayId, overview, StringComparison.Ordinal);
        var peers = WebUtility.HtmlDecode(await console.GetStringAsync("/peers", Ct));
        Assert.Contains("unknown (store unavailable)", peers, StringComparison.Ordinal);
        Assert.Contains("unknown: the audit log is in the store, which is unavailable", peers, StringComparison.Ordinal);
        using (var search = await console.GetAsync("/indicators?q=while-down", Ct))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, search.StatusCode);
            var page = WebUtility.HtmlDecode(await search.Content.ReadAsStringAsync(Ct));
            Assert.Contains("This page reads the node's store, which is unavailable: ", page, StringComparison.Ordinal);
            Assert.Contains($"the PostgreSQL store postgresql://127.0.0.1:{_cluster.Port}/ee is unreachable or not serving", page, StringComparison.Ordinal);
        }

        // Back: the store reconnects by itself (pooled connections the restart broke fail once each) and status is normal again.
        await _cluster.StartServerAsync();
        await WaitUntilAsync(
            async () =>
            {
                try
                {
                    acknowledged.UnionWith(await _f.IngestAcceptedAsync("ee", [StorageBatch("after", 0)]));
                    return true;
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
                {
                    return false;
                }
            },
            "ee takes ingest again", TimeSpan.FromSeconds(60));
        await WaitUntilAsync(async () => (await StatusJsonAsync()).StoreUnavailable.Length == 0, "status shows the store serving", TimeSpan.FromSeconds(60));
        var back = await StatusJsonAsync();
        Assert.Equal("", back.StoreUnavailable);
        Assert.Null(back.StoreUnavailableSince);
        Assert.Equal((ulong)acknowledged.Count, back.IndicatorsStored);
        (exit, output, error) = await _f.StatusAsync("ee", json: false);
        Assert.True(exit == 0, $"status exited {exit}: {output}{error}");
        Assert.DoesNotContain("UNAVAILABLE", output, StringComparison.Ordinal);
        Assert.Contains($"indicators stored   {acknowledged.Count}", output, StringComparison.Ordinal);
        overview = WebUtility.HtmlDecode(await console.GetStringAsync("/", Ct));
        Assert.DoesNotContain("UNAVAILABLE", overview, StringComparison.Ordinal);
        Assert.DoesNotContain("unknown (store unavailable)", overview, StringComparison.Ordinal);
        using var searchBack = await console.GetAsync("/indicators?q=while-down", Ct);
        Assert.Equal(HttpStatusCode.OK, searchBack.StatusCode);
    }

    public ValueTask DisposeAsync()
    {
        var (f, cluster) = (_f, _cluster);
        (_f, _cluster) = (null, null);
        return TestFederation.DisposeWithClusterAsync(f, cluster);
    }

    private async Task<NodeStatus> StatusJsonAsync()
    {
        var (exit, output, error) = await _f!.StatusAsync("ee", json: true);
        Assert.True(exit == 0, $"status --json exited {exit}: {output}{error}");
        return JsonParser.Default.Parse<NodeStatus>(output);
    }
}
