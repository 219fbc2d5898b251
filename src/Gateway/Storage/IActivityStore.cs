namespace CyberCoop.Gateway.Storage;

/// <summary>What the node remembers about its callers and peers across restarts: caller activity and per-peer counters.</summary>
internal interface IActivityStore
{
    /// <summary>Records that a caller fetched this node's trust bundle, holding <paramref name="knownSequence"/>.</summary>
    Task RecordBundleFetchAsync(string caller, string kind, ulong knownSequence, DateTimeOffset at, CancellationToken ct);

    /// <summary>Records a caller's last error.</summary>
    Task RecordCallerErrorAsync(string caller, string kind, string error, DateTimeOffset at, CancellationToken ct);

    /// <summary>Every caller's persisted activity.</summary>
    Task<IReadOnlyList<CallerActivityRow>> ReadCallerActivityAsync(CancellationToken ct);

    /// <summary>Every peer's persisted counters.</summary>
    Task<IReadOnlyList<PeerCountersRow>> ReadPeerCountersAsync(CancellationToken ct);
}
