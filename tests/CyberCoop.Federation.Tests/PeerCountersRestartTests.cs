using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Cli;
using CyberCoop.Gateway.Configuration;
using Google.Protobuf;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// The per-peer counters `status` shows (envelopes and indicators sent, received, withheld) survive a restart of both
/// gateways: two real gateway processes on loopback with mTLS, read through the real `status --json` CLI (Admin API).
/// </summary>
public sealed class PeerCountersRestartTests : IAsyncLifetime
{
    private const int Shared = 300;
    private const int Red = 7;
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
    public async Task Status_shows_the_same_sent_received_and_withheld_counts_per_peer_after_both_gateways_restart()
    {
        PeerStatus eeBefore, fiBefore;
        await using (var fi = await GatewayProcess.StartAsync(_f["fi"].ConfigPath, _f["fi"].Port))
        await using (var ee = await GatewayProcess.StartAsync(_f["ee"].ConfigPath, _f["ee"].Port))
        {
            await IngestAsync("ee", "count", Shared, Tlp.Amber);
            await IngestAsync("ee", "red", Red, Tlp.Red); // withheld from fi by its AMBER ceiling

            // Every shareable indicator acknowledged by fi, and counted on both sides.
            await WaitUntilAsync(async () =>
            {
                var e = await PeerStatusAsync("ee", "fi");
                var f = await PeerStatusAsync("fi", "ee");
                return e.IndicatorsSent == Shared && e.IndicatorsWithheld == Red && f.IndicatorsReceived == Shared;
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
            var eeAfter = await PeerStatusAsync("ee", "fi");
            var fiAfter = await PeerStatusAsync("fi", "ee");
            Assert.Equal(Counts(eeBefore), Counts(eeAfter));
            Assert.Equal(Counts(fiBefore), Counts(fiAfter));
            Assert.Equal((eeBefore.EnvelopesSent, (ulong)Shared, 0ul, 0ul, (ulong)Red), Counts(eeAfter));
            Assert.Equal((0ul, 0ul, eeBefore.EnvelopesSent, (ulong)Shared, 0ul), Counts(fiAfter));
        }
    }

    private static (ulong EnvSent, ulong IndSent, ulong EnvReceived, ulong IndReceived, ulong Withheld) Counts(PeerStatus p) =>
        (p.EnvelopesSent, p.IndicatorsSent, p.EnvelopesReceived, p.IndicatorsReceived, p.IndicatorsWithheld);

    private async Task IngestAsync(string code, string prefix, int count, Tlp tlp)
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
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await CliInvocation.InvokeAsync(GatewayCommandLine.Build(), ["status", "--json", "--config", _f[code].ConfigPath],
            new System.CommandLine.InvocationConfiguration { Output = output, Error = error });
        Assert.True(exit == 0, $"status of {code} exited {exit}: {output}{error}");
        var status = JsonParser.Default.Parse<NodeStatus>(output.ToString());
        return Assert.Single(status.Peers, p => p.Peer == _f[peer].GatewayId);
    }
}
