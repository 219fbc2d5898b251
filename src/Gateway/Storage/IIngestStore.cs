using CyberCoop.Gateway.Pipeline;

namespace CyberCoop.Gateway.Storage;

/// <summary>Agents' batches: the idempotent commit of one batch and the pruning of remembered batch ids.</summary>
internal interface IIngestStore
{
    /// <summary>Commits one agent batch exactly once (a batch id seen before returns the stored outcome).</summary>
    Task<IngestCommit> CommitIngestAsync(string agentId, ReadOnlyMemory<byte> batchId, IReadOnlyList<ValidationOutcome> items, CancellationToken ct);

    /// <summary>Forgets batch ids committed before <paramref name="olderThan"/>; returns how many.</summary>
    Task<int> PurgeIngestBatchesAsync(DateTimeOffset olderThan, CancellationToken ct);
}
