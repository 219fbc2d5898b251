using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Configuration;
using CyberCoop.Gateway.Storage;
using Google.Protobuf;
using Grpc.Core;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>Real gateway processes stopped, killed and restarted: nothing acknowledged is lost, nothing is stored twice.</summary>
public sealed class DurabilityTests : IAsyncLifetime
{
    private TestFederation _f = null!;

    public ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi");
        _f.PeerBoth("ee", "fi", new OutboundPolicyConfig { TlpCeiling = "AMBER" });
        _f.WriteConfigs();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task Indicators_taken_while_the_peer_is_down_all_arrive_exactly_once_when_it_returns()
    {
        await using var ee = await GatewayProcess.StartAsync(_f["ee"].ConfigPath, _f["ee"].Port);

        var sent = await IngestManyAsync("ee", batches: 10, perBatch: 1000, prefix: "down");
        Assert.Equal(10_000, sent.Count);

        await using var fi = await GatewayProcess.StartAsync(_f["fi"].ConfigPath, _f["fi"].Port);
        await WaitForCountAsync("fi", 10_000, TimeSpan.FromSeconds(90), () => ee.Output + fi.Output);
        await AssertExactlyOnceAsync("fi", sent);
        Assert.Equal(0, await ExitAfterTermAsync(ee));
        Assert.Equal(0, await ExitAfterTermAsync(fi));
    }

