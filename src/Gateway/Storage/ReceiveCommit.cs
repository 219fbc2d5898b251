using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Storage;

/// <summary>Result of committing one received envelope.</summary>
internal sealed record ReceiveCommit
{
    /// <summary>The envelope id had been committed before; nothing was changed (ack it again).</summary>
    public required bool Duplicate { get; init; }

    /// <summary>
    /// With <see cref="Duplicate"/>: the envelope id was committed before with another bundle (origin, bundle id), so
    /// this copy is not a re-send of it and must be refused, not acknowledged.
    /// </summary>
    public bool EnvelopeIdReused { get; init; }

    /// <summary>
    /// The (origin, bundle id) had arrived before by another path (a relay loop or a second route): the envelope id is
    /// recorded but the indicators were not merged again and must not be relayed again.
    /// </summary>
    public required bool BundleAlreadySeen { get; init; }

    /// <summary>Merged state of the accepted indicators after commit.</summary>
    public required IReadOnlyList<Indicator> Changed { get; init; }

    /// <summary>Number of indicators put in quarantine.</summary>
    public int QuarantinedCount { get; init; }
}
