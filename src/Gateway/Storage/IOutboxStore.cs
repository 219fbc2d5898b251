namespace CyberCoop.Gateway.Storage;

/// <summary>The per-peer outbox: envelopes waiting for delivery, their removal on acknowledgement, its size.</summary>
internal interface IOutboxStore
{
    /// <summary>Queues envelopes for their peers.</summary>
    Task EnqueueOutboxAsync(IReadOnlyList<OutboxItem> items, CancellationToken ct);

    /// <summary>The next envelopes for <paramref name="peer"/> after <paramref name="afterSeq"/>, oldest first.</summary>
    Task<IReadOnlyList<OutboxEntry>> ReadOutboxAsync(string peer, long afterSeq, int limit, CancellationToken ct);

    /// <summary>Removes an envelope the peer acknowledged; false when it was not (or no longer) queued.</summary>
    Task<bool> DeleteOutboxAsync(string peer, ReadOnlyMemory<byte> envelopeId, CancellationToken ct);

    /// <summary>Removes an acknowledged envelope and counts it as sent when <paramref name="delivered"/>, in one transaction; false when it was not there.</summary>
    Task<bool> CompleteDeliveryAsync(string peer, ReadOnlyMemory<byte> envelopeId, int indicatorCount, bool delivered, CancellationToken ct);

    /// <summary>How many envelopes wait for <paramref name="peer"/> and since when.</summary>
    Task<OutboxStats> GetOutboxStatsAsync(string peer, CancellationToken ct);
}
