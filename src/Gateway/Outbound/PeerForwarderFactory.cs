using Microsoft.Extensions.Logging;

namespace CyberCoop.Gateway.Outbound;

/// <summary>Builds the <see cref="PeerForwarder"/> of one peer from the node's services (one per peer, made on start and reload).</summary>
internal sealed class PeerForwarderFactory(
    IOutboxStore outboxStore,
    ITrustSnapshot trustSnapshot,
    INodeIdentitySource nodeIdentity,
    TimeProvider time,
    NodeMetrics metrics,
    IAuditSink auditSink,
    PeerKeyDirectory directory,
    OutboundDispatcher dispatcher,
    ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger<PeerForwarder>();

    /// <summary>A forwarder for <paramref name="peer"/>, not started; <paramref name="logger"/> replaces the node's logger when given.</summary>
    public PeerForwarder Create(PeerSettings peer, ILogger? logger = null) =>
        new(outboxStore, trustSnapshot, nodeIdentity, time, metrics, auditSink, directory, dispatcher, peer, logger ?? _logger);
}
