using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using CyberCoop.Contracts.V1;
using CyberCoop.Crypto;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Google.Protobuf;
using Grpc.Core;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>Revocations and removed peers end streams that are already open, not only the next handshake.</summary>
public sealed class LiveRevocationTests : IAsyncLifetime
{
    // "Promptly": measured at 150-250 ms including the bundle write or CLI edit and the reload; the bound leaves room for a loaded CI host.
    private static readonly TimeSpan s_prompt = TimeSpan.FromSeconds(5);
    private TestFederation _f = null!;

    public ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi", "lv");
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task Open_agent_stream_is_cut_with_permission_denied_when_its_certificate_is_revoked_and_acknowledged_batches_stay()
    {
        await _f.StartAsync("ee");
        var node = _f["ee"].Node!;
        using var lost = _f["ee"].Ca.Issue(SpiffeId.Agent("ee.cybercoop", "sensor-lost"));
        var client = _f.IngestClient("ee", lost);
        using var call = client.Submit();
        await call.RequestStream.WriteAsync(Batch("acked-before-revocation.example"));
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(ItemOutcome.Accepted, call.ResponseStream.Current.Items[0].Outcome);
        Assert.Equal(1, node.Streams.StreamsOf("spiffe://ee.cybercoop/agent/sensor-lost"));
        var deniedBefore = node.Runtime.Metrics.CallsDenied;

        var clock = Stopwatch.StartNew();
        Revoke("ee", lost.SerialNumber);
        var error = await Assert.ThrowsAsync<RpcException>(() => NextResponseAsync(call));
        clock.Stop();
        TestContext.Current.TestOutputHelper?.WriteLine($"stream cut {clock.Elapsed.TotalMilliseconds:F0} ms after the revocation/removal started");

        Assert.True(error.StatusCode == StatusCode.PermissionDenied, error.ToString());
        Assert.Contains("certificate revoked", error.Status.Detail, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < s_prompt, $"the stream ended {clock.Elapsed.TotalMilliseconds:F0} ms after the revocation");
        Assert.NotNull(await _f.GetAsync("ee", IndicatorType.Domain, "acked-before-revocation.example"));
        Assert.Equal(0, node.Streams.StreamsOf("spiffe://ee.cybercoop/agent/sensor-lost"));
        Assert.True(node.Runtime.Metrics.CallsDenied > deniedBefore);
        await AssertAuditedCutAsync("ee", "spiffe://ee.cybercoop/agent/sensor-lost", "/cybercoop.v1.Ingest/Submit", "certificate revoked");

        // The same channel (its connection was told to go away) and a fresh connection are both refused.
        await Assert.ThrowsAnyAsync<Exception>(() => IngestOnceAsync(client, "same-channel-after-revocation.example"));
        await Assert.ThrowsAnyAsync<Exception>(() => IngestOnceAsync(_f.IngestClient("ee", lost), "reconnect-after-revocation.example"));
        Assert.Null(await _f.GetAsync("ee", IndicatorType.Domain, "same-channel-after-revocation.example"));
        Assert.Null(await _f.GetAsync("ee", IndicatorType.Domain, "reconnect-after-revocation.example"));
        Assert.Equal(ItemOutcome.Accepted, (await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "other-agent-still-works.example"))).Items[0].Outcome);
    }

    [Fact]
    public async Task Batch_sent_after_the_revocation_on_the_open_stream_is_neither_stored_nor_acknowledged()
    {
        await _f.StartAsync("ee");
        using var lost = _f["ee"].Ca.Issue(SpiffeId.Agent("ee.cybercoop", "sensor-lost"));
        using var call = _f.IngestClient("ee", lost).Submit();
        await call.RequestStream.WriteAsync(Batch("first.example"));
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));

        Revoke("ee", lost.SerialNumber);
        try
        {
            await call.RequestStream.WriteAsync(Batch("after-revocation.example"));
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException or IOException or OperationCanceledException)
        {
            // The server may already have ended the call.
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => NextResponseAsync(call));

        Assert.True(error.StatusCode == StatusCode.PermissionDenied, error.ToString());
        Assert.NotNull(await _f.GetAsync("ee", IndicatorType.Domain, "first.example"));
        Assert.Null(await _f.GetAsync("ee", IndicatorType.Domain, "after-revocation.example"));
    }

    [Fact]
    public async Task New_stream_on_the_same_http2_connection_is_refused_after_revocation_even_if_the_connection_stays_open()
    {
        await _f.StartAsync("ee");
        var node = _f["ee"].Node!;
        // Exercise the per-call check alone: keep the revoked caller's connection open.
        node.Streams.CloseConnections = false;
        using var lost = _f["ee"].Ca.Issue(SpiffeId.Agent("ee.cybercoop", "sensor-lost"));
        var client = _f.IngestClient("ee", lost);
        using var open = client.Submit();
        await open.RequestStream.WriteAsync(Batch("before.example"));
        Assert.True(await open.ResponseStream.MoveNext(CancellationToken.None));
        var connections = node.Streams.ConnectionCount;

        Revoke("ee", lost.SerialNumber);
        await Assert.ThrowsAsync<RpcException>(() => NextResponseAsync(open));
        var error = await Assert.ThrowsAsync<RpcException>(() => IngestOnceAsync(client, "same-connection.example"));

        // A status from the handler (not a failed handshake) proves the call travelled on the old connection.
        Assert.True(error.StatusCode == StatusCode.PermissionDenied, error.ToString());
        Assert.Contains("revoked", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(connections, node.Streams.ConnectionCount);
        Assert.Null(await _f.GetAsync("ee", IndicatorType.Domain, "same-connection.example"));
    }

    [Fact]
    public async Task New_stream_on_the_same_http2_connection_is_refused_once_the_certificate_expired_although_its_chain_was_validated_on_that_connection()
    {
        await _f.StartAsync("ee");
        var node = _f["ee"].Node!;
        node.Streams.CloseConnections = false;
        using var shortLived = _f["ee"].Ca.Issue(SpiffeId.Agent("ee.cybercoop", "sensor-brief"), TimeSpan.FromSeconds(3));
        var client = _f.IngestClient("ee", shortLived);
        await IngestOnceAsync(client, "before-expiry.example");
        var connections = node.Streams.ConnectionCount;
        await WaitUntilAsync(() => Task.FromResult(DateTime.UtcNow > shortLived.NotAfter.ToUniversalTime().AddMilliseconds(500)), "the certificate expired", TimeSpan.FromSeconds(10));

        var error = await Assert.ThrowsAsync<RpcException>(() => IngestOnceAsync(client, "after-expiry.example"));

        // The chain remembered for this connection is not reused past the leaf's notAfter.
        Assert.True(error.StatusCode == StatusCode.PermissionDenied, error.ToString());
        Assert.Contains("expired", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(connections, node.Streams.ConnectionCount);
        Assert.Null(await _f.GetAsync("ee", IndicatorType.Domain, "after-expiry.example"));
    }

    [Fact]
    public async Task Streams_opened_one_after_another_on_one_connection_share_one_chain_validation()
    {
        await _f.StartAsync("ee");
        var authorization = _f["ee"].Node!.Services.GetRequiredService<CallerAuthorization>();
        using var sensor = _f["ee"].Ca.Issue(SpiffeId.Agent("ee.cybercoop", "sensor-busy"));
        var client = _f.IngestClient("ee", sensor);
        await IngestOnceAsync(client, "first-stream.example");
        var built = authorization.ChainsBuilt;

        for (var i = 0; i < 10; i++)
        {
            await IngestOnceAsync(client, $"stream-{i}.example");
        }

        // Rebuilt at most when the reuse period passes (10 s; a loaded host may stretch ten calls past it), never per stream.
        Assert.InRange(authorization.ChainsBuilt - built, 0, 3);
        Assert.NotNull(await _f.GetAsync("ee", IndicatorType.Domain, "stream-9.example"));
    }

    [Fact]
    public async Task Open_agent_stream_is_cut_when_its_certificate_expires_while_it_streams()
    {
        await _f.StartAsync("ee");
        var node = _f["ee"].Node!;
        using var shortLived = _f["ee"].Ca.Issue(SpiffeId.Agent("ee.cybercoop", "sensor-brief"), TimeSpan.FromSeconds(3));
        using var call = _f.IngestClient("ee", shortLived).Submit();
        await call.RequestStream.WriteAsync(Batch("before-expiry.example"));
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        await WaitUntilAsync(() => Task.FromResult(DateTime.UtcNow > shortLived.NotAfter.ToUniversalTime().AddMilliseconds(500)), "the certificate expired", TimeSpan.FromSeconds(10));

        // The periodic sweep (every 30 s), run now.
        node.Streams.SweepExpired();
        var error = await Assert.ThrowsAsync<RpcException>(() => NextResponseAsync(call));

        Assert.True(error.StatusCode == StatusCode.PermissionDenied, error.ToString());
        Assert.Contains("certificate expired", error.Status.Detail, StringComparison.Ordinal);
        Assert.NotNull(await _f.GetAsync("ee", IndicatorType.Domain, "before-expiry.example"));
    }

    [Fact]
    public async Task Revoked_callers_connection_is_closed_by_the_gateway()
    {
        await _f.StartAsync("ee");
        var node = _f["ee"].Node!;
        using var lost = _f["ee"].Ca.Issue(SpiffeId.Agent("ee.cybercoop", "sensor-lost"));
        var client = _f.IngestClient("ee", lost);
        await IngestOnceAsync(client, "connected.example");
        await WaitUntilAsync(() => Task.FromResult(node.Streams.ConnectionCount == 1), "the agent's connection is tracked");

        Revoke("ee", lost.SerialNumber);

        // No stream was open: the idle connection itself is closed.
        await WaitUntilAsync(() => Task.FromResult(node.Streams.ConnectionCount == 0), "the revoked agent's connection is closed", s_prompt);
        Assert.Equal(1, node.Streams.ConnectionsClosed);
    }

    [Fact]
    public async Task Peer_removed_with_peers_remove_loses_its_open_exchange_stream_and_the_other_peers_keep_theirs()
    {
        _f.PeerBoth("ee", "fi");
        _f.PeerBoth("ee", "lv");
        await _f.StartAsync();
        var ee = _f["ee"].Node!;
        var fiAtEe = _f["fi"].GatewayId;
        var lvAtEe = _f["lv"].GatewayId;
        await WaitUntilAsync(() => Task.FromResult(ee.Streams.StreamsOf(fiAtEe) == 1 && ee.Streams.StreamsOf(lvAtEe) == 1), "fi and lv stream to ee");
        await WaitUntilAsync(() => Task.FromResult(ee.Runtime.Metrics.Peer(lvAtEe).Snapshot().ConnectedSince is not null
            && _f["lv"].Node!.Runtime.Metrics.Peer(_f["ee"].GatewayId).Snapshot().ConnectedSince is not null), "ee and lv stream to each other");
        var lvSince = _f["lv"].Node!.Runtime.Metrics.Peer(_f["ee"].GatewayId).Snapshot().ConnectedSince;
        var eeToLvSince = ee.Runtime.Metrics.Peer(lvAtEe).Snapshot().ConnectedSince;

        var clock = Stopwatch.StartNew();
        await RunCliAsync("peers", "remove", "--config", _f["ee"].ConfigPath, fiAtEe);
        await WaitUntilAsync(() => Task.FromResult(ee.Streams.StreamsOf(fiAtEe) == 0), "fi's stream at ee is cut", s_prompt);
        clock.Stop();
        TestContext.Current.TestOutputHelper?.WriteLine($"stream cut {clock.Elapsed.TotalMilliseconds:F0} ms after the revocation/removal started");

        await AssertAuditedCutAsync("ee", fiAtEe, "/cybercoop.v1.Federation/Exchange", "peer removed");
        var fiMetrics = _f["fi"].Node!.Runtime.Metrics.Peer(_f["ee"].GatewayId);
        await WaitUntilAsync(() => Task.FromResult(fiMetrics.Snapshot().LastError.Contains("PermissionDenied", StringComparison.Ordinal)), "fi sees PermissionDenied");
        Assert.Equal(1, ee.Streams.StreamsOf(lvAtEe));
        Assert.Equal(lvSince, _f["lv"].Node!.Runtime.Metrics.Peer(_f["ee"].GatewayId).Snapshot().ConnectedSince);
        Assert.Equal(eeToLvSince, ee.Runtime.Metrics.Peer(lvAtEe).Snapshot().ConnectedSince);
        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "after-removal.example"));
        await WaitUntilAsync(async () => await _f.GetAsync("lv", IndicatorType.Domain, "after-removal.example") is not null, "lv still receives");
        Assert.Null(await _f.GetAsync("fi", IndicatorType.Domain, "after-removal.example"));
    }

    [Fact]
    public async Task Peer_gateway_whose_certificate_its_domain_revokes_loses_its_streams_after_the_next_bundle_refresh()
    {
        _f.PeerBoth("ee", "fi");
        _f["fi"].Config = _f["fi"].Config with { Node = _f["fi"].Config.Node with { TrustBundleRefreshSeconds = 1 } };
        await _f.StartAsync("ee", "fi");
        var fi = _f["fi"].Node!;
        var eeId = _f["ee"].GatewayId;
        using var stolen = _f["ee"].Ca.Issue(SpiffeId.Gateway("ee.cybercoop", _f["ee"].GatewayName));
        using var rogue = _f.FederationClient("fi", stolen).Exchange();
        await rogue.RequestStream.WriteAsync(new ExchangeRequest { Hello = new ExchangeHello { Sender = eeId } });
        await WaitUntilAsync(() => Task.FromResult(fi.Streams.StreamsOf(eeId) == 2), "the real and the stolen ee certificate both stream to fi");

        Revoke("ee", stolen.SerialNumber);
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await rogue.ResponseStream.MoveNext(timeout.Token);
        });

        Assert.True(error.StatusCode == StatusCode.PermissionDenied, error.ToString());
        Assert.Contains("certificate revoked", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(1, fi.Streams.StreamsOf(eeId));
        await AssertAuditedCutAsync("fi", eeId, "/cybercoop.v1.Federation/Exchange", "certificate revoked");
        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "legit-gateway-still-delivers.example"));
        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, "legit-gateway-still-delivers.example") is not null, "the real ee gateway still delivers");
    }

    [Fact]
    public async Task Streams_made_with_a_gateway_certificate_its_domain_replaces_and_revokes_are_cut_at_the_peer_and_reconnect_with_the_new_one()
    {
        _f.PeerBoth("ee", "fi");
        _f["fi"].Config = _f["fi"].Config with { Node = _f["fi"].Config.Node with { TrustBundleRefreshSeconds = 1 } };
        await _f.StartAsync("ee", "fi");
        var fi = _f["fi"].Node!;
        var ee = _f["ee"].Node!;
        var toEe = fi.Runtime.Metrics.Peer(_f["ee"].GatewayId);
        await WaitUntilAsync(() => Task.FromResult(toEe.Snapshot().ConnectedSince is not null && fi.Streams.StreamsOf(_f["ee"].GatewayId) == 1), "ee and fi stream to each other");
        var exposed = ee.Runtime.Identity.Certificate.SerialNumber;

        // ee's gateway key was exposed: its operator issues a new certificate and revokes the old serial.
        using (var renewed = _f["ee"].Ca.Issue(SpiffeId.Gateway("ee.cybercoop", _f["ee"].GatewayName)))
        {
            PemFiles.WriteCertificate(Path.Combine(_f["ee"].Directory, "gateway.crt"), renewed);
            PemFiles.WritePrivateKey(Path.Combine(_f["ee"].Directory, "gateway.key"), renewed);
        }

        Revoke("ee", exposed);

        // fi learns the revocation at its next refresh: its stream to ee (ee's server presented the old certificate) and
        // ee's stream to fi (ee's client certificate was the old one) are both cut, then both reconnect with the new one.
        await AssertAuditedCutAsync("fi", _f["ee"].GatewayId, "outbound-exchange", "peer certificate revoked");
        await AssertAuditedCutAsync("fi", _f["ee"].GatewayId, "/cybercoop.v1.Federation/Exchange", "certificate revoked");
        await _f.IngestAsync("fi", Sighting(IndicatorType.Domain, "fi-to-ee-after-renewal.example"));
        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "ee-to-fi-after-renewal.example"));
        await WaitUntilAsync(async () => await _f.GetAsync("ee", IndicatorType.Domain, "fi-to-ee-after-renewal.example") is not null, "fi delivers to ee again");
        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, "ee-to-fi-after-renewal.example") is not null, "ee delivers to fi again");
    }

    /// <summary>As 'certs revoke' does: the serial goes into the domain's root-signed bundle (sequence + 1), then the node reloads.</summary>
    private void Revoke(string code, string serial)
    {
        _f[code].Revoked.Add(serial);
        _f[code].WriteBundle();
        Assert.True(_f[code].Node!.Runtime.Reload().Applied);
    }

    private static IngestBatch Batch(string value)
    {
        var batch = new IngestBatch { BatchId = ByteString.CopyFromUtf8(value) };
        batch.Sightings.Add(Sighting(IndicatorType.Domain, value));
        return batch;
    }

    private static async Task<bool> NextResponseAsync<T>(AsyncDuplexStreamingCall<T, IngestResult> call)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await call.ResponseStream.MoveNext(timeout.Token);
    }

    private static async Task IngestOnceAsync(Ingest.IngestClient client, string value)
    {
        using var call = client.Submit(deadline: DateTime.UtcNow.AddSeconds(10));
        await call.RequestStream.WriteAsync(Batch(value));
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
    }

    private static async Task RunCliAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CliInvocation.InvokeAsync(GatewayCommandLine.Build(), args, new System.CommandLine.InvocationConfiguration { Output = output, Error = error });
        Assert.True(exit == 0, $"{string.Join(' ', args)} exited {exit}: {output}{error}");
    }

    private async Task AssertAuditedCutAsync(string code, string actor, string subject, string reason)
    {
        await WaitUntilAsync(async () =>
        {
            await foreach (var entry in _f[code].Node!.Runtime.Store.Audit.TailAsync(1000, CancellationToken.None))
            {
                if (entry.Kind == "denied" && entry.Decision == "stream-cut" && entry.Actor == actor && entry.Subject == subject && entry.Reason.Contains(reason, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }, $"the cut of {actor}'s {subject} is audited at {code}");
    }
}
