using System.Net;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Tests.Cli;
using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Tests.Hosting;

/// <summary>
/// The optional Prometheus endpoint of a real running gateway: what a scraper sees, and that the
/// plain-HTTP listener serves nothing but the scrape and the liveness probe.
/// The exporter reads every <c>CyberCoop.Gateway</c> meter in the process, so these tests run alone:
/// no other test's node (some share the node id) may be counted in.
/// </summary>
[Collection(nameof(MetricsEndpointTests))]
[CollectionDefinition(nameof(MetricsEndpointTests), DisableParallelization = true)]
public sealed class MetricsEndpointTests : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(20) };
    private DevFederationLayout _federation = null!;
    private GatewayNode _node = null!;

    private DevNode Tallinn => _federation.Nodes[0];

    public async ValueTask InitializeAsync()
    {
        _federation = DevFederationFixture.Create(_temp.Path);
        var config = GatewayConfigFile.Load(Tallinn.ConfigPath).Config;
        GatewayConfigFile.Save(Tallinn.ConfigPath, config with { Node = config.Node with { MetricsListen = "127.0.0.1:0" } });
        _node = await GatewayNode.StartAsync(
            Tallinn.ConfigPath,
            new GatewayNodeOptions { ConfigureLogging = logging => logging.ClearProviders() },
            TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _node.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _temp.Dispose();
    }

    private Uri Metrics(string path) => new($"http://127.0.0.1:{_node.MetricsPort}{path}");

    [Fact]
    public async Task Scrape_shows_the_nodes_counters_with_the_indicators_just_ingested()
    {
        var agent = Tallinn.Agents[0];
        var outcome = await AgentClient.IngestAsync(Tallinn.Address, Tallinn.RootCertificate, agent.Certificate, agent.Key, "scraped.example");

        var text = await _http.GetStringAsync(Metrics("/metrics"), TestContext.Current.CancellationToken);

        Assert.Equal(ItemOutcome.Accepted, outcome);
        var ingested = text.Split('\n').Single(line => line.StartsWith("cybercoop_sightings_ingested", StringComparison.Ordinal) && !line.StartsWith('#'));
        Assert.Contains($"node=\"{Tallinn.Id}\"", ingested, StringComparison.Ordinal);
        Assert.Equal("1", ingested[(ingested.LastIndexOf('}') + 1)..].Trim().Split(' ')[0]);
        Assert.Contains("cybercoop_peer_connected", text, StringComparison.Ordinal);
        // The scrape's own connection is held in the connection budget.
        var open = text.Split('\n').Single(line => line.StartsWith("cybercoop_connections_open", StringComparison.Ordinal) && !line.StartsWith('#'));
        Assert.True(long.Parse(open[(open.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) >= 1, open);
        Assert.Contains("cybercoop_connections_refused", text, StringComparison.Ordinal);
        Assert.Contains("dotnet_gc_", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Liveness_probe_answers_ok()
    {
        var response = await _http.GetStringAsync(Metrics("/healthz"), TestContext.Current.CancellationToken);

        Assert.Equal("ok\n", response);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/cybercoop.v1.Admin/GetStatus")]
    [InlineData("/cybercoop.v1.Ingest/Submit")]
    [InlineData("/metrics/../cybercoop.v1.Admin/GetStatus")]
    public async Task Plain_http_listener_serves_nothing_but_metrics_and_liveness(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Metrics(path)) { Content = new ByteArrayContent([0, 0, 0, 0, 0]) };
        request.Content.Headers.ContentType = new("application/grpc");

        using var response = await _http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

}
