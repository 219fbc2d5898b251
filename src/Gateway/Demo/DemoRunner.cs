using System.Diagnostics;
using CyberCoop.Contracts.V1;
using CyberCoop.Gateway.Federation;
using CyberCoop.Gateway.Hosting;
using CyberCoop.Gateway.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace CyberCoop.Gateway.Demo;

/// <summary>Receives the demo's progress (the live view and the plain line output implement it).</summary>
internal interface IDemoObserver
{
    /// <summary>A line for the decision feed.</summary>
    void OnEvent(DemoEvent e);

    /// <summary>Fresh counters, about four times a second.</summary>
    void OnTick(DemoSnapshot snapshot);
}

/// <summary>The demo's state at one moment.</summary>
/// <param name="Elapsed">Since start.</param>
/// <param name="Phase">What is happening.</param>
/// <param name="Progress">0..1 of the planned run.</param>
/// <param name="Nations">Per nation (Stored is filled at the end only).</param>
/// <param name="Flows">Per direction.</param>
internal sealed record DemoSnapshot(TimeSpan Elapsed, string Phase, double Progress, IReadOnlyList<DemoNationSummary> Nations, IReadOnlyList<DemoFlowSummary> Flows);

/// <summary>
/// Runs the demo: builds the federation, starts three gateways, lets the agents replay the sample
/// at a visible pace, stages the hostile moment halfway, waits until every outbox has drained,
/// checks the outcome against the nodes' own databases and returns the summary. Cleans up after itself.
/// </summary>
internal sealed class DemoRunner(DemoOptions options, IDemoObserver observer)
{
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ExtraDrain = TimeSpan.FromSeconds(8);
    private readonly Stopwatch _clock = new();
    private readonly TimeProvider _time = TimeProvider.System;
    private string _phase = "starting";
    private double _progress;

    /// <summary>Runs to the end and returns the summary.</summary>
    public async Task<DemoSummary> RunAsync(CancellationToken ct)
    {
        _clock.Start();
        var temporary = options.Directory is null;
        var directory = Path.GetFullPath(options.Directory ?? Path.Combine(Path.GetTempPath(), "cybercoop-demo-" + Guid.NewGuid().ToString("N")[..12]));
        var redByNation = RedIds();
        var feed = new DemoAuditFeed(redByNation.SelectMany(r => r).ToHashSet(StringComparer.Ordinal));
        DemoFederation? federation = null;
        try
        {
            Phase("making three trust domains (roots, gateway and agent certificates, pinned peers)");
            federation = await DemoFederation.StartAsync(directory, _time, console: options.WhileConsolesRun is not null, ct).ConfigureAwait(false);
            Phase($"three gateways listening on 127.0.0.1:{string.Join(", ", federation.Nodes.Select(n => n.Port))} (mTLS, TLS 1.3)");
            await WaitForKeysAsync(federation, ct).ConfigureAwait(false);

            using var ticking = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var ticker = TickAsync(federation, feed, ticking.Token);
            var hostile = await ReplayAsync(federation, ct).ConfigureAwait(false);

            Phase("agents done; waiting until every outbox has drained");
            await DrainAsync(federation, ct).ConfigureAwait(false);
            Phase("lifecycle: a false positive withdrawn by its origin, a sighting reported back");
            var lifecycleProblems = new List<string>();
            var lifecycle = await DemoLifecycle.RunAsync(federation, _time,
                (nation, text) => observer.OnEvent(new DemoEvent(_clock.Elapsed, nation, DemoEventKind.Phase, text, "lifecycle")), lifecycleProblems, ct).ConfigureAwait(false);
            Phase("interoperability: STIX export, TAXII pull, MISP feed export");
            var interop = await DemoInterop.RunAsync(federation, _time,
                (nation, text) => observer.OnEvent(new DemoEvent(_clock.Elapsed, nation, DemoEventKind.Phase, text, "interop")), lifecycleProblems, ct).ConfigureAwait(false);
            await ticking.CancelAsync().ConfigureAwait(false);
            await ticker.ConfigureAwait(false);
            await PollAsync(federation, feed, CancellationToken.None).ConfigureAwait(false);
            _progress = 1;
            Phase("done");
            var summary = await SummarizeAsync(federation, feed, hostile, redByNation, directory, ct).ConfigureAwait(false);
            if (options.WhileConsolesRun is { } consoles)
            {
                await consoles(federation, ct).ConfigureAwait(false);
            }

            return summary with { Lifecycle = lifecycle, Interop = interop, Ok = summary.Ok && lifecycleProblems.Count == 0, Problems = [.. summary.Problems, .. lifecycleProblems] };
        }
        finally
        {
            if (federation is not null)
            {
                await federation.DisposeAsync().ConfigureAwait(false);
            }

            if (!options.Keep)
            {
                Remove(directory, temporary, federation);
            }
        }
    }

