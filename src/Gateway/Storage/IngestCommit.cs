using CyberCoop.Contracts.V1;

namespace CyberCoop.Gateway.Storage;

/// <summary>Result of committing one agent batch.</summary>
internal sealed record IngestCommit
{
    /// <summary>True when this (agent, batch id) had been committed before; <see cref="Results"/> are the stored ones.</summary>
    public required bool Duplicate { get; init; }

    /// <summary>One result per item, in batch order.</summary>
    public required IReadOnlyList<ItemResult> Results { get; init; }

    /// <summary>Merged state of every indicator the batch created or changed (empty for a duplicate), for the outbound pipeline.</summary>
    public required IReadOnlyList<Indicator> Changed { get; init; }

    /// <summary>Change-feed position (local_seq) of <c>Changed[0]</c>; <c>Changed[i]</c> has <c>FirstLocalSeq + i</c>. 0 when nothing changed.</summary>
    public long FirstLocalSeq { get; init; }
}
