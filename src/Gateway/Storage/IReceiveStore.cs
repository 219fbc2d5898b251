namespace CyberCoop.Gateway.Storage;

/// <summary>Envelopes received from peers: the exactly-once commit and the replay store of envelope ids.</summary>
internal interface IReceiveStore
{
    /// <summary>Commits one received envelope's indicators, quarantine, relays and audit exactly once.</summary>
    Task<ReceiveCommit> CommitReceivedAsync(ReceivedEnvelope envelope, CancellationToken ct);

    /// <summary>Whether an envelope id was committed before.</summary>
    Task<bool> HasSeenEnvelopeAsync(ReadOnlyMemory<byte> envelopeId, CancellationToken ct);

    /// <summary>The outcome remembered for an envelope id, or null when it was never committed.</summary>
    Task<SeenEnvelope?> FindSeenEnvelopeAsync(ReadOnlyMemory<byte> envelopeId, CancellationToken ct);

    /// <summary>Forgets envelope ids received before <paramref name="olderThan"/>; returns how many.</summary>
    Task<int> PurgeSeenEnvelopesAsync(DateTimeOffset olderThan, CancellationToken ct);
}
