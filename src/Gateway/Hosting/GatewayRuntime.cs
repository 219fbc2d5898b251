using CyberCoop.Gateway.Storage;
using CyberCoop.Gateway.Trust;

namespace CyberCoop.Gateway.Hosting;

/// <summary>
/// The composition root's view of a running node, for in-process tests and the demo's inspection through
/// <see cref="GatewayNode.Runtime"/>; no service takes it (the last one, <see cref="PeerKeyDirectory"/>, takes the narrow
/// services since session 4). It owns
/// nothing and does nothing itself: each member forwards to the DI service that holds that job (<see cref="TrustHolder"/>,
/// <see cref="NodeIdentitySource"/>, <see cref="ConfigReloader"/>, <see cref="IAuditSink"/>). Services take those, not this.
/// </summary>
internal sealed class GatewayRuntime(
    GatewayStore store, TrustHolder trust, INodeIdentitySource identity, ConfigReloader reloader, IAuditSink audit,
    NodeMetrics metrics, CallerActivity activity, TimeProvider time)
{
    /// <summary>The config file this node runs from.</summary>
    public string ConfigPath => reloader.ConfigPath;

    /// <summary>This node's identity (replaced when a reload finds a renewed certificate or rotated keys).</summary>
    public NodeIdentity Identity => identity.Current;

    /// <summary>The current trust snapshot (replaced on reload).</summary>
    public TrustState Trust => trust.Current;

    /// <summary>The node's database.</summary>
    public GatewayStore Store { get; } = store;

    /// <summary>Clock.</summary>
    public TimeProvider Time { get; } = time;

    /// <summary>Counters.</summary>
    public NodeMetrics Metrics { get; } = metrics;

    /// <summary>Per-caller activity (agents and peers): last seen, counters, last error, bundle sequence held.</summary>
    public CallerActivity Activity { get; } = activity;

    /// <summary>See <see cref="IAuditSink.AuditDropped"/>.</summary>
    public long AuditDropped => audit.AuditDropped;

    /// <summary>See <see cref="IAuditSink.AuditPending"/>.</summary>
    public long AuditPending => audit.AuditPending;

    /// <summary>See <see cref="IAuditSink.AuditLater"/>.</summary>
    public void AuditLater(AuditEntry entry) => audit.AuditLater(entry);

    /// <summary>See <see cref="ConfigReloader.Reload"/>.</summary>
    public (bool Applied, IReadOnlyList<string> Messages) Reload() => reloader.Reload();

    /// <summary>See <see cref="TrustHolder.AcceptPeerBundleAsync"/>.</summary>
    public Task<bool> AcceptPeerBundleAsync(HeldTrustBundle held, CancellationToken ct) => trust.AcceptPeerBundleAsync(held, ct);
}
