namespace CyberCoop.Gateway.Storage;

/// <summary>An indicator's life after it was shared: withdrawals (own and received), local suppression, expiry.</summary>
internal interface ILifecycleStore
{
    /// <summary>Records this node's withdrawal of its own indicator with the envelopes telling the peers; false when already withdrawn.</summary>
    Task<bool> CommitOwnWithdrawalAsync(WithdrawalRecord withdrawal, IReadOnlyList<OutboxItem> outbox, IReadOnlyList<AuditEntry> audit, CancellationToken ct);

    /// <summary>Records a withdrawal received in an envelope exactly once, with its relays (<paramref name="relay"/> per peer).</summary>
    Task<(WithdrawalCommit Result, IReadOnlyList<string> RelayedTo)> CommitReceivedWithdrawalAsync(ReadOnlyMemory<byte> envelopeId, WithdrawalRecord withdrawal,
        Func<string, OutboxItem?> relay, IReadOnlyList<AuditEntry> audit, CancellationToken ct);

    /// <summary>Peers that got <paramref name="indicatorId"/> of <paramref name="origin"/> from this node, in name order.</summary>
    Task<IReadOnlyList<string>> ReadDeliveredPeersAsync(string indicatorId, string origin, CancellationToken ct);

    /// <summary>The withdrawals recorded for an indicator.</summary>
    Task<IReadOnlyList<WithdrawalRecord>> ReadWithdrawalsAsync(string indicatorId, CancellationToken ct);

    /// <summary>Every recorded withdrawal, by indicator id.</summary>
    Task<IReadOnlyDictionary<string, List<WithdrawalRecord>>> ReadAllWithdrawalsAsync(CancellationToken ct);

    /// <summary>The ids of the indicators <paramref name="origin"/> withdrew.</summary>
    Task<IReadOnlySet<string>> ReadWithdrawnByAsync(string origin, CancellationToken ct);

    /// <summary>Suppresses an indicator locally; false when it already was.</summary>
    Task<bool> SuppressAsync(SuppressionRecord suppression, AuditEntry audit, CancellationToken ct);

    /// <summary>The suppression of an indicator, or null.</summary>
    Task<SuppressionRecord?> ReadSuppressionAsync(string indicatorId, CancellationToken ct);

    /// <summary>Every suppression, by indicator id.</summary>
    Task<IReadOnlyDictionary<string, SuppressionRecord>> ReadSuppressionsAsync(CancellationToken ct);

    /// <summary>Deletes indicators whose validity ended before <paramref name="cutoff"/>; returns their ids.</summary>
    Task<IReadOnlyList<string>> PruneExpiredAsync(DateTimeOffset cutoff, CancellationToken ct, int pageSize = 5000);
}