    [Fact]
    public async Task A_gateway_stopped_with_sigterm_stops_once_and_signs_one_final_audit_checkpoint()
    {
        string output;
        await using (var ee = await GatewayProcess.StartAsync(_f["ee"].ConfigPath, _f["ee"].Port))
        {
            await WaitForAdminAsync("ee");
            Assert.Equal(0, await ee.TerminateAsync());
            output = ee.Output;
        }

        // The host was stopped three times per SIGTERM (its own lifetime, the command line's cancellation, dispose): three
        // final checkpoints, and under load a last maintenance round that met the closed store ("Maintenance round failed").
        var (exit, stdout, stderr) = await ChildProcess.RunToExitAsync("CyberCoop.Gateway.dll", ["audit", "verify", "--config", _f["ee"].ConfigPath], null, CancellationToken.None);
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains(", 1 checkpoints", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("fail:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Origin_killed_mid_stream_and_restarted_loses_nothing_acknowledged_and_duplicates_nothing()
    {
        await using var fi = await GatewayProcess.StartAsync(_f["fi"].ConfigPath, _f["fi"].Port);
        var ee = await GatewayProcess.StartAsync(_f["ee"].ConfigPath, _f["ee"].Port);
        var acknowledged = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            using var call = _f.IngestClient("ee").Submit();
            for (var b = 0; b < 40; b++)
            {
                var batch = Batch("kill", b, 250);
                await call.RequestStream.WriteAsync(batch);
                await call.ResponseStream.MoveNext(CancellationToken.None);
                foreach (var item in call.ResponseStream.Current.Items)
                {
                    acknowledged.Add(item.IndicatorId);
                }

                if (b == 15)
                {
                    await ee.KillAsync(); // SIGKILL while bundles are being cut and streamed
                    break;
                }
            }
        }
        catch (RpcException)
        {
            // The stream died with the process: anything not acknowledged is the agent's to re-send.
        }
        finally
        {
            await ee.DisposeAsync();
        }

        Assert.Equal(16 * 250, acknowledged.Count);
        await using var restarted = await GatewayProcess.StartAsync(_f["ee"].ConfigPath, _f["ee"].Port);
        await WaitForCountAsync("fi", acknowledged.Count, TimeSpan.FromSeconds(90), () => restarted.Output + fi.Output);
        await AssertExactlyOnceAsync("fi", acknowledged);
    }

    private static IngestBatch Batch(string prefix, int b, int perBatch)
    {
        var batch = new IngestBatch { BatchId = ByteString.CopyFromUtf8($"{prefix}-{b}") };
        for (var i = 0; i < perBatch; i++)
        {
            batch.Sightings.Add(Sighting(IndicatorType.Domain, $"{prefix}-{b}-{i}.durable.example"));
        }

        return batch;
    }

    private Task<HashSet<string>> IngestManyAsync(string code, int batches, int perBatch, string prefix) =>
        _f.IngestAcceptedAsync(code, Enumerable.Range(0, batches).Select(b => Batch(prefix, b, perBatch)));

    private Task WaitForCountAsync(string code, int expected, TimeSpan timeout, Func<string> diagnostics) =>
        _f.WaitForStoredCountAsync(code, expected, timeout, diagnostics);

    private async Task AssertExactlyOnceAsync(string code, IReadOnlySet<string> expected)
    {
        await using var store = await GatewayStore.OpenAsync(Path.Combine(_f[code].Directory, "gateway.db"), TimeProvider.System, CancellationToken.None);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var indicator in store.ReadAllIndicatorsAsync(CancellationToken.None))
        {
            Assert.True(seen.Add(indicator.Id), $"{indicator.Id} stored twice");
            var fromOrigin = Assert.Single(indicator.Observations);
            Assert.Equal(1u, fromOrigin.Count);
        }

        Assert.Subset(seen, new HashSet<string>(expected, StringComparer.Ordinal));
        Assert.Equal(expected.Count, seen.Count);
    }

    private static Task<int> ExitAfterTermAsync(ChildProcess process) => process.TerminateAsync();

    // The per-peer counters `status` shows (sent, received, withheld) survive a restart of both gateway processes,
    // read through the real `status --json` CLI (Admin API).
    private const int PeerCountShared = 300;
    private const int PeerCountRed = 7;

    [Fact]
    public async Task Status_shows_the_same_sent_received_and_withheld_counts_per_peer_after_both_gateways_restart()
    {
        PeerStatus eeBefore, fiBefore;
        await using (var fi = await GatewayProcess.StartAsync(_f["fi"].ConfigPath, _f["fi"].Port))
        await using (var ee = await GatewayProcess.StartAsync(_f["ee"].ConfigPath, _f["ee"].Port))
        {
            await WaitForAdminAsync("fi");
            await WaitForAdminAsync("ee");
            await IngestTlpAsync("ee", "count", PeerCountShared, Tlp.Amber);
            await IngestTlpAsync("ee", "red", PeerCountRed, Tlp.Red); // withheld from fi by its AMBER ceiling

            // Every shareable indicator acknowledged by fi, and counted on both sides.
            await WaitUntilAsync(async () =>
            {
                var e = await PeerStatusAsync("ee", "fi");
                var f = await PeerStatusAsync("fi", "ee");
                return e.IndicatorsSent == PeerCountShared && e.IndicatorsWithheld == PeerCountRed && f.IndicatorsReceived == PeerCountShared;
            }, "fi acknowledged every shareable indicator", TimeSpan.FromSeconds(90));
            eeBefore = await PeerStatusAsync("ee", "fi");
            fiBefore = await PeerStatusAsync("fi", "ee");
            Assert.True(eeBefore.EnvelopesSent > 0, eeBefore.ToString());
            Assert.Equal(eeBefore.EnvelopesSent, fiBefore.EnvelopesReceived);
            Assert.Equal(0, await ee.TerminateAsync());
            Assert.Equal(0, await fi.TerminateAsync());
        }

        await using (var fi = await GatewayProcess.StartAsync(_f["fi"].ConfigPath, _f["fi"].Port))
        await using (var ee = await GatewayProcess.StartAsync(_f["ee"].ConfigPath, _f["ee"].Port))
        {
            await WaitForAdminAsync("fi");
            await WaitForAdminAsync("ee");
            var eeAfter = await PeerStatusAsync("ee", "fi");
            var fiAfter = await PeerStatusAsync("fi", "ee");
            Assert.Equal(Counts(eeBefore), Counts(eeAfter));
            Assert.Equal(Counts(fiBefore), Counts(fiAfter));
            Assert.Equal((eeBefore.EnvelopesSent, (ulong)PeerCountShared, 0ul, 0ul, (ulong)PeerCountRed), Counts(eeAfter));
            Assert.Equal((0ul, 0ul, eeBefore.EnvelopesSent, (ulong)PeerCountShared, 0ul), Counts(fiAfter));
        }
    }

    private static (ulong EnvSent, ulong IndSent, ulong EnvReceived, ulong IndReceived, ulong Withheld) Counts(PeerStatus p) =>
        (p.EnvelopesSent, p.IndicatorsSent, p.EnvelopesReceived, p.IndicatorsReceived, p.IndicatorsWithheld);

    private async Task IngestTlpAsync(string code, string prefix, int count, Tlp tlp)
    {
        var batch = new IngestBatch { BatchId = ByteString.CopyFromUtf8(prefix) };
        for (var i = 0; i < count; i++)
        {
            batch.Sightings.Add(Sighting(IndicatorType.Domain, $"{prefix}-{i}.peercount.example", tlp));
        }

        using var call = _f.IngestClient(code).Submit();
        await call.RequestStream.WriteAsync(batch);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.All(call.ResponseStream.Current.Items, item => Assert.Equal(ItemOutcome.Accepted, item.Outcome));
        await call.RequestStream.CompleteAsync();
    }

    /// <summary>The row of <paramref name="peer"/> in `status --json --config` of <paramref name="code"/> (the real CLI).</summary>
    private async Task<PeerStatus> PeerStatusAsync(string code, string peer)
    {
        var (exit, output) = await StatusAsync(code);
        Assert.True(exit == 0, $"status of {code} exited {exit}: {output}");
        var status = JsonParser.Default.Parse<NodeStatus>(output);
        return Assert.Single(status.Peers, p => p.Peer == _f[peer].GatewayId);
    }

    /// <summary>
    /// Waits until the node answers on its admin socket: a started process listens on its gateway port a moment
    /// before its admin socket exists.
    /// </summary>
    private Task WaitForAdminAsync(string code) =>
        WaitUntilAsync(async () => (await StatusAsync(code)).Exit == 0, $"{code} answers status", TimeSpan.FromSeconds(30));

    private async Task<(int Exit, string Output)> StatusAsync(string code)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CliInvocation.InvokeAsync(GatewayCommandLine.Build(), ["status", "--json", "--config", _f[code].ConfigPath],
            new System.CommandLine.InvocationConfiguration { Output = output, Error = error });
        return (exit, exit == 0 ? output.ToString() : $"{output}{error}");
    }
}

