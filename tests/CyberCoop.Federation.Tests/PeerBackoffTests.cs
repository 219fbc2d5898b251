using System.Diagnostics;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Configuration;
using static CyberCoop.Federation.Tests.TestFederation;

namespace CyberCoop.Federation.Tests;

/// <summary>
/// A gateway refused by its peer (not pinned there yet, or removed) backs off exponentially with jitter instead of
/// retrying every 200 ms, and starts again from the shortest delay once the peer accepted it.
/// </summary>
public sealed class PeerBackoffTests : IAsyncLifetime
{
    private TestFederation _f = null!;

    public async ValueTask InitializeAsync()
    {
        _f = TestFederation.Create("ee", "fi");
        // ee dials fi; fi does not know ee yet.
        _f.Peer("ee", "fi");
        _f["ee"].EditNode(n => n with { Reconnect = new ReconnectConfig { MinBackoffMilliseconds = 200, MaxBackoffSeconds = 1, DeniedMaxBackoffSeconds = 120 } });
        await _f.StartAsync("fi");
        await _f.StartAsync("ee");
    }

    public async ValueTask DisposeAsync() => await _f.DisposeAsync();

    [Fact]
    public async Task A_gateway_its_peer_does_not_pin_makes_a_bounded_number_of_attempts_and_starts_over_after_it_was_accepted()
    {
        var fi = _f["fi"].Node!;
        await WaitUntilAsync(() => Task.FromResult(fi.Runtime.Metrics.CallsDenied >= 1), "fi refuses ee's first exchange");
        var window = Stopwatch.StartNew();
        var before = fi.Runtime.Metrics.CallsDenied;

        // The measurement window itself is time: attempts are counted over 8 s (every 200 ms would be about 40).
        await Task.Delay(TimeSpan.FromSeconds(8), TestContext.Current.CancellationToken);
        var attempts = fi.Runtime.Metrics.CallsDenied - before;
        window.Stop();
        TestContext.Current.TestOutputHelper?.WriteLine($"{attempts} refused attempts in {window.Elapsed.TotalSeconds:F1} s");

        // Delays are at least half of 200 ms * 2^n: 0.1 + 0.2 + 0.4 + 0.8 + 1.6 + 3.2 s leave room for at most 7 attempts in 8 s.
        Assert.InRange(attempts, 1, 7);
        var grown = _f["ee"].Node!.Runtime.Metrics.Peer(_f["fi"].GatewayId).Backoff;
        Assert.True(grown.Attempt >= 2, $"attempt {grown.Attempt}");
        Assert.True(grown.Delay >= TimeSpan.FromMilliseconds(100 << grown.Attempt), $"attempt {grown.Attempt} waited {grown.Delay}");
        await WaitUntilAsync(async () =>
        {
            await foreach (var entry in fi.Runtime.Store.Audit.TailAsync(1000, CancellationToken.None))
            {
                if (entry is { Kind: "denied", Subject: "/cybercoop.v1.Federation/Exchange" })
                {
                    return true;
                }
            }

            return false;
        }, "fi audits the refused exchange");

        // fi now pins ee: ee gets through at its next attempt (the step is at most 25.6 s by now) and delivers.
        _f.Peer("fi", "ee");
        _f.WriteConfigs();
        Assert.True(fi.Runtime.Reload().Applied);
        var accepted = await _f.IngestAsync("ee", Sighting(IndicatorType.Domain, "after-pinning.example"));
        Assert.Equal(ItemOutcome.Accepted, Assert.Single(accepted.Items).Outcome);
        await WaitUntilAsync(async () => await _f.GetAsync("fi", IndicatorType.Domain, "after-pinning.example") is not null,
            "ee delivers to fi once pinned", TimeSpan.FromSeconds(90));

        // Accepted: the backoff starts over. fi removes ee again, and ee's next refusals come quickly (from the first step, not after minutes).
        _f["fi"].Config = _f["fi"].Config with { Peers = [] };
        _f.WriteConfigs();
        var metrics = _f["ee"].Node!.Runtime.Metrics.Peer(_f["fi"].GatewayId);
        var lastRetry = metrics.Backoff;
        Assert.True(lastRetry.Attempt >= 2, $"ee reached attempt {lastRetry.Attempt} before fi pinned it");
        Assert.True(fi.Runtime.Reload().Applied);

        // The retries after the cut count from 0 again (without the reset they would go on from the attempt above).
        await WaitUntilAsync(() => Task.FromResult(metrics.Backoff.Retries > lastRetry.Retries), "ee retries after the cut", TimeSpan.FromSeconds(30));
        var afterCut = metrics.Backoff;
        // Without the reset it would go on from the last attempt before pinning, plus one.
        Assert.True(afterCut.Attempt <= 1, $"attempt {afterCut.Attempt} after the cut (the last before pinning was {lastRetry.Attempt})");
        Assert.InRange(afterCut.Delay, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100 << (afterCut.Attempt + 1)));
    }
}
