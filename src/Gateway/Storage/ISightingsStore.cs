namespace CyberCoop.Gateway.Storage;

/// <summary>Sightings back: own sightings reported to origins, reports received from peers, and reports relayed for others.</summary>
internal interface ISightingsStore
{
    /// <summary>Own sightings of <paramref name="indicatorId"/> already reported, per origin.</summary>
    Task<IReadOnlyDictionary<string, long>> ReadReportedSightingsAsync(string indicatorId, CancellationToken ct);

    /// <summary>Commits one reporting pass (reports into the origins' outboxes, totals reported, cursor, audit) in one transaction.</summary>
    Task<bool> CommitSightingsReportsAsync(long cursor, IReadOnlyList<OutboxItem> outbox, IReadOnlyList<ReportedSightings> reported,
        IReadOnlyList<AuditEntry> audit, DateTimeOffset now, CancellationToken ct, long? expectedCursor = null);

    /// <summary>Commits a received sighting report (envelope id, one row per entry, audit), once per reporter and report id.</summary>
    Task<SightingsCommit> CommitReceivedSightingsAsync(ReadOnlyMemory<byte> envelopeId, string reporter, byte[] reportId, IReadOnlyList<ReceivedSightingEntry> entries,
        IReadOnlyList<AuditEntry> audit, DateTimeOffset now, CancellationToken ct);

    /// <summary>The sightings peers reported for <paramref name="indicatorId"/>, summed per reporter, by reporter.</summary>
    Task<IReadOnlyList<ReceivedSightings>> ReadReceivedSightingsAsync(string indicatorId, CancellationToken ct);

    /// <summary>Peers that relayed <paramref name="indicatorId"/> of <paramref name="origin"/> to this node, first arrival first.</summary>
    Task<IReadOnlyList<string>> ReadReceivedFromAsync(string indicatorId, string origin, CancellationToken ct);

    /// <summary>Commits a sighting report received for another node and its copy for the next hop, in one transaction.</summary>
    Task<ForwardCommit> CommitForwardedSightingsAsync(ReadOnlyMemory<byte> envelopeId, string sender, string reporter, byte[] reportId,
        OutboxItem? forward, IReadOnlyList<AuditEntry> audit, DateTimeOffset now, CancellationToken ct);
}
