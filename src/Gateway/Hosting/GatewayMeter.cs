using System.Diagnostics.Metrics;

namespace CyberCoop.Gateway.Hosting;

/// <summary>
/// The node's counters as a <see cref="Meter"/> named <c>CyberCoop.Gateway</c>, so standard tools see them
/// (<c>dotnet-counters monitor --counters CyberCoop.Gateway</c>, or any OpenTelemetry exporter added to the
/// host). Values are read from <see cref="NodeMetrics"/> when collected; nothing is counted twice. The meter comes
/// from the host's <see cref="IMeterFactory"/>, which owns it (and disposes it with the node's services), so listeners
/// scoped to this host see it and two nodes in one process never share one.
/// </summary>
internal sealed class GatewayMeter
{
    /// <summary>The meter name.</summary>
    public const string Name = "CyberCoop.Gateway";

    private readonly Meter _meter;

    public GatewayMeter(INodeIdentitySource nodeIdentity, NodeMetrics metrics, CallerActivity callerActivity, IAuditSink auditSink, CallerLimits limits, ConnectionBudget connections, IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(nodeIdentity);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(callerActivity);
        ArgumentNullException.ThrowIfNull(auditSink);
        ArgumentNullException.ThrowIfNull(connections);
        ArgumentNullException.ThrowIfNull(meters);
        _meter = meters.Create(Name);
        var node = new KeyValuePair<string, object?>("node", nodeIdentity.Current.IdText);
        _meter.CreateObservableCounter("cybercoop.sightings.ingested", () => new Measurement<long>(metrics.SightingsIngested, node), "{sighting}", "Sightings accepted or merged from own agents");
        _meter.CreateObservableCounter("cybercoop.sightings.rejected", () => new Measurement<long>(metrics.SightingsRejected, node), "{sighting}", "Sightings refused with a per-item reason");
        _meter.CreateObservableCounter("cybercoop.calls.denied", () => new Measurement<long>(metrics.CallsDenied, node), "{call}", "Calls and TLS clients refused by authorization");
        _meter.CreateObservableCounter("cybercoop.audit.dropped", () => new Measurement<long>(auditSink.AuditDropped, node), "{entry}", "Audit entries still queued when the node stopped (never dropped while it runs)");
        _meter.CreateObservableGauge("cybercoop.audit.pending", () => new Measurement<long>(auditSink.AuditPending, node), "{entry}", "Audit entries queued and not yet written");
        _meter.CreateObservableCounter("cybercoop.peer.indicators.sent", () => PerPeer(metrics, node, static m => Interlocked.Read(ref m.IndicatorsSent)), "{indicator}", "Indicators acknowledged by each peer");
        _meter.CreateObservableCounter("cybercoop.peer.indicators.received", () => PerPeer(metrics, node, static m => Interlocked.Read(ref m.IndicatorsReceived)), "{indicator}", "Indicators accepted from each peer");
        _meter.CreateObservableCounter("cybercoop.peer.indicators.withheld", () => PerPeer(metrics, node, static m => Interlocked.Read(ref m.IndicatorsWithheld)), "{indicator}", "Indicators withheld from each peer by outbound policy");
        _meter.CreateObservableCounter("cybercoop.peer.envelopes.rejected", () => PerPeer(metrics, node, static m => Interlocked.Read(ref m.EnvelopesRejected)), "{envelope}", "Envelopes refused, by peer");
        var activity = callerActivity;
        _meter.CreateObservableGauge("cybercoop.agent.last_seen", () => PerAgent(activity, node, static a => a.LastSeen.ToUnixTimeSeconds()), "s", "Unix time of the agent's last call (a dead sensor stops moving it)");
        _meter.CreateObservableCounter("cybercoop.agent.sightings.stored", () => PerAgent(activity, node, static a => a.SightingsStored), "{sighting}", "Sightings stored from each agent (kept across restarts)");
        _meter.CreateObservableCounter("cybercoop.agent.sightings.rejected", () => PerAgent(activity, node, static a => a.SightingsRejected), "{sighting}", "Sightings of each agent refused with a per-item reason (kept across restarts)");
        _meter.CreateObservableGauge("cybercoop.agent.errors.last", () => PerAgent(activity, node, static a => a.LastErrorAt?.ToUnixTimeSeconds() ?? 0), "s", "Unix time of the agent's last error (0: none)");
        _meter.CreateObservableGauge("cybercoop.agent.bundle.sequence", () => PerAgent(activity, node, static a => (long)(a.BundleSequence ?? 0)), "{sequence}", "Sequence of this node's trust bundle the agent holds");
        _meter.CreateObservableGauge("cybercoop.peer.bundle.sequence", () => PerCaller(activity, Storage.CallerKinds.Peer, "peer", node, static a => (long)(a.BundleSequence ?? 0)), "{sequence}", "Sequence of this node's trust bundle the peer holds");
        _meter.CreateObservableCounter("cybercoop.limits.refused", () => Refused(limits, node), "{call}", "Streams and messages refused with RESOURCE_EXHAUSTED by a per-identity limit (node.limits), by limit and caller");
        _meter.CreateObservableCounter("cybercoop.limits.delayed", () => new Measurement<long>(limits.Delayed, node), "{message}", "Messages that waited for their identity's rate limit");
        _meter.CreateObservableGauge("cybercoop.peer.connected", () => PerPeer(metrics, node, static m => m.Snapshot().ConnectedSince is null ? 0L : 1L), "{connection}", "1 while the outbound stream to the peer is up");
        _meter.CreateObservableGauge("cybercoop.connections.open", () => new Measurement<long>(connections.Open, node), "{connection}", "Inbound TCP connections held now, of the connection budget");
        _meter.CreateObservableCounter("cybercoop.connections.refused", () => new Measurement<long>(connections.Refused, node), "{connection}", "Inbound connections closed at once because the connection budget was full");
    }

    /// <summary>
    /// This node's meter instance. Several nodes in one process (the demo, tests) each have a meter of the same
    /// name; a listener that must see one node's values compares instances.
    /// </summary>
    public Meter Meter => _meter;

    private static IEnumerable<Measurement<long>> PerPeer(NodeMetrics metrics, KeyValuePair<string, object?> node, Func<PeerMetrics, long> read)
    {
        foreach (var (peer, peerMetrics) in metrics.Peers)
        {
            yield return new Measurement<long>(read(peerMetrics), node, new KeyValuePair<string, object?>("peer", peer));
        }
    }

    private static IEnumerable<Measurement<long>> PerAgent(CallerActivity activity, KeyValuePair<string, object?> node, Func<Storage.CallerActivityRow, long> read) =>
        PerCaller(activity, Storage.CallerKinds.Agent, "agent", node, read);

    private static IEnumerable<Measurement<long>> PerCaller(CallerActivity activity, string kind, string tag, KeyValuePair<string, object?> node, Func<Storage.CallerActivityRow, long> read)
    {
        foreach (var row in activity.Rows.Values)
        {
            if (row.Kind == kind)
            {
                yield return new Measurement<long>(read(row), node, new KeyValuePair<string, object?>(tag, row.Caller));
            }
        }
    }

    private static IEnumerable<Measurement<long>> Refused(CallerLimits limits, KeyValuePair<string, object?> node)
    {
        foreach (var ((limit, caller), count) in limits.Refused)
        {
            yield return new Measurement<long>(count, node, new KeyValuePair<string, object?>("limit", limit), new KeyValuePair<string, object?>("caller", caller));
        }
    }
}
