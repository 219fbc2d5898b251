using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Cli;
using Google.Protobuf;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// ee's clock is set off by seconds to minutes (its own TimeProvider) against fi, which allows 30 s of clock skew ahead and
/// a 60 s replay window behind. Within those limits envelopes are accepted; beyond them they are refused with a reason that
/// names the clock skew, stay in ee's outbox (retry later), and fi's `status` shows the offset it measured for ee.
/// </summary>
public sealed class ClockSkewWindowTests : IAsyncLifetime
{
    private const int MaxSkewSeconds = 30;
    private const int ReplayWindowSeconds = 60;

    private readonly OffsetTimeProvider _eeClock = new();
    private TestFederation _f = null!;

    public ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi");
        _f.PeerBoth("ee", "fi");
        _f["fi"].EditNode(n => n with { MaxClockSkewSeconds = MaxSkewSeconds });
        _f["fi"].EditNode(n => n with { ReplayWindowSeconds = ReplayWindowSeconds });
        _f["ee"].EditNode(n => n with { Reconnect = new Gateway.Configuration.ReconnectConfig { MinBackoffMilliseconds = 100, MaxBackoffSeconds = 1, DeniedMaxBackoffSeconds = 2 } });
        _f["ee"].Time = _eeClock;
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Theory]
    [InlineData(20)]   // ahead, inside node.maxClockSkewSeconds
    [InlineData(-45)]  // behind, inside node.replayWindowSeconds
    [InlineData(0)]
    public async Task Envelopes_from_a_clock_off_by_less_than_the_limits_are_accepted_and_status_shows_the_offset(int offsetSeconds)
    {
        _eeClock.Offset = TimeSpan.FromSeconds(offsetSeconds);
        await _f.StartAsync();

        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "within.skew.example"));

        var metrics = _f["ee"].Node!.Runtime.Metrics.Peer(_f["fi"].GatewayId);
        try
        {
            await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, "within.skew.example") is not null, "fi accepts the envelope", TimeSpan.FromSeconds(30));
        }
        catch (Exception) when (Fail($"ee's last error towards fi: {metrics.Snapshot().LastError}"))
        {
        }
        var row = await PeerStatusAsync("fi", "ee");
        Assert.True(row.ClockSkewMeasured);
        Assert.InRange(row.ClockSkewSeconds, offsetSeconds - 5, offsetSeconds + 1); // a lower bound: off by the transit time
    }

    [Theory]
    [InlineData(90, "future", "ahead of this node's clock: clock skew beyond the 30s allowed (node.maxClockSkewSeconds)")]
    [InlineData(-100, "stale", "behind this node's clock, outside the 60s replay window (node.replayWindowSeconds): clock skew")]
    public async Task Envelopes_from_a_clock_off_by_more_than_the_limits_are_refused_naming_the_skew_and_arrive_once_it_is_fixed(int offsetSeconds, string code, string reason)
    {
        _eeClock.Offset = TimeSpan.FromSeconds(offsetSeconds);
        await _f.StartAsync();

        await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "beyond.skew.example"));

        var metrics = _f["ee"].Node!.Runtime.Metrics.Peer(_f["fi"].GatewayId);
        await WaitUntilAsync(() => Task.FromResult(metrics.Snapshot().LastError.Contains(reason, StringComparison.Ordinal)),
            $"fi refuses ee's envelope as {code}, naming the skew", TimeSpan.FromSeconds(30));
        Assert.Contains(code + ": sent at ", metrics.Snapshot().LastError, StringComparison.Ordinal);
        Assert.Null(await _f.GetAsync("fi", IndicatorType.Domain, "beyond.skew.example"));
        Assert.True((await _f["ee"].Node!.Runtime.Store.GetOutboxStatsAsync(_f["fi"].GatewayId, CancellationToken.None)).Depth >= 1, "the refused envelope stays queued");

        var row = await PeerStatusAsync("fi", "ee");
        Assert.True(row.ClockSkewMeasured);
        Assert.InRange(row.ClockSkewSeconds, offsetSeconds - 5, offsetSeconds + 1);
        var (_, table) = await StatusAsync("fi", json: false);
        Assert.Contains(offsetSeconds > 0 ? "+1m ahead" : "-1m behind", table, StringComparison.Ordinal);

        _eeClock.Offset = TimeSpan.Zero; // NTP fixed
        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, "beyond.skew.example") is not null, "the envelope arrives once the clock is fixed", TimeSpan.FromSeconds(30));
        Assert.Equal(1u, Assert.Single((await _f.GetAsync("fi", IndicatorType.Domain, "beyond.skew.example"))!.Observations).Count);
    }

    private static bool Fail(string diagnostics)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(diagnostics);
        return false;
    }

    private async Task<PeerStatus> PeerStatusAsync(string code, string peer)
    {
        var (exit, output) = await StatusAsync(code, json: true);
        Assert.True(exit == 0, $"status of {code} exited {exit}: {output}");
        return Assert.Single(JsonParser.Default.Parse<NodeStatus>(output).Peers, p => p.Peer == _f[peer].GatewayId);
    }

    private async Task<(int Exit, string Output)> StatusAsync(string code, bool json)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        string[] args = json ? ["status", "--json", "--config", _f[code].ConfigPath] : ["status", "--config", _f[code].ConfigPath];
        var exit = await CliInvocation.InvokeAsync(GatewayCommandLine.Build(), args,
            new System.CommandLine.InvocationConfiguration { Output = output, Error = error });
        return (exit, exit == 0 ? output.ToString() : $"{output}{error}");
    }
}
