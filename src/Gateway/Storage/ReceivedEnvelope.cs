using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Storage;

/// <summary>
/// Everything one received envelope changes, committed atomically by <see cref="GatewayStore.CommitReceivedAsync"/>.
/// <see cref="Accepted"/> holds indicators already adjusted by the inbound policy (confidence scaled by the trust
/// weight, TLP raised to the floor); the store merges them with weight 1 so trust is applied exactly once.
/// </summary>
internal sealed record ReceivedEnvelope
{
    /// <summary>EnvelopeHeader.envelope_id (replay store key).</summary>
    public required ReadOnlyMemory<byte> EnvelopeId { get; init; }

    /// <summary>SPIFFE id of the sending gateway.</summary>
    public required string Sender { get; init; }

    /// <summary>Bundle.origin.</summary>
    public required string Origin { get; init; }

    /// <summary>Bundle.bundle_id; with <see cref="Origin"/> the loop-prevention key.</summary>
    public required ReadOnlyMemory<byte> BundleId { get; init; }

    /// <summary>Indicators to merge into the store.</summary>
    public IReadOnlyList<Indicator> Accepted { get; init; } = [];

    /// <summary>Indicators to keep in quarantine.</summary>
    public IReadOnlyList<QuarantinedIndicator> Quarantined { get; init; } = [];

    /// <summary>Audit entries for the decisions (received, rejected, quarantined), committed with the data.</summary>
    public IReadOnlyList<AuditEntry> Audit { get; init; } = [];

    /// <summary>Relays to other peers, written to their outboxes in the same transaction (so a relay is never lost or doubled).</summary>
    public IReadOnlyList<OutboxItem> Relays { get; init; } = [];
}