/// <summary>Rejections that are not about the content (clock skew) keep the envelope for a later re-send.</summary>
public sealed class ClockSkewTests : IAsyncLifetime
{
    private TestFederation _f = null!;
    private readonly OffsetTimeProvider _eeClock = new() { Offset = TimeSpan.FromMinutes(10) };

    public async ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi");
        _f.PeerBoth("ee", "fi");
        _f["ee"].Time = _eeClock;
        await _f.StartAsync();
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task Envelope_refused_for_clock_skew_stays_in_the_outbox_and_arrives_once_the_clock_is_fixed()
    {
        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "skewed.example"));

        var metrics = _f["ee"].Node!.Runtime.Metrics.Peer(_f["fi"].GatewayId);
        await WaitUntilAsync(() => Task.FromResult(metrics.Snapshot().LastError.Contains("future", StringComparison.Ordinal)), "fi refuses ee's envelopes as from the future");
        Assert.Null(await _f.GetAsync("fi", IndicatorType.Domain, "skewed.example"));
        Assert.True((await _f["ee"].Node!.Runtime.Store.GetOutboxStatsAsync(_f["fi"].GatewayId, CancellationToken.None)).Depth >= 1);

        _eeClock.Offset = TimeSpan.Zero;

        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, "skewed.example") is not null, "the envelope arrives after the clock is fixed", TimeSpan.FromSeconds(30));
    }
}
