using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli.Certs;
using CyberCoop.Gateway.Cli.Peers;
using CyberCoop.Gateway.Hosting;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Xunit;

namespace CyberCoop.Gateway.Tests.Cli;

/// <summary>The operator commands against a real running gateway (Kestrel, mTLS, Admin socket, SQLite) made by certs dev.</summary>
public sealed class LiveNodeCliTests : IAsyncLifetime
{
    private const string Helsinki = "spiffe://fi.cybercoop/gateway/helsinki";
    private readonly TempDirectory _temp = new();
    private DevFederationLayout _federation = null!;
    private GatewayNode _node = null!;

    private DevNode Tallinn => _federation.Nodes[0];

    public async ValueTask InitializeAsync()
    {
        _federation = DevFederationFixture.Create(_temp.Path);
        _node = await GatewayNode.StartAsync(
            Tallinn.ConfigPath,
            new GatewayNodeOptions { ConfigureLogging = logging => logging.ClearProviders() },
            TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _node.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _temp.Dispose();
    }

    [Fact]
    public async Task Status_peer_edits_and_audit_work_against_a_running_node()
    {
        var before = await CliRun.RunAsync("status", "--config", Tallinn.ConfigPath, "--json");
        Assert.Equal(0, before.ExitCode);
        using (var status = JsonDocument.Parse(before.Output))
        {
            Assert.Equal(Tallinn.Id, status.RootElement.GetProperty("node").GetString());
            Assert.Equal(2, status.RootElement.GetProperty("peers").GetArrayLength());
        }

        var removed = await CliRun.RunAsync("peers", "remove", "--config", Tallinn.ConfigPath, Helsinki);

        Assert.Equal(0, removed.ExitCode);
        Assert.Contains("the running gateway reloaded its config", removed.Output, StringComparison.Ordinal);
        var after = await CliRun.RunAsync("status", "--config", Tallinn.ConfigPath, "--json");
        using (var status = JsonDocument.Parse(after.Output))
        {
            var peers = status.RootElement.GetProperty("peers").EnumerateArray().Select(p => p.GetProperty("peer").GetString()).ToList();
            Assert.Equal(["spiffe://lv.cybercoop/gateway/riga"], peers);
        }

        var verify = await CliRun.RunAsync("audit", "verify", "--config", Tallinn.ConfigPath);
        var tail = await CliRun.RunAsync("audit", "tail", "--config", Tallinn.ConfigPath, "-n", "50");
        Assert.Equal(0, verify.ExitCode);
        Assert.Contains("audit log OK", verify.Output, StringComparison.Ordinal);
        Assert.Contains("ReloadConfig", tail.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_shows_the_served_trust_bundle_and_warns_when_it_expires_within_a_week()
    {
        var fresh = await CliRun.RunAsync("status", "--config", Tallinn.ConfigPath);
        Assert.Equal(0, fresh.ExitCode);
        Assert.Contains("trust bundle        sequence 1, until", fresh.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("trust bundle", fresh.Error, StringComparison.Ordinal);

        var sign = await CliRun.RunAsync("certs", "bundle", "sign", "--ca-dir", Tallinn.Directory, "--bundle-days", "3", "--config", Tallinn.ConfigPath);
        Assert.Equal(0, sign.ExitCode);
        Assert.Contains("the running gateway reloaded its config", sign.Output, StringComparison.Ordinal);

        var soon = await CliRun.RunAsync("status", "--config", Tallinn.ConfigPath);
        var json = await CliRun.RunAsync("status", "--config", Tallinn.ConfigPath, "--json");
        Assert.Contains("trust bundle        sequence 2, until", soon.Output, StringComparison.Ordinal);
        Assert.Contains("warning: the domain's trust bundle (sequence 2) expires at", soon.Error, StringComparison.Ordinal);
        using var status = JsonDocument.Parse(json.Output);
        Assert.Equal("2", status.RootElement.GetProperty("trustBundleSequence").GetString());
    }

    [Fact]
    public async Task An_agent_revoked_with_the_cli_is_refused_by_the_running_node_and_the_other_agent_is_not()
    {
        var revokedAgent = Tallinn.Agents[0];
        var otherAgent = Tallinn.Agents[1];
        Assert.Equal(ItemOutcome.Accepted, await IngestAsync(revokedAgent, "before-revocation.example"));
        using var certificate = PemFiles.LoadCertificate(revokedAgent.Certificate);

        var revoke = await CliRun.RunAsync("certs", "revoke", "--ca-dir", Tallinn.Directory, "--config", Tallinn.ConfigPath, "--serial", certificate.SerialNumber);

        Assert.Equal(0, revoke.ExitCode);
        Assert.Contains("the running gateway reloaded its config", revoke.Output, StringComparison.Ordinal);
        // The node refuses the TLS handshake; depending on timing the client sees it as an RPC or HTTP/2 failure.
        var refused = await Record.ExceptionAsync(() => IngestAsync(revokedAgent, "after-revocation.example"));
        Assert.True(refused is RpcException or HttpRequestException or IOException, refused?.ToString() ?? "the revoked agent was accepted");
        Assert.Equal(ItemOutcome.Accepted, await IngestAsync(otherAgent, "still-trusted.example"));
    }

    [Fact]
    public async Task Certs_revoke_on_a_running_node_ends_the_agents_open_stream_with_permission_denied()
    {
        var agent = Tallinn.Agents[0];
        using var channel = AgentClient.Connect(Tallinn.Address, Tallinn.RootCertificate, agent.Certificate, agent.Key);
        using var call = new CyberCoop.Contracts.V1.Ingest.IngestClient(channel).Submit(cancellationToken: TestContext.Current.CancellationToken);
        await call.RequestStream.WriteAsync(AgentClient.Batch("streamed-before-revocation.example"), TestContext.Current.CancellationToken);
        Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
        using var certificate = PemFiles.LoadCertificate(agent.Certificate);

        var revoke = await CliRun.RunAsync("certs", "revoke", "--ca-dir", Tallinn.Directory, "--config", Tallinn.ConfigPath, "--serial", certificate.SerialNumber);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(timeout.Token));

        Assert.Equal(0, revoke.ExitCode);
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("certificate revoked", error.Status.Detail, StringComparison.Ordinal);
        Assert.NotNull(await _node.Runtime.Store.GetIndicatorAsync(
            CyberCoop.Gateway.Pipeline.IndicatorIds.Compute(IndicatorType.Domain, "streamed-before-revocation.example"), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Renewing_the_gateway_certificate_with_config_swaps_it_in_the_running_node()
    {
        using (var old = await FetchAsTallinnAsync())
        {
            using var onDisk = PemFiles.LoadCertificate(Tallinn.Certificate);
            Assert.Equal(onDisk.SerialNumber, old.Leaf.SerialNumber);
        }

        var renew = await CliRun.RunAsync("certs", "renew", "--ca-dir", Tallinn.Directory, "--cert", Tallinn.Certificate, "--new-key", "--config", Tallinn.ConfigPath);

        Assert.Equal(0, renew.ExitCode);
        Assert.Contains("the running gateway reloaded its config", renew.Output, StringComparison.Ordinal);
        using var renewed = PemFiles.LoadCertificate(Tallinn.Certificate);
        using var presented = await FetchAsTallinnAsync();
        Assert.Equal(renewed.SerialNumber, presented.Leaf.SerialNumber);
        Assert.Equal(ItemOutcome.Accepted, await IngestAsync(Tallinn.Agents[0], "after-renewal.example"));
    }

    /// <summary>What the running node presents in a fresh handshake (and its trust bundle), read as its own gateway.</summary>
    private async Task<PeerOffer> FetchAsTallinnAsync()
    {
        using var own = PemFiles.LoadCertificateWithKey(Tallinn.Certificate, Tallinn.Key);
        return await PeerRootFetcher.FetchAsync(new Uri(Tallinn.Address), own, TestContext.Current.CancellationToken);
    }

    private Task<ItemOutcome> IngestAsync(DevAgent agent, string domain) =>
        AgentClient.IngestAsync(Tallinn.Address, Tallinn.RootCertificate, agent.Certificate, agent.Key, domain);
}