    private async Task<IReadOnlyList<DemoHostileSummary>> ReplayAsync(DemoFederation federation, CancellationToken ct)
    {
        var layout = federation.Layout;
        var agents = new List<List<DemoAgent>>();
        try
        {
            foreach (var node in layout.Nodes)
            {
                agents.Add(node.Agents.Select(a => DemoAgent.Connect(node, a, _time)).ToList());
            }

            var steps = DemoSample.Steps;
            var replayTime = options.Duration * 0.6;
            var hostileAt = steps.Count / 2;
            var start = _clock.Elapsed;
            IReadOnlyList<DemoHostileSummary> hostile = [];
            Phase($"{agents.Sum(a => a.Count)} agents replaying {steps.Sum(s => s.Detections.Count)} detections over mTLS Ingest");
            for (var i = 0; i < steps.Count; i++)
            {
                var due = start + replayTime * ((double)i / steps.Count);
                var wait = due - _clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, ct).ConfigureAwait(false);
                }

                if (i == hostileAt)
                {
                    Phase("hostile moment: attacks on Finland's gateway");
                    var adversary = new DemoAdversary(layout.Nodes[0], federation.Nodes[0], layout.Nodes[1], federation.Nodes[1], _time);
                    hostile = await adversary.RunAsync(r => observer.OnEvent(new DemoEvent(_clock.Elapsed, r.Target, DemoEventKind.Hostile,
                        $"{(r.Refused ? "REFUSED" : "NOT REFUSED")} {r.Attempt}: {r.Description} -> {r.Outcome}", "ack")), ct).ConfigureAwait(false);
                    Phase("agents replaying");
                }

                var step = steps[i];
                var agent = agents[step.Nation][step.Agent % agents[step.Nation].Count];
                var result = await agent.SendAsync(step.Detections, ct).ConfigureAwait(false);
                var rejected = result.Items.Count(r => r.Outcome == ItemOutcome.Rejected);
                observer.OnEvent(new DemoEvent(_clock.Elapsed, federation.Code(step.Nation), DemoEventKind.Phase,
                    $"agent {agent.Name} sent {step.Detections.Count} ({string.Join(", ", step.Detections.Select(d => Tlp(d.Tlp) + " " + IndicatorTypeNames.ToName(d.Type)))})"
                    + (rejected > 0 ? $", {rejected} refused as malformed" : ""), "demo"));
                _progress = 0.1 + 0.6 * (i + 1) / steps.Count;
            }

