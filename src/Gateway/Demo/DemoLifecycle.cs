using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Lifecycle;
using CyberCoop.Gateway.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace CyberCoop.Gateway.Demo;

/// <summary>What the lifecycle step of the demo showed.</summary>
internal sealed record DemoLifecycleSummary
{
    /// <summary>The false positive ("ipv4 203.0.113.199").</summary>
    public required string Indicator { get; init; }

    /// <summary>Nation that published and withdrew it.</summary>
    public required string Origin { get; init; }

    /// <summary>Where the withdrawal was recorded and how it came ("FI from EE", "LV from FI (relay)").</summary>
    public required IReadOnlyList<string> WithdrawnAt { get; init; }

    /// <summary>Sightings reported back to the origin, per reporting nation ("FI: 4 sightings", "LV: 1 sightings (relayed back by FI)").</summary>
    public required IReadOnlyList<string> SightingsBack { get; init; }
}

/// <summary>
/// The demo's intelligence-lifecycle step, after the replay: Estonia publishes a GREEN address that turns out to be a CDN
/// (a false positive), Finland relays it to Latvia; Finland's and Latvia's sensors see it. Finland reports the count back
/// to Estonia (its sightingsBack policy towards Estonia is "counts"); Latvia, which is not Estonia's peer, reports to
/// Finland (its policy towards Finland is "counts"), and Finland forwards Latvia's signed report to Estonia. Then Estonia
/// withdraws it, and the signed withdrawal reaches Finland directly and Latvia through Finland's relay. Everything is
/// read back from the nodes' databases.
/// </summary>
internal static class DemoLifecycle
{
    /// <summary>The false positive.</summary>
    public static readonly DemoDetection FalsePositive = new(IndicatorType.Ipv4, "203.0.113.199", Tlp.Green, 60, "suricata-edge", "ET INFO CDN edge address (false positive)");

    /// <summary>Sightings each nation's agents send in this step (EE publishes, FI and LV see it), for the ingest count check.</summary>
    public static readonly IReadOnlyDictionary<int, int> SightingsSent = new Dictionary<int, int> { [0] = 1, [1] = 1, [2] = 1 };

    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs the step; problems found are added to <paramref name="problems"/>.</summary>
    public static async Task<DemoLifecycleSummary> RunAsync(DemoFederation federation, TimeProvider time, Action<string, string> report, List<string> problems, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(federation);
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(problems);
        var (ee, fi, lv) = (federation.Nodes[0], federation.Nodes[1], federation.Nodes[2]);
        var layout = federation.Layout;
        var id = IndicatorIds.Compute(FalsePositive.Type, FalsePositive.Value);
        var summary = new DemoLifecycleSummary { Indicator = "ipv4 " + FalsePositive.Value, Origin = federation.Code(0), WithdrawnAt = [], SightingsBack = [] };

        await using (var agent = DemoAgent.Connect(layout.Nodes[0], layout.Nodes[0].Agents[0], time))
        {
            await agent.SendAsync([FalsePositive], ct).ConfigureAwait(false);
        }

        report(federation.Code(0), $"agent reports {FalsePositive.Value} (GREEN); Finland relays it to Latvia");
        if (!await WaitAsync(async () => await lv.Services.GetRequiredService<IIndicatorStore>().GetIndicatorAsync(id, ct).ConfigureAwait(false) is not null, time, ct).ConfigureAwait(false))
        {
            problems.Add($"lifecycle: {FalsePositive.Value} did not reach LV by relay");
            return summary;
        }

        await using (var agent = DemoAgent.Connect(layout.Nodes[1], layout.Nodes[1].Agents[0], time))
        {
            await agent.SendAsync([FalsePositive with { Sensor = "zeek-core" }], ct).ConfigureAwait(false);
        }

        await using (var agent = DemoAgent.Connect(layout.Nodes[2], layout.Nodes[2].Agents[0], time))
        {
            await agent.SendAsync([FalsePositive with { Sensor = "suricata-riga" }], ct).ConfigureAwait(false);
        }

        await fi.Services.GetRequiredService<SightingsReporter>().ReportOnceAsync(ct).ConfigureAwait(false);
        report(federation.Code(1), "sensors saw Estonia's indicator; sighting count reported back to Estonia (no sensor, no host)");
        await lv.Services.GetRequiredService<SightingsReporter>().ReportOnceAsync(ct).ConfigureAwait(false);
        report(federation.Code(2), "sensors saw it too (relayed by Finland); Latvia's signed count goes to Finland, which forwards it to Estonia");
        if (!await WaitAsync(async () => (await ee.Services.GetRequiredService<ISightingsStore>().ReadReceivedSightingsAsync(id, ct).ConfigureAwait(false)).Count == 2, time, ct).ConfigureAwait(false))
        {
            var reporters = (await ee.Services.GetRequiredService<ISightingsStore>().ReadReceivedSightingsAsync(id, ct).ConfigureAwait(false)).Select(s => DemoAuditFeed.Codes(s.Reporter)).ToList();
            problems.Add($"lifecycle: sighting reports of FI (direct) and LV (relayed back by FI) should reach EE; it got {(reporters.Count == 0 ? "none" : string.Join(", ", reporters))}");
        }

        var sightings = await ee.Services.GetRequiredService<ISightingsStore>().ReadReceivedSightingsAsync(id, ct).ConfigureAwait(false);
        summary = summary with
        {
            SightingsBack = [.. sightings.Select(s => $"{DemoAuditFeed.Codes(s.Reporter)}: {s.Count} sightings" +
                (ee.Services.GetRequiredService<ITrustSnapshot>().Current.Peers.ContainsKey(s.Reporter) ? "" : $" (relayed back by {federation.Code(1)})"))],
        };

        await ee.Services.GetRequiredService<WithdrawalService>().WithdrawAsync(id, "CDN edge address, false positive", "admin-socket", ct).ConfigureAwait(false);
        report(federation.Code(0), $"withdraws {FalsePositive.Value}: signed withdrawal to every peer that received it");
        var reached = await WaitAsync(async () =>
            (await fi.Services.GetRequiredService<ILifecycleStore>().ReadWithdrawalsAsync(id, ct).ConfigureAwait(false)).Count == 1
            && (await lv.Services.GetRequiredService<ILifecycleStore>().ReadWithdrawalsAsync(id, ct).ConfigureAwait(false)).Count == 1, time, ct).ConfigureAwait(false);
        var withdrawnAt = new List<string>();
        foreach (var (node, index) in new[] { (fi, 1), (lv, 2) })
        {
            foreach (var w in await node.Services.GetRequiredService<ILifecycleStore>().ReadWithdrawalsAsync(id, ct).ConfigureAwait(false))
            {
                var relayed = w.Sender != w.Origin;
                withdrawnAt.Add($"{federation.Code(index)} from {DemoAuditFeed.Codes(w.Sender)}{(relayed ? " (relay)" : "")}");
            }
        }

        if (!reached)
        {
            problems.Add($"lifecycle: the withdrawal reached only {(withdrawnAt.Count == 0 ? "no nation" : string.Join(", ", withdrawnAt))}");
        }

        return summary with { WithdrawnAt = withdrawnAt };
    }

    private static async Task<bool> WaitAsync(Func<Task<bool>> condition, TimeProvider time, CancellationToken ct)
    {
        var deadline = time.GetUtcNow() + StepTimeout;
        while (time.GetUtcNow() < deadline)
        {
            if (await condition().ConfigureAwait(false))
            {
                return true;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), time, ct).ConfigureAwait(false);
        }

        return await condition().ConfigureAwait(false);
    }
}
