using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Hosting;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>Suites, relays from unpinned origins, hot reload and revocation across real nodes.</summary>
public sealed class TrustLifecycleTests : IAsyncLifetime
{
    private TestFederation _f = null!;

    public ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi", "lv");
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task Hybrid_post_quantum_suite_is_used_when_both_nodes_announce_it()
    {
        _f.PeerBoth("ee", "fi");
        await _f.StartAsync("ee", "fi");

        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "pq.example"));

        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, "pq.example") is not null, "fi has the indicator");
        Assert.Equal("hybrid", _f["ee"].Node!.Runtime.Metrics.Peer(_f["fi"].GatewayId).Snapshot().Suite);
    }

    [Fact]
    public async Task Classic_suite_is_negotiated_with_a_classic_only_peer()
    {
        _f.PeerBoth("ee", "fi");
        _f["fi"].Config = _f["fi"].Config with { Node = _f["fi"].Config.Node with { Suite = "classic" } };
        await _f.StartAsync("ee", "fi");

        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "classic.example"));

        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, "classic.example") is not null, "fi has the indicator");
        Assert.Equal("classic", _f["ee"].Node!.Runtime.Metrics.Peer(_f["fi"].GatewayId).Snapshot().Suite);
    }

    [Fact]
    public async Task A_suite_pinned_for_a_peer_is_used_although_both_announce_a_stronger_one_and_the_peer_refuses_weaker_envelopes()
    {
        // ee pins classic towards fi (both announce hybrid); fi pins hybrid for what ee sends it.
        _f.Peer("ee", "fi", suite: "classic");
        _f.Peer("fi", "ee", suite: "hybrid");
        await _f.StartAsync("ee", "fi");
        var crafted = new CraftedEnvelopes(_f, "ee", "fi");

        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "pinned-classic.example"));
        var metrics = _f["ee"].Node!.Runtime.Metrics.Peer(_f["fi"].GatewayId);
        // ee's own forwarder seals in classic; fi refuses it for good (suite-downgrade), so ee counts a rejection.
        await WaitUntilAsync(() => Task.FromResult(Interlocked.Read(ref metrics.EnvelopesRejected) > 0), "fi refused ee's classic envelope");
        var classicEnvelope = crafted.Seal(await crafted.CraftAsync());
        var acks = await crafted.ExchangeAsync([classicEnvelope]);

        Assert.Equal("classic", metrics.Snapshot().Suite);
        var refused = Assert.Single(acks);
        Assert.Equal(AckStatus.Rejected, refused.Status);
        Assert.Equal(RejectReason.SuiteDowngrade, refused.ReasonCode);
        Assert.Null(await _f.GetAsync("fi", IndicatorType.Domain, "pinned-classic.example"));
    }

    [Fact]
    public async Task Downgrade_below_the_minimum_suite_is_refused_and_nothing_is_sent()
    {
        _f.PeerBoth("ee", "fi");
        _f["ee"].Config = _f["ee"].Config with { Node = _f["ee"].Config.Node with { MinimumSuite = "hybrid" } };
        _f["fi"].Config = _f["fi"].Config with { Node = _f["fi"].Config.Node with { Suite = "classic" } };
        await _f.StartAsync("ee", "fi");

        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "downgrade.example"));

        var metrics = _f["ee"].Node!.Runtime.Metrics.Peer(_f["fi"].GatewayId);
        await WaitUntilAsync(() => Task.FromResult(metrics.Snapshot().LastError.Contains("suite-downgrade", StringComparison.Ordinal)), "ee reports the refused downgrade");
        Assert.Null(await _f.GetAsync("fi", IndicatorType.Domain, "downgrade.example"));
        Assert.Equal(0, Interlocked.Read(ref metrics.EnvelopesSent));
    }

    [Fact]
    public void Suite_negotiation_prefers_pinned_then_strongest_common_and_never_goes_below_the_minimum()
    {
        Suite[] both = [Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65, Suite.X25519Aes256GcmEd25519];
        Suite[] classic = [Suite.X25519Aes256GcmEd25519];

        Assert.Equal(Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65, SuiteNegotiation.Choose(both, both, null, Suite.X25519Aes256GcmEd25519).Suite);
        Assert.Equal(Suite.X25519Aes256GcmEd25519, SuiteNegotiation.Choose(both, classic, null, Suite.X25519Aes256GcmEd25519).Suite);
        Assert.Equal(Suite.X25519Aes256GcmEd25519, SuiteNegotiation.Choose(both, both, Suite.X25519Aes256GcmEd25519, Suite.X25519Aes256GcmEd25519).Suite);
        Assert.StartsWith("suite-downgrade", SuiteNegotiation.Choose(both, classic, null, Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65).Error, StringComparison.Ordinal);
        Assert.StartsWith("suite-unavailable", SuiteNegotiation.Choose(classic, both, Suite.X25519Mlkem768Aes256GcmEd25519Mldsa65, Suite.X25519Aes256GcmEd25519).Error, StringComparison.Ordinal);
        Assert.StartsWith("suite-unavailable", SuiteNegotiation.Choose(classic, [], null, Suite.X25519Aes256GcmEd25519).Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Relayed_content_from_an_origin_whose_root_is_not_pinned_is_refused_with_the_reason_recorded()
    {
        _f.Peer("ee", "fi", new OutboundPolicyConfig { TlpCeiling = "GREEN", AllowRelay = true });
        _f.Peer("fi", "ee");
        _f.PeerBoth("fi", "lv", new OutboundPolicyConfig { TlpCeiling = "GREEN" });
        await _f.StartAsync();

        await _f.IngestAsync("ee", Sighting(IndicatorType.Ipv4, "192.0.2.77", Tlp.Green));

        await WaitUntilAsync(async () =>
        {
            await foreach (var entry in _f["lv"].Node!.Runtime.Store.Audit.TailAsync(1000, CancellationToken.None))
            {
                if (entry.Kind == "rejected" && entry.Reason.StartsWith("origin-not-pinned", StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }, "lv records why it refused the relayed bundle");
        Assert.NotNull(await _f.GetAsync("fi", IndicatorType.Ipv4, "192.0.2.77"));
        Assert.Null(await _f.GetAsync("lv", IndicatorType.Ipv4, "192.0.2.77"));
    }

    [Fact]
    public async Task Adding_a_peer_by_reload_does_not_drop_the_other_streams_and_an_invalid_change_is_refused()
    {
        _f.PeerBoth("ee", "fi");
        _f.Peer("lv", "ee");
        await _f.StartAsync();
        var ee = _f["ee"].Node!.Runtime;
        var fiMetrics = ee.Metrics.Peer(_f["fi"].GatewayId);
        await WaitUntilAsync(() => Task.FromResult(fiMetrics.Snapshot().ConnectedSince is not null), "ee is connected to fi");
        var since = fiMetrics.Snapshot().ConnectedSince;

        _f.Peer("ee", "lv");
        _f.WriteConfigs();
        var (applied, _) = ee.Reload();

        Assert.True(applied);
        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "after-reload.example"));
        await WaitUntilAsync(async () => await _f.GetAsync("lv", IndicatorType.Domain, "after-reload.example") is not null, "the new peer lv receives");
        Assert.Equal(since, fiMetrics.Snapshot().ConnectedSince);

        File.WriteAllText(_f["ee"].ConfigPath, File.ReadAllText(_f["ee"].ConfigPath).Replace("\"tlpCeiling\": \"AMBER\"", "\"tlpCeiling\": \"AMBR\"", StringComparison.Ordinal));
        var (refused, messages) = ee.Reload();

        Assert.False(refused);
        Assert.Contains(messages, m => m.Contains("tlpCeiling", StringComparison.Ordinal));
        Assert.Equal(2, ee.Trust.Peers.Count);
        Assert.Equal(since, fiMetrics.Snapshot().ConnectedSince);
    }

    [Fact]
    public async Task Revoked_agent_is_refused_by_its_own_gateway_after_reload_and_other_agents_keep_working()
    {
        await _f.StartAsync("ee");
        using var stolen = _f["ee"].Ca.Issue(SpiffeId.Agent("ee.cybercoop", "sensor-lost"));
        Assert.Equal(ItemOutcome.Accepted, (await IngestWithAsync(stolen, "before-revocation.example")).Items[0].Outcome);

        // As 'certs revoke' does offline: the serial goes into the root-signed bundle (sequence + 1), then a reload.
        _f["ee"].Revoked.Add(stolen.SerialNumber);
        _f["ee"].WriteBundle();
        Assert.True(_f["ee"].Node!.Runtime.Reload().Applied);

        await Assert.ThrowsAnyAsync<Exception>(() => IngestWithAsync(stolen, "after-revocation.example"));
        Assert.Null(await _f.GetAsync("ee", IndicatorType.Domain, "after-revocation.example"));
        Assert.Equal(ItemOutcome.Accepted, (await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "legit-agent.example"))).Items[0].Outcome);
    }

    private async Task<IngestResult> IngestWithAsync(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate, string value)
    {
        using var call = _f.IngestClient("ee", certificate).Submit();
        var batch = new IngestBatch { BatchId = Google.Protobuf.ByteString.CopyFromUtf8(value) };
        batch.Sightings.Add(Sighting(IndicatorType.Domain, value));
        await call.RequestStream.WriteAsync(batch);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        return call.ResponseStream.Current;
    }

    [Fact]
    public async Task Revoked_gateway_certificate_is_refused_by_the_peer_after_its_next_trust_bundle_refresh()
    {
        _f.PeerBoth("ee", "fi");
        _f["fi"].Config = _f["fi"].Config with { Node = _f["fi"].Config.Node with { TrustBundleRefreshSeconds = 1 } };
        await _f.StartAsync();
        using var stolen = _f["ee"].Ca.Issue(SpiffeId.Gateway("ee.cybercoop", _f["ee"].GatewayName));
        var before = await _f.FederationClient("fi", stolen).GetTrustBundleAsync(new GetTrustBundleRequest());
        Assert.NotNull(before);

        // The operator revokes with the root key ('certs revoke --ca-dir'): the bundle is re-signed and the running node reloads.
        _f["ee"].Ca.Save(_f["ee"].RootPath, Path.Combine(_f["ee"].Directory, "root.key"));
        using var output = new StringWriter();
        using var errors = new StringWriter();
        var exit = await CyberCoop.Gateway.Cli.CliInvocation.InvokeAsync(
            CyberCoop.Gateway.Cli.GatewayCommandLine.Build(),
            ["certs", "revoke", "--ca-dir", _f["ee"].Directory, "--serial", stolen.SerialNumber, "--config", _f["ee"].ConfigPath],
            new System.CommandLine.InvocationConfiguration { Output = output, Error = errors });
        Assert.True(exit == 0, errors.ToString());
        Assert.Contains("the running gateway reloaded its config", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(2UL, _f["ee"].Node!.Runtime.Trust.OwnBundle.Sequence);

        // fi refreshes every second: it refuses the certificate within one refresh interval (bounded generously here).
        await WaitUntilAsync(() => Task.FromResult(_f["fi"].Node!.Runtime.Trust.RevokedSerials.Contains(stolen.SerialNumber.ToUpperInvariant())), "fi learns the revocation from ee's trust bundle", TimeSpan.FromSeconds(15));
        var error = await Assert.ThrowsAnyAsync<Exception>(() => _f.FederationClient("fi", stolen).GetTrustBundleAsync(new GetTrustBundleRequest()).ResponseAsync);
        Assert.True(error is Grpc.Core.RpcException or IOException, error.ToString());
    }
}
