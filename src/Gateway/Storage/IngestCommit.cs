using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Storage;

/// <summary>Result of committing one agent batch.</summary>
internal sealed record IngestCommit
{
    /// <summary>True when this (agent, batch id) had been committed before; <see cref="Results"/> are the stored ones.</summary>
    public required bool Duplicate { get; init; }

    /// <summary>One result per item, in batch order.</summary>
    public required IReadOnlyList<ItemResult> Results { get; init; }

    /// <summary>Merged state of every indicator the batch created or changed (empty for a duplicate); local use only: the outbound pipeline reads origin views from the change feed.</summary>
    public required IReadOnlyList<Indicator> Changed { get; init; }
}