            return hostile;
        }
        finally
        {
            foreach (var agent in agents.SelectMany(a => a))
            {
                await agent.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Waits until each gateway holds its peers' content keys (fetched in their trust bundles).</summary>
    private async Task WaitForKeysAsync(DemoFederation federation, CancellationToken ct)
    {
        var deadline = _clock.Elapsed + TimeSpan.FromSeconds(15);
        while (true)
        {
            var missing = federation.Nodes
                .SelectMany(n => n.Services.GetRequiredService<ITrustSnapshot>().Current.Peers.Keys.Where(p => n.Services.GetRequiredService<PeerKeyDirectory>().Find(p) is null).Select(p => (n, p)))
                .ToList();
            if (missing.Count == 0)
            {
                Phase("every gateway verified its peers' signed trust bundles and key announcements");
                return;
            }

            if (_clock.Elapsed > deadline)
            {
                throw new TimeoutException("gateways did not exchange trust bundles within 15 s: " +
                    string.Join(", ", missing.Select(m => $"{m.n.Services.GetRequiredService<INodeIdentitySource>().Current.IdText} lacks {m.p}")));
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), _time, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Waits until the planned duration has passed and every outbox is empty with nothing new dispatched.</summary>
    private async Task DrainAsync(DemoFederation federation, CancellationToken ct)
    {
        var planned = _clock.Elapsed + options.Duration * 0.4;
        var deadline = planned + ExtraDrain;
        var quietSince = (TimeSpan?)null;
        var lastSent = -1L;
        while (_clock.Elapsed < deadline)
        {
            var pending = 0L;
            foreach (var node in federation.Nodes)
            {
                foreach (var peer in node.Services.GetRequiredService<ITrustSnapshot>().Current.Peers.Keys)
                {
                    pending += (await node.Services.GetRequiredService<IOutboxStore>().GetOutboxStatsAsync(peer, ct).ConfigureAwait(false)).Depth;
                }
            }

            var sent = federation.Nodes.Sum(n => n.Services.GetRequiredService<NodeMetrics>().Peers.Values.Sum(p => Interlocked.Read(ref p.EnvelopesSent) + Interlocked.Read(ref p.EnvelopesReceived)));
            if (pending == 0 && sent == lastSent)
            {
                quietSince ??= _clock.Elapsed;
            }
            else
            {
                quietSince = null;
            }

            lastSent = sent;
            if (quietSince is { } q && _clock.Elapsed - q >= TimeSpan.FromMilliseconds(600) && _clock.Elapsed >= planned)
            {
                return;
            }

            _progress = Math.Min(0.99, 0.7 + 0.3 * (1 - Math.Max(0, (planned - _clock.Elapsed).TotalSeconds) / Math.Max(0.001, (options.Duration * 0.4).TotalSeconds)));
            await Task.Delay(TimeSpan.FromMilliseconds(100), _time, ct).ConfigureAwait(false);
        }
    }

    private async Task TickAsync(DemoFederation federation, DemoAuditFeed feed, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await PollAsync(federation, feed, ct).ConfigureAwait(false);
                await Task.Delay(TickInterval, _time, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task PollAsync(DemoFederation federation, DemoAuditFeed feed, CancellationToken ct)
    {
        for (var i = 0; i < federation.Nodes.Count; i++)
        {
            foreach (var e in await feed.PollAsync(federation.Code(i), federation.Nodes[i].Services.GetRequiredService<AuditLog>(), _clock.Elapsed, ct).ConfigureAwait(false))
            {
                observer.OnEvent(e);
            }
        }

        observer.OnTick(new DemoSnapshot(_clock.Elapsed, _phase, _progress, Nations(federation, feed, null, null), Flows(federation)));
    }

    private async Task<DemoSummary> SummarizeAsync(DemoFederation federation, DemoAuditFeed feed, IReadOnlyList<DemoHostileSummary> hostile,
        IReadOnlyList<HashSet<string>> redByNation, string directory, CancellationToken ct)
    {
        var stored = new List<long>();
        var redHome = new List<int>();
        for (var i = 0; i < federation.Nodes.Count; i++)
        {
            stored.Add(await federation.Nodes[i].Services.GetRequiredService<IIndicatorStore>().CountIndicatorsAsync(ct).ConfigureAwait(false));
            var home = 0;
            foreach (var id in redByNation[i])
            {
                var leaked = false;
                for (var j = 0; j < federation.Nodes.Count; j++)
                {
                    leaked |= j != i && await federation.Nodes[j].Services.GetRequiredService<IIndicatorStore>().GetIndicatorAsync(id, ct).ConfigureAwait(false) is not null;
                }

                home += leaked ? 0 : 1;
            }

            redHome.Add(home);
        }

        var nations = Nations(federation, feed, stored, redHome);
        var flows = Flows(federation);
        var problems = new List<string>();
        foreach (var n in nations)
        {
            if (n.Shared == 0)
            {
                problems.Add($"{n.Nation} shared nothing");
            }

            if (n.Received == 0)
            {
                problems.Add($"{n.Nation} received nothing");
            }

            if (n.RedKeptHome != n.RedIngested)
            {
                problems.Add($"{n.Nation}: {n.RedIngested - n.RedKeptHome} TLP:RED indicator(s) reached another nation");
            }
        }

        var sent = DemoSample.Steps.GroupBy(s => s.Nation).ToDictionary(g => g.Key, g => g.Sum(s => s.Detections.Count));
        foreach (var (nation, count) in DemoLifecycle.SightingsSent)
        {
            sent[nation] = sent.GetValueOrDefault(nation) + count;
        }

        for (var i = 0; i < nations.Count; i++)
        {
            if (nations[i].Ingested + nations[i].IngestRejected != sent.GetValueOrDefault(i))
            {
                problems.Add($"{nations[i].Nation}: agents sent {sent.GetValueOrDefault(i)} sightings but the gateway counted {nations[i].Ingested + nations[i].IngestRejected}");
            }
        }

        if (hostile.Count == 0)
        {
            problems.Add("the hostile moment did not run");
        }

        foreach (var h in hostile)
        {
            if (!h.Refused)
            {
                problems.Add($"hostile attempt {h.Attempt} was not refused: {h.Outcome}");
            }

            if (!h.Audited && h.Attempt != "replay")
            {
                problems.Add($"hostile attempt {h.Attempt} was not found in {h.Target}'s audit log");
            }
        }

        return new DemoSummary
        {
            Ok = problems.Count == 0,
            Seconds = Math.Round(_clock.Elapsed.TotalSeconds, 1),
            Directory = directory,
            Kept = options.Keep,
            Nations = nations,
            Flows = flows,
            Hostile = hostile,
            Decisions = new SortedDictionary<string, long>(feed.Counts.ToDictionary(), StringComparer.Ordinal),
            Problems = problems,
        };
    }

    private static List<DemoNationSummary> Nations(DemoFederation federation, DemoAuditFeed feed, IReadOnlyList<long>? stored, IReadOnlyList<int>? redHome)
    {
        var red = RedIds();
        var list = new List<DemoNationSummary>();
        for (var i = 0; i < federation.Nodes.Count; i++)
        {
            var node = federation.Layout.Nodes[i];
            var metrics = federation.Nodes[i].Services.GetRequiredService<NodeMetrics>();
            var peers = metrics.Peers.Values.ToList();
            var code = federation.Code(i);
            list.Add(new DemoNationSummary
            {
                Nation = code,
                TrustDomain = node.TrustDomain,
                Gateway = node.Id,
                Agents = node.Agents.Count,
                Ingested = metrics.SightingsIngested,
                IngestRejected = metrics.SightingsRejected,
                Shared = peers.Sum(p => Interlocked.Read(ref p.IndicatorsSent)),
                Received = peers.Sum(p => Interlocked.Read(ref p.IndicatorsReceived)),
                Withheld = peers.Sum(p => Interlocked.Read(ref p.IndicatorsWithheld)),
                Relayed = feed.Relays.GetValueOrDefault(code),
                RedIngested = red[i].Count,
                RedKeptHome = redHome?[i] ?? (feed.RedHeld.TryGetValue(code, out var held) ? held.Count : 0),
                Denied = metrics.CallsDenied,
                EnvelopesRejected = peers.Sum(p => Interlocked.Read(ref p.EnvelopesRejected)),
                Stored = stored?[i] ?? 0,
            });
        }

        return list;
    }

    private static List<DemoFlowSummary> Flows(DemoFederation federation)
    {
        var flows = new List<DemoFlowSummary>();
        for (var i = 0; i < federation.Nodes.Count; i++)
        {
            foreach (var (peer, metrics) in federation.Nodes[i].Services.GetRequiredService<NodeMetrics>().Peers.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                var sentEnvelopes = Interlocked.Read(ref metrics.EnvelopesSent);
                if (federation.Nodes[i].Services.GetRequiredService<ITrustSnapshot>().Current.Peers.ContainsKey(peer))
                {
                    flows.Add(new DemoFlowSummary(federation.Code(i), DemoAuditFeed.Codes(peer), sentEnvelopes, Interlocked.Read(ref metrics.IndicatorsSent)));
                }
            }
        }

        return flows;
    }

    /// <summary>Ids of the TLP:RED detections of each nation's agents.</summary>
    private static List<HashSet<string>> RedIds()
    {
        var red = Enumerable.Range(0, 3).Select(_ => new HashSet<string>(StringComparer.Ordinal)).ToList();
        foreach (var (nation, detection) in DemoSample.All())
        {
            if (detection.Tlp == Contracts.V1.Tlp.Red && IndicatorNormalizer.Normalize(detection.Type, detection.Value) is { Ok: true } normalized)
            {
                red[nation].Add(IndicatorIds.Compute(detection.Type, normalized.Value));
            }
        }

        return red;
    }

    private static string Tlp(Contracts.V1.Tlp tlp) => Policy.TlpNames.ToName(tlp);

    private void Phase(string text)
    {
        _phase = text;
        observer.OnEvent(new DemoEvent(_clock.Elapsed, "--", DemoEventKind.Phase, text, "demo"));
    }

    /// <summary>Removes what the demo made: the whole temporary folder, or the nations' folders inside <c>--dir</c>.</summary>
    private static void Remove(string directory, bool temporary, DemoFederation? federation)
    {
        try
        {
            if (temporary)
            {
                if (Directory.Exists(directory))
                {
                    Directory.Delete(directory, recursive: true);
                }

                return;
            }

            foreach (var node in federation?.Layout.Nodes ?? [])
            {
                if (Directory.Exists(node.Directory))
                {
                    Directory.Delete(node.Directory, recursive: true);
                }
            }
        }
        catch (IOException)
        {
            // Best effort: a file still held open by the OS is left for the temp cleaner.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
