namespace CyberCoop.Gateway.Storage;

/// <summary>
/// The outbound change feed: local changes in order, each peer's cursor, and the commit of one dispatch round
/// (cursor, outbox, embargo releases and audit in one transaction).
/// </summary>
internal interface IDispatchStore
{
    /// <summary>Indicators this node's own agents changed after <paramref name="afterSeq"/>, in change order.</summary>
    Task<IReadOnlyList<LocalChange>> ReadLocalChangesAsync(long afterSeq, int limit, CancellationToken ct);

    /// <summary>The change-feed position up to which <paramref name="peer"/> has been dispatched.</summary>
    Task<long> GetPeerCursorAsync(string peer, CancellationToken ct);

    /// <summary>
    /// Commits one dispatch round for a peer; with <paramref name="expectedCursor"/> only if the stored cursor is still
    /// that one (another process did not dispatch the same changes meanwhile). Returns whether it committed.
    /// </summary>
    Task<bool> CommitDispatchAsync(string peer, long cursor, IReadOnlyList<OutboxItem> outbox, IReadOnlyList<string> released,
        IReadOnlyList<EmbargoItem> embargoed, IReadOnlyList<AuditEntry> audit, int withheld, CancellationToken ct, long? expectedCursor = null);
}
